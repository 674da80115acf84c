"""Drift detection, pure: a rise of the prequential error, and shifts of the features.

`DriftWatch` holds both and is part of the trainer's snapshotted state, so everything here
pickles (through the registry's allowlisting unpickler, too) into an object that goes on
exactly as the original would: the same stream gives the same detections.

- `ErrorDrift`: river's ADWIN (`DriftPolicy.delta`) or Page-Hinkley (`DriftPolicy.threshold`)
  on the 0/1 loss of a classifier or the absolute error of a regressor. Only a *rise* counts:
  a model that got better has not drifted. Page-Hinkley watches rises only (river's mode
  "up"); ADWIN sees both directions, and a detection counts when the recent window ADWIN keeps
  has a higher mean error than the older part it drops. After a detection both start afresh
  (river resets them on the next update), so a change is reported once.
- `FeatureDrift` (`lazarus.trainer.feature_drift`): per numeric feature, the two-sample
  Kolmogorov-Smirnov test of a reference window against the recent one, Bonferroni-corrected
  over the features tested together.

>>> import random
>>> from lazarus.schemas.lifecycle import DriftPolicy
>>> rng, watch = random.Random(1), DriftWatch(DriftPolicy())
>>> errors = [float(rng.random() < 0.1) for _ in range(3000)]
>>> errors += [float(rng.random() < 0.4) for _ in range(3000)]
>>> found = [d for e in errors for d in watch.observe_error(e)]
>>> [(d.detector, 3000 < d.n_seen < 3500, d.error_before < d.error_after) for d in found]
[('ADWIN', True, True)]
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

from river import drift

from lazarus.schemas.lifecycle import DriftPolicy
from lazarus.trainer.feature_drift import FeatureDrift, FeatureShift

__all__ = [
    "ChangePoint",
    "Detection",
    "DriftWatch",
    "ErrorDrift",
    "FeatureDrift",
    "FeatureShift",
    "RisingPageHinkley",
]

Source = Literal["prequential", "features"]
Detector = Literal["ADWIN", "PageHinkley", "KS"]

PH_DELTA = 0.005
"""Page-Hinkley's tolerated rise per event (river's default; `DriftPolicy.delta` is ADWIN's)."""


@dataclass(frozen=True)
class Detection:
    """A drift: from the prequential error (`feature` None, `p_value` None, `error_before` and
    `error_after` the mean error of the windows either side of the change, `statistic` the rise
    between them) or from one feature (`statistic` the KS statistic, `error_*` None). `n_seen`:
    the errors (for `prequential`) or feature rows (for `features`) the watch had seen when it
    fired, counted since the watch was made (a `reset` does not restart it)."""

    source: Source
    detector: Detector
    feature: str | None
    statistic: float
    p_value: float | None
    error_before: float | None
    error_after: float | None
    n_seen: int


class RisingPageHinkley(drift.PageHinkley):  # type: ignore[misc]
    """river's Page-Hinkley, for rises only, that pickles for a snapshot: river keeps its test as
    a bound method, which pickles as `builtins.getattr`, refused by the snapshot unpickler; it is
    left out of the pickle and bound again on unpickling."""

    def __init__(self, threshold: float, delta: float = PH_DELTA) -> None:
        super().__init__(threshold=threshold, delta=delta, mode="up")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_test_drift"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._test_drift = self._test_increase


class ChangePoint:
    """Where a stream's mean most likely rose, and its mean before and after: the CUSUM estimate,
    the k that minimises S_k - k * mean (S_k the sum of the first k values), for the single
    rise that best explains the stream so far.

    The minimiser is a vertex of the lower convex hull of the points (k, S_k), which is kept
    online: O(1) amortised per value, and a few dozen vertices for a noisy stream (about
    2 ln n for a random walk; a noiseless convex sum would keep every point).

    >>> cp = ChangePoint()
    >>> for x in [0.25] * 100 + [1.0] * 20:
    ...     cp.add(x)
    >>> cp.at(), cp.means()
    (100, (0.25, 1.0))
    """

    def __init__(self) -> None:
        self.n, self.total = 0, 0.0
        self.hull: list[tuple[int, float]] = [(0, 0.0)]

    def add(self, x: float) -> None:
        self.n += 1
        self.total += x
        hull, n, total = self.hull, self.n, self.total
        while len(hull) > 1:
            (k0, s0), (k1, s1) = hull[-2], hull[-1]
            if (k1 - k0) * (total - s0) - (s1 - s0) * (n - k0) > 0:
                break  # a left turn: (k1, s1) stays on the lower hull
            hull.pop()
        hull.append((n, total))

    def _low(self) -> tuple[int, float]:
        """(k, S_k) at the change point: the first hull vertex whose next edge rises at least
        as steeply as the mean (edges' slopes increase along a lower hull)."""
        hull = self.hull
        mean = self.total / self.n if self.n else 0.0
        for (k0, s0), (k1, s1) in itertools.pairwise(hull):
            if s1 - s0 >= mean * (k1 - k0):
                return k0, s0
        return hull[-1]

    def at(self) -> int:
        """The values before the change point."""
        return self._low()[0]

    def means(self) -> tuple[float, float]:
        """(mean up to the change point, mean after it); an empty side has the overall mean (0.0
        before any value). The first is never above the second."""
        k, s = self._low()
        mean = self.total / self.n if self.n else 0.0
        return (
            s / k if k else mean,
            (self.total - s) / (self.n - k) if self.n > k else mean,
        )


