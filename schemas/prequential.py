"""Prequential records: the trainer's own test-then-train prediction for each labelled event.

Two shapes share the topic. Version 1, `PrequentialRecord`, is one message per learned event;
version 2, `PrequentialBatch`, holds the entries of many learned events of one model in one
message (a trainer writes only these since #20: a message per event cost it 5 us of its CPU
per learned event, and the broker as much again). Readers take both: a batch expands into the
version-1 records it stands for (`PrequentialBatch.records()`), ids included.

The quality monitor joins them with the scores actually served for the same events,
so served quality and the trainer's quality are compared on exactly the same events.
Each record names where its input event sits in Kafka (`input_topic`, `input_partition`,
`input_offset`), so the monitor can tell whether the version that served it had already
learned it (its `trained_through` reaches past that offset).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from lazarus.schemas.base import ClassName, Contract, Event, FiniteFloat, Identifier

InputPosition = tuple[str, int, int]
"""Where an input event sits: (full topic name, with the topic prefix; partition; offset)."""

MAX_BATCH_ENTRIES = 1000
"""Entries in one `PrequentialBatch`, at most."""
MAX_BATCH_BYTES = 256 * 1024
"""A batch's entries stop growing past this many bytes of JSON (Kafka takes 1 MB messages by
default); one entry alone may exceed it."""

Label = StrictBool | StrictInt | FiniteFloat | ClassName
NonNegative = Annotated[int, Field(ge=0)]


def prequential_id(input_event_id: str, model: str) -> str:
    """Deterministic, so a trainer's replay after a crash yields recognisable duplicates."""
    return hashlib.blake2b(
        f"{input_event_id}|{model}|prequential".encode(), digest_size=16
    ).hexdigest()


def prequential_batch_id(model: str, first_input_event_id: str, count: int) -> str:
    """A batch's id: its model, its first entry's input event and its size, so a replay that
    cuts the same batch yields the same id (every entry keeps its own `prequential_id` too)."""
    return hashlib.blake2b(
        f"{first_input_event_id}|{model}|{count}|prequential-batch".encode(), digest_size=16
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
    label: Label
    prediction: Label | None
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


class PrequentialEntry(Contract):
    """One learned event in a `PrequentialBatch`: a `PrequentialRecord` without what the batch
    holds once (model, time, topic names). `input`: the input event's (index into the batch's
    `input_topics`, partition, offset)."""

    input_event_id: Identifier
    n_learned: int = Field(ge=0, description="events the model had learned before this prediction")
    label: Label
    prediction: Label | None
    probabilities: dict[str, FiniteFloat] | None = None
    segment: dict[str, str] = Field(default_factory=dict)
    input: tuple[NonNegative, NonNegative, NonNegative] | None = Field(
        None, description="(index into input_topics, partition, offset) of the input event"
    )


class PrequentialBatch(Event):
    """The prequential entries of one model's learned events, in the order it learned them.
    Key: `model`. `event_id` is `prequential_batch_id(...)`; `event_time` when the predictions
    were made. A batch never spans a snapshot: replayed events come again in new batches, and
    readers drop them per entry, by `input_event_id` (or `prequential_id`)."""

    KEY_FIELD: ClassVar[str] = "model"

    schema_version: Literal[2] = 2
    model: Identifier
    input_topics: list[Identifier] = Field(
        default_factory=list, description="full names (prefix included) entries' inputs index"
    )
    entries: list[PrequentialEntry] = Field(min_length=1, max_length=MAX_BATCH_ENTRIES)

    @model_validator(mode="after")
    def _known_topics(self) -> PrequentialBatch:
        n = len(self.input_topics)
        for entry in self.entries:
            if entry.input is not None and entry.input[0] >= n:
                raise ValueError(f"entry {entry.input_event_id} names input topic {entry.input[0]}")
        return self

    def records(self) -> list[PrequentialRecord]:
        """The version-1 records these entries stand for, each with its own `prequential_id`."""
        out = []
        for e in self.entries:
            where = (
                {}
                if e.input is None
                else {
                    "input_topic": self.input_topics[e.input[0]],
                    "input_partition": e.input[1],
                    "input_offset": e.input[2],
                }
            )
            out.append(
                PrequentialRecord(
                    event_id=prequential_id(e.input_event_id, self.model),
                    event_time=self.event_time,
                    input_event_id=e.input_event_id,
                    model=self.model,
                    n_learned=e.n_learned,
                    label=e.label,
                    prediction=e.prediction,
                    probabilities=e.probabilities,
                    segment=e.segment,
                    **where,
                )
            )
        return out
