"""Prequential records: the trainer's own test-then-train prediction for each labelled event.

The quality monitor joins them with the scores actually served for the same events,
so served quality and the trainer's quality are compared on exactly the same events.
Each record names where its input event sits in Kafka (`input_topic`, `input_partition`,
`input_offset`), so the monitor can tell whether the version that served it had already
learned it (its `trained_through` reaches past that offset).
"""

from __future__ import annotations

import hashlib
from typing import ClassVar, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from lazarus.schemas.base import ClassName, Event, FiniteFloat, Identifier

InputPosition = tuple[str, int, int]
"""Where an input event sits: (full topic name, with the topic prefix; partition; offset)."""


def prequential_id(input_event_id: str, model: str) -> str:
    """Deterministic, so a trainer's replay after a crash yields recognisable duplicates."""
    return hashlib.blake2b(
        f"{input_event_id}|{model}|prequential".encode(), digest_size=16
    ).hexdigest()


class PrequentialRecord(Event):
    """Key: `input_event_id`'s subject is not known here; keyed by `input_event_id`.

    The input position came later: records without it (all three None) still read, and the
    quality monitor counts them as of unknown position, never as honestly served.
    """

    KEY_FIELD: ClassVar[str] = "input_event_id"

    schema_version: Literal[1] = 1
    input_event_id: Identifier
    model: Identifier
    n_learned: int = Field(ge=0, description="events the model had learned before this prediction")
    label: StrictBool | StrictInt | FiniteFloat | ClassName
    prediction: StrictBool | StrictInt | FiniteFloat | ClassName | None
    probabilities: dict[str, FiniteFloat] | None = None
    segment: dict[str, str] = Field(default_factory=dict)
    input_topic: Identifier | None = Field(
        None, description="the full name (prefix included) of the topic the input event came from"
    )
    input_partition: int | None = Field(None, ge=0, description="the input event's partition")
    input_offset: int | None = Field(None, ge=0, description="the input event's offset")

    @model_validator(mode="after")
    def _whole_position(self) -> PrequentialRecord:
        given = (self.input_topic, self.input_partition, self.input_offset)
        if any(v is None for v in given) and any(v is not None for v in given):
            raise ValueError("input_topic, input_partition and input_offset go together")
        return self

    @property
    def position(self) -> InputPosition | None:
        """The input event's (topic, partition, offset), or None from an older trainer."""
        if self.input_topic is None or self.input_partition is None or self.input_offset is None:
            return None
        return (self.input_topic, self.input_partition, self.input_offset)