class ErrorDrift:
    """`update(error) -> True` when the error has risen: the detector named by the policy, on
    the prequential 0/1 loss (classification) or absolute error (regression).

    After a detection, `error_before` and `error_after` hold the mean error since the detector
    (re)started up to the estimated change point, and after it (`ChangePoint`)."""

    def __init__(self, policy: DriftPolicy) -> None:
        self.policy = policy
        self.error_before = self.error_after = math.nan
        self._adwin: drift.ADWIN | None = None
        self._ph: RisingPageHinkley | None = None
        self._change = ChangePoint()
        self._rose = False
        self.reset()

    @property
    def name(self) -> Literal["ADWIN", "PageHinkley"]:
        return self.policy.detector

    def reset(self) -> None:
        """Start afresh (after the model was reset: its old errors say nothing of the new one)."""
        if self.policy.detector == "ADWIN":
            self._adwin = drift.ADWIN(delta=self.policy.delta)  # type: ignore[no-untyped-call]
        else:
            self._ph = RisingPageHinkley(self.policy.threshold)
        self._change = ChangePoint()

    def update(self, error: float) -> bool:
        self._change.add(error)
        if not self._detected(error):
            return False
        # river resets its detector on the next update: the change point starts with it.
        change, self._change = self._change, ChangePoint()
        if self._ph is None and not self._rose:
            return False
        self.error_before, self.error_after = change.means()
        return True

    def _detected(self, error: float) -> bool:
        if self._ph is not None:
            self._ph.update(error)  # type: ignore[no-untyped-call]
            return bool(self._ph.drift_detected)
        assert self._adwin is not None
        width, total = self._adwin.width, self._adwin.total
        self._adwin.update(error)  # type: ignore[no-untyped-call]
        if not self._adwin.drift_detected:
            return False
        # On a detection ADWIN drops its older part and keeps the recent one: which has the
        # higher mean error says which way the error went.
        dropped = width + 1 - self._adwin.width
        older = (total + error - self._adwin.total) / dropped if dropped > 0 else math.nan
        self._rose = float(self._adwin.estimation) > older
        return True


class DriftWatch:
    """A model's drift detectors: `observe_features(x)` for every feature row it reads,
    `observe_error(e)` for every prequential error; each returns the detections it made."""

    def __init__(self, policy: DriftPolicy) -> None:
        self.policy = policy
        self.error_drift = ErrorDrift(policy)
        self.feature_drift = FeatureDrift(policy.feature_window, policy.feature_alpha)
        self.n_errors = self.n_rows = 0

    def observe_error(self, error: float) -> list[Detection]:
        self.n_errors += 1
        found = self.error_drift
        if not found.update(error):
            return []
        return [
            Detection(
                source="prequential",
                detector=found.name,
                feature=None,
                statistic=found.error_after - found.error_before,
                p_value=None,
                error_before=found.error_before,
                error_after=found.error_after,
                n_seen=self.n_errors,
            )
        ]

    def observe_features(self, x: dict[str, float]) -> list[Detection]:
        self.n_rows += 1
        return [
            Detection("features", "KS", s.feature, s.statistic, s.p_value, None, None, self.n_rows)
            for s in self.feature_drift.update(x)
        ]

    def reset(self) -> None:
        """Start every detector afresh (after the trainer reset its model); counts go on."""
        self.error_drift.reset()
        self.feature_drift = FeatureDrift(self.policy.feature_window, self.policy.feature_alpha)
