"""Scores: what the scorers publish, with the lineage of the model that made them."""

from __future__ import annotations

import hashlib
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field, StrictBool

from schemas.base import Event, FiniteFloat, Identifier


def score_id(event_id: str, model: str, version: int) -> str:
    """Deterministic: the same event scored by the same model version always gets the same id.

    >>> score_id("e1", "habitat", 3) == score_id("e1", "habitat", 3)
    True
    """
    return hashlib.blake2b(f"{event_id}|{model}|{version}".encode(), digest_size=16).hexdigest()


class Score(Event):
    """A prediction for one input event. Key: `subject`. `event_id` is the score id."""

    KEY_FIELD: ClassVar[str] = "subject"

    schema_version: Literal[1] = 1
    input_event_id: Identifier = Field(description="event_id of the scored input")
    subject: Identifier
    model: Identifier
    model_version: int = Field(ge=1)
    trained_through: dict[str, int] = Field(
        description="the model's watermark: 'topic:partition' -> last offset it learned from, +1"
    )
    prediction: StrictBool | FiniteFloat | None = Field(description="class or value predicted")
    probabilities: dict[str, FiniteFloat] | None = Field(None, description="class -> probability")
    scored_at: AwareDatetime
    latency_ms: FiniteFloat = Field(ge=0.0, description="from consume to score, milliseconds")
