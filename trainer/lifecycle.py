"""The trainer's side of the model lifecycle, pure: drift detection on every learned event, and
what a drift of the prequential error does (`DriftPolicy.action`).

- `alert`: nothing but the report (the trainer publishes the drift event and audits it);
- `reset`: the model starts afresh from the drift point (`Learner.reset_model`): its versions
  from then on learned only the new concept, and `min_learned` counts again from 0;
- `challenger`: a fresh model starts beside it from the drift point (`FreshLine`), published as
  the line `M.fresh` (`lazarus.schemas.lifecycle.fresh_line`) for scorers to score in shadow
  and the quality monitor to judge against the champion. Once that line is the champion (the
  monitor promoted it), the next drift restarts the main line instead: the fresh start always
  goes to the line that is not served.

A feature drift (KS) is reported and audited; it does not act (the inputs moved, but the model
may still be right: the error detectors say when it is not).

Everything here is part of `LearnerState`, pickled in every snapshot: the same events give the
same detections and the same fresh line, across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lazarus.schemas.lifecycle import DriftAction
from lazarus.trainer.drift import Detection


@dataclass
class FreshLine:
    """The drift-born challenger: a model learned from `started_at` (the trainer's next offsets
    to read when the drift was detected), `generation` counting the drifts that restarted it."""

    model: Any
    generation: int
    started_at: dict[str, int]
    n_learned: int = 0
    failures: int = 0
    """Events the fresh model raised on (left out of it; the main model decides dead letters)."""


@dataclass(frozen=True)
class DriftReport:
    """One detection and what was done about it (`action`: the policy's; `acted_on` the line
    restarted: 'main', 'fresh' or None for an alert), at the learner's offsets then."""

    detection: Detection
    action: DriftAction
    acted_on: str | None
    at_offsets: dict[str, int] = field(default_factory=dict)
    n_learned: int = 0


def response(detection: Detection, action: DriftAction, fresh_is_champion: bool) -> str | None:
    """Which line a detection restarts: None (an alert, or a feature drift), 'main' or 'fresh'.

    >>> from lazarus.trainer.drift import Detection
    >>> err = Detection("prequential", "ADWIN", None, 0.2, None, 0.1, 0.3, 900)
    >>> response(err, "challenger", False), response(err, "challenger", True)
    ('fresh', 'main')
    >>> response(err, "reset", False), response(err, "alert", False)
    ('main', None)
    """
    if detection.source != "prequential" or action == "alert":
        return None
    if action == "reset":
        return "main"
    return "main" if fresh_is_champion else "fresh"
