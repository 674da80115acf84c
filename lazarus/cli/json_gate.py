"""The shape of `lazarus models gate MODEL --json` (registered with the others in
`lazarus.cli.json_schemas`): a model's lineup, where each challenger stands against the
promotion policy, and the rollback guard's state, as the quality monitor last judged them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from lazarus.cli.json_types import Count, Shape, Time


class LineVersion(Shape):
    line: str = Field(description="a registry name: MODEL itself or a challenger line")
    version: Count | None = Field(description="its `current`; null: it has none")


class BaselineShape(Shape):
    line: str
    version: Count
    since: Time = Field(description="when it became the baseline")


class ComparisonShape(Shape):
    """A paired comparison on the same honest events (`lazarus.quality.paired.Comparison`)."""

    n: Count = Field(description="events judged: both versions scored them before learning them")
    metric: str = Field(description="the judged metric (the contract's first that pairs)")
    champion: float = Field(description="the champion's (or the baseline's) value on them")
    challenger: float = Field(description="the challenger's (or what is served now) value")
    difference: float = Field(description="how much better the challenger is, in the metric's unit")
    low: float = Field(description="the lower end of the difference's interval")
    high: float = Field(description="the upper end")
    confidence: float = Field(description="of the interval, e.g. 0.95")
    method: Literal["mcnemar-exact", "paired-bootstrap"]
    p_value: float = Field(description="two-sided, for no difference")
    discordant: list[Count] | None = Field(
        description="McNemar's (b, c): events only the champion, only the challenger got right"
    )


class PromotionShape(Shape):
    min_events: Count = Field(description="honest paired events judged before any promotion")
    margin: float = Field(description="the advantage's lower bound must exceed it (metric unit)")
    confidence: float = Field(description="of that lower bound")


class GuardShape(Shape):
    min_events: Count = Field(description="honest paired events judged before any verdict")
    margin: float = Field(description="rolled back when worse by more, with confidence")
    confidence: float
    max_events: Count = Field(description="cleared after this many events, even inconclusive")


class Policies(Shape):
    promotion: PromotionShape | None = Field(description="null: no automatic promotion")
    guard: GuardShape | None = Field(description="null: no automatic rollback")


class ChallengerStanding(Shape):
    line: str = Field(description="the challenger line (a registry name)")
    version: Count | None = Field(description="its `current`, the version scored in shadow")
    events: Count = Field(description="honest paired events judged since its last reset")
    min_events: Count | None = Field(description="the promotion policy's; null: promotion off")
    not_honest: Count = Field(description="pairs not judged: a version had learned the event")
    state: Literal["waiting", "promote", "hold", "off", "unjudged"] = Field(
        description="waiting: under min_events; promote: clears the gate (promoted unless "
        "held); hold: judged, not better by the margin; off: no promotion policy or no metric "
        "that pairs; unjudged: the quality monitor has not judged it yet"
    )
    reason: str = Field(description="one line: the numbers behind the state")
    comparison: ComparisonShape | None = Field(description="null under 2 judged events")


class GuardStanding(Shape):
    state: Literal["waiting", "rollback", "cleared", "idle", "off", "unjudged"] = Field(
        description="idle: serving the baseline (or none yet); waiting: judging what is served "
        "against the baseline; rollback: worse by the margin (rolled back unless the registry "
        "refused); cleared: not worse, it becomes the baseline; off: no guard policy; "
        "unjudged: the quality monitor has not judged yet"
    )
    reason: str
    served: LineVersion | None = Field(description="what the guard judged as served")
    events: Count = Field(description="honest paired events judged against the baseline")
    comparison: ComparisonShape | None = Field(
        description="the baseline as `champion`, what is served as `challenger`"
    )


class GateReport(Shape):
    """`lazarus models gate MODEL --json`: read only, nothing is acted on."""

    model: str
    champion: LineVersion = Field(description="the line scorers serve on MODEL's score topic")
    held: bool = Field(description="no automatic promotion until an operator promotes")
    metric: str | None = Field(description="the judged metric; null before any judgement")
    policy: Policies | None = Field(description="the contract's lifecycle; null: not known")
    challengers: list[ChallengerStanding] = Field(description="every challenger line, by name")
    baseline: BaselineShape | None = Field(description="what the guard compares against")
    guard: GuardStanding
    judged_at: Time | None = Field(description="the quality monitor's last report; null: none")
    last_drift: dict[str, Any] | None = Field(
        description="the model's last drift (a DriftEvent, lazarus.drift.v1); null: none"
    )
    last_action: dict[str, Any] | None = Field(
        description="the last automatic action: kind, at, line, version, reason, evidence"
    )
