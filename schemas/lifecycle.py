"""A model's lifecycle policy: its challengers, when one is promoted, when a version is rolled
back, and what a drift does. Part of the contract (`ModelContract.lifecycle`): the quality
monitor acts on it, the trainer detects drift by it, `lazarus models gate` shows it.

A model M has *lines*, each a registry name with its own versions and `current`: the main line
is M itself; a declared challenger is another spec whose lifecycle says `challenger_of = "M"`;
the drift-born challenger is the line `M.fresh` (`fresh_line`), trained inside M's trainer from
the drift point. The champion line is the one whose `current` scorers serve on M's score topic.

Margins are in the judged metric's unit, "better" whatever its direction (accuracy: 0.02 is two
points; MAE: 0.5 is half a unit less error). No river import here.

>>> Lifecycle().promotion.min_events, Lifecycle().drift.action
(500, 'alert')
>>> fresh_line("habitat")
'habitat.fresh'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lazarus.schemas.errors import ConfigError

DriftAction = Literal["alert", "challenger", "reset"]
"""What a drift the trainer detects does: `alert` only (the drift event, the counter, the
dashboard marker, the audit entry); `challenger`: start the fresh challenger line (`M.fresh`)
from the drift point; `reset`: the champion's trainer starts its model afresh."""
DRIFT_ACTIONS: tuple[DriftAction, ...] = ("alert", "challenger", "reset")
DriftDetector = Literal["ADWIN", "PageHinkley"]
DRIFT_DETECTORS: tuple[DriftDetector, ...] = ("ADWIN", "PageHinkley")

FRESH = "fresh"


def fresh_line(model: str) -> str:
    """The registry name of `model`'s drift-born challenger."""
    return f"{model}.{FRESH}"


@dataclass(frozen=True)
class PromotionPolicy:
    """A challenger is promoted once it has been judged on `min_events` honest paired events and
    the lower bound of its advantage's `confidence` interval exceeds `margin`."""

    min_events: int = 500
    margin: float = 0.0
    confidence: float = 0.95

    def __post_init__(self) -> None:
        _check_common("promotion", self.min_events, self.margin, self.confidence)


@dataclass(frozen=True)
class GuardPolicy:
    """The rollback guard: a newly current version is compared with the baseline (the version
    current before it) on the same events; after `min_events`, if the upper bound of its
    advantage's `confidence` interval is below `-margin` (worse by more than the margin, with
    confidence), `current` goes back to the baseline and is pinned. It is cleared once confidently
    not that much worse, or after `max_events` (inconclusive)."""

    min_events: int = 300
    margin: float = 0.02
    confidence: float = 0.95
    max_events: int = 5000

    def __post_init__(self) -> None:
        _check_common("guard", self.min_events, self.margin, self.confidence)
        if self.max_events < self.min_events:
            raise ConfigError("guard: max_events must be at least min_events")


@dataclass(frozen=True)
class DriftPolicy:
    """Drift detection: `detector` (river.drift ADWIN with `delta`, or Page-Hinkley with
    `threshold`) on the prequential error, and a two-sample Kolmogorov-Smirnov test of each
    numeric feature (the last `feature_window` rows against a reference window, at
    `feature_alpha`, Bonferroni-corrected); `action` on an error drift (feature drifts alert)."""

    detector: DriftDetector = "ADWIN"
    delta: float = 0.002
    threshold: float = 50.0
    feature_window: int = 1000
    feature_alpha: float = 0.001
    action: DriftAction = "alert"

    def __post_init__(self) -> None:
        if self.detector not in DRIFT_DETECTORS:
            raise ConfigError(
                f"drift: detector {self.detector!r} is not one of {', '.join(DRIFT_DETECTORS)}"
            )
        if self.action not in DRIFT_ACTIONS:
            raise ConfigError(
                f"drift: action {self.action!r} is not one of {', '.join(DRIFT_ACTIONS)}"
            )
        if not 0 < self.delta < 1 or not 0 < self.feature_alpha < 1:
            raise ConfigError("drift: delta and feature_alpha must be between 0 and 1")
        if self.threshold <= 0 or self.feature_window < 20:
            raise ConfigError("drift: threshold must be positive and feature_window 20 or more")


@dataclass(frozen=True)
class Lifecycle:
    """`challenger_of`: the champion model this one challenges (None: a model of its own).
    `promotion` None: challengers are compared but never promoted automatically; `guard` None:
    no automatic rollback."""

    challenger_of: str | None = None
    promotion: PromotionPolicy | None = field(default_factory=PromotionPolicy)
    guard: GuardPolicy | None = field(default_factory=GuardPolicy)
    drift: DriftPolicy = field(default_factory=DriftPolicy)


def _check_common(what: str, min_events: int, margin: float, confidence: float) -> None:
    if min_events < 2:
        raise ConfigError(f"{what}: min_events must be at least 2")
    if margin < 0:
        raise ConfigError(f"{what}: margin must not be negative")
    if not 0.5 <= confidence < 1:
        raise ConfigError(f"{what}: confidence must be at least 0.5 and below 1")
