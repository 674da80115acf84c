"""The JSON shape of a model's lifecycle in `lazarus status --json` (`ModelStatus.lifecycle`):
what `lazarus.lifecycle_view.lifecycle` gathers from the lineup and the quality monitor's
records. Null wherever nothing happened or was measured yet, never 0 (`lazarus models gate
--json`, `lazarus.cli.json_gate`, shows the same standings with its own conventions: 0 events
and the state `unjudged` before the quality monitor judged)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lazarus.cli.json_types import Count, Shape, Time


class LifecycleLine(Shape):
    line: str = Field(description="a registry name: the model itself, or a challenger's")
    version: Count | None = Field(description="the line's `current`; null: none yet")


class LifecycleComparison(Shape):
    """Two versions judged on the same honest events (`lazarus.quality.paired`)."""

    n: Count | None = Field(description="paired events judged")
    metric: str | None = Field(description="the judged metric (Accuracy, MAE, ...)")
    champion: float | None = Field(description="the metric of the first (champion, baseline)")
    challenger: float | None = Field(description="the metric of the second (challenger, served)")
    difference: float = Field(
        description="how much better the second is, in the metric's unit, positive = better"
    )
    low: float | None = Field(description="the difference's interval, lower bound")
    high: float | None = Field(description="upper bound")
    confidence: float | None = Field(description="the interval's level (0.95)")
    method: str | None = Field(description="`mcnemar-exact` (Accuracy) or `paired-bootstrap`")
    p_value: float | None = Field(description='two-sided, for "no difference"')


class LifecycleChallenger(Shape):
    line: str = Field(description="the challenger line")
    version: Count | None = Field(description="its `current`, scored in shadow; null: none yet")
    events: Count | None = Field(description="honest paired events judged; null: not judged yet")
    min_events: Count | None = Field(description="the promotion policy's; null: promotion off")
    comparison: LifecycleComparison | None = Field(
        description="the challenger against the champion; null under 2 judged events"
    )
    state: str | None = Field(
        description="the gate's verdict: waiting, promote, hold or off; null: not judged yet"
    )
    reason: str | None = Field(description="the verdict in one line")


class LifecycleBaseline(Shape):
    line: str
    version: Count
    since: Time = Field(description="when it became the baseline")


class LifecycleGuard(Shape):
    """The rollback guard: the version served against the baseline."""

    state: str | None = Field(description="idle, waiting, rollback, cleared or off")
    reason: str | None = Field(description="the state in one line")
    served: LifecycleLine | None = Field(description="what it judged; null: nothing served")
    events: Count | None = Field(description="honest paired events judged; null: none judged")
    min_events: Count | None = Field(description="the guard policy's; null: the guard is off")
    max_events: Count | None = Field(description="inconclusive after this many: cleared")
    comparison: LifecycleComparison | None = Field(
        description="the served version (as challenger) against the baseline"
    )


class LifecycleDrift(Shape):
    """The model's last drift (a `DriftEvent`, also on the topic `lazarus.drift.v1`)."""

    at: Time | None = Field(description="when it was detected")
    line: str | None = Field(description="the line whose error or inputs changed")
    source: str | None = Field(description="prequential, served or features")
    detector: str | None = Field(description="ADWIN, PageHinkley or KS")
    feature: str | None = Field(description="the feature that moved (features only)")
    action: str | None = Field(description="the drift policy's action: alert, challenger, reset")
    did: str = Field(description="what it did, in words (served and feature drifts alert only)")
    n_seen: Count | None = Field(description="events the detector had seen")
    error_before: float | None = Field(description="mean error before the change")
    error_after: float | None = Field(description="mean error after it")
    statistic: float | None = Field(description="the KS statistic (features)")
    p_value: float | None = Field(description="the KS test's (features)")
    summary: str = Field(description="the drift in one line")


class LifecycleAction(Shape):
    """The last automatic action: the quality monitor's promote or rollback, or a trainer's
    `challenger` or `reset` on a drift."""

    kind: str = Field(description="promote, rollback, challenger or reset")
    at: Time | None = Field(description="when it was taken")
    line: str | None = Field(description="the line it made serve (or started)")
    version: Count | None = Field(description="the version it made serve; null: none (a drift)")
    reason: str | None = Field(description="as in the audit stream (`lazarus models history`)")
    summary: str = Field(description="its evidence in one line")
    evidence: dict[str, Any] = Field(
        description="what it rests on, as recorded in the audit stream: events, metric values, "
        "difference and interval, method, policy (a drift: the drift event)"
    )


class ModelLifecycle(Shape):
    """Champion and challengers, the rollback guard, the last drift and automatic action."""

    champion: LifecycleLine = Field(description="the line served on the model's score topic")
    challengers: list[LifecycleChallenger] = Field(description="by line; [] for none")
    baseline: LifecycleBaseline | None = Field(
        description="what the rollback guard compares the served version against; null: none yet"
    )
    guard: LifecycleGuard | None = Field(description="null until the quality monitor judged")
    held: bool = Field(
        description="an automatic rollback undid a promotion: no automatic promotion until an "
        "operator promotes"
    )
    metric: str | None = Field(description="the metric challengers are judged by")
    judged_at: Time | None = Field(description="the quality monitor's last report; null: never")
    last_drift: LifecycleDrift | None = Field(description="null: none yet")
    last_action: LifecycleAction | None = Field(description="null: none yet")
