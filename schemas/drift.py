"""Drift events: a change detected in a model's error or in its inputs' distribution.

The trainer publishes one per detection (source `prequential`: its test-then-train error;
`features`: a feature's distribution), the quality monitor one per change of the served error
(source `served`). Key: `model`, so a model's drifts stay in order on one partition.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from lazarus.schemas.base import Event, FiniteFloat, Identifier

DriftSource = Literal["prequential", "served", "features"]


class DriftEvent(Event):
    """One detected drift. `event_id` is stable for a detection (model, line, source, detector,
    feature, n_seen), so a replayed detection has the same id."""

    KEY_FIELD: ClassVar[str] = "model"

    schema_version: Literal[1] = 1
    model: Identifier = Field(description="the model (champion name) whose line drifted")
    line: Identifier = Field(description="the line whose error or inputs changed")
    source: DriftSource
    detector: str = Field(
        description='"ADWIN", "PageHinkley" or "KS" (two-sample Kolmogorov-Smirnov)'
    )
    feature: str | None = Field(None, description="the feature whose distribution moved (KS)")
    statistic: FiniteFloat | None = None
    p_value: FiniteFloat | None = Field(None, ge=0.0, le=1.0)
    error_before: FiniteFloat | None = Field(None, description="mean error before the change")
    error_after: FiniteFloat | None = Field(None, description="mean error after the change")
    n_seen: int = Field(ge=0, description="events the detector had seen when it fired")
    at_offsets: dict[str, int] = Field(
        default_factory=dict,
        description="the line's trained offsets at detection: 'topic:partition' -> next offset",
    )
    action: Literal["alert", "challenger", "reset"] = Field(
        description="what the model's drift policy did about it"
    )
    detected_at: AwareDatetime
