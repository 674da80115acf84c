"""A rise of the served error, pure: river's ADWIN on the 0/1 error (classification) or the
absolute error (regression) of the honest main scores, and the `DriftEvent` it makes.

Only a rise counts: a model that got better has not drifted. ADWIN sees both directions; on a
detection it drops the older part of its window and keeps the recent one, and the detection
counts when the part kept has the higher mean error. (The trainer's `ErrorDrift` does the same
on the prequential error; the quality monitor, a role of its own, may not import the trainer.)

>>> import random
>>> rng, watch = random.Random(1), ServedDrift(delta=0.002)
>>> errors = [float(rng.random() < 0.1) for _ in range(3000)]
>>> errors += [float(rng.random() < 0.4) for _ in range(3000)]
>>> found = [s for e in errors if (s := watch.update(e)) is not None]
>>> [(3000 < s.n_seen < 3500, s.error_before < s.error_after) for s in found]
[(True, True)]
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from river import drift

from lazarus.schemas.drift import DriftEvent

DETECTOR = "ADWIN"


@dataclass(frozen=True)
class ServedShift:
    """A rise of the served error: the mean error of the part ADWIN dropped (`error_before`)
    and of the part it kept (`error_after`), after `n_seen` errors since the watch was made."""

    error_before: float
    error_after: float
    n_seen: int


class ServedDrift:
    """`update(error)` returns a `ServedShift` when the served error has risen, else None."""

    def __init__(self, delta: float) -> None:
        self.delta = delta
        self.n_seen = 0
        self._adwin = drift.ADWIN(delta=delta)  # type: ignore[no-untyped-call]

    def reset(self) -> None:
        """Start afresh (another line is served: its errors are another model's)."""
        self._adwin = drift.ADWIN(delta=self.delta)  # type: ignore[no-untyped-call]

    def update(self, error: float) -> ServedShift | None:
        self.n_seen += 1
        adwin = self._adwin
        width, total = adwin.width, adwin.total
        adwin.update(error)  # type: ignore[no-untyped-call]
        if not adwin.drift_detected:
            return None
        dropped = width + 1 - adwin.width
        if dropped <= 0:
            return None
        before = (total + error - adwin.total) / dropped
        after = float(adwin.estimation)
        if not after > before or not math.isfinite(before):
            return None
        return ServedShift(before, after, self.n_seen)


def drift_event(
    model: str,
    line: str,
    shift: ServedShift,
    at_offsets: Mapping[str, int],
    detected_at: datetime | None = None,
) -> DriftEvent:
    """The DriftEvent of a served-error rise of `line`, serving `model`; its id is stable for
    the detection (model, line, source, detector, n_seen), so a monitor that reads the topics
    again from the start makes the same one. Its action is `alert`: the quality monitor acts on
    served quality through the gate and the guard, not on a drift."""
    key = f"{model}|{line}|served|{DETECTOR}||{shift.n_seen}"
    at = detected_at or datetime.now(UTC)
    return DriftEvent(
        event_id=hashlib.blake2b(key.encode(), digest_size=16).hexdigest(),
        event_time=at,
        model=model,
        line=line,
        source="served",
        detector=DETECTOR,
        statistic=shift.error_after - shift.error_before,
        error_before=shift.error_before,
        error_after=shift.error_after,
        n_seen=shift.n_seen,
        at_offsets=dict(at_offsets),
        action="alert",
        detected_at=at,
    )
