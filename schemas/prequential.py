"""Prequential records: the trainer's own test-then-train prediction for each labelled event.

The quality monitor joins them with the scores actually served for the same events,
so served quality and the trainer's quality are compared on exactly the same events.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar, Literal

from pydantic import Field, StrictBool

from lazarus.schemas.base import Event, FiniteFloat, Identifier


def prequential_id(input_event_id: str, model: str) -> str:
    """Deterministic, so a trainer's replay after a crash yields recognisable duplicates."""
    return hashlib.blake2b(
        f"{input_event_id}|{model}|prequential".encode(), digest_size=16
    ).hexdigest()


class PrequentialRecord(Event):
    """Key: `input_event_id`'s subject is not known here; keyed by `input_event_id`."""

    KEY_FIELD: ClassVar[str] = "input_event_id"

    schema_version: Literal[1] = 1
    input_event_id: Identifier
    model: Identifier
    n_learned: int = Field(ge=0, description="events the model had learned before this prediction")
    label: StrictBool | FiniteFloat
    prediction: StrictBool | FiniteFloat | None
    probabilities: dict[str, FiniteFloat] | None = None
    segment: dict[str, str] = Field(default_factory=dict)
