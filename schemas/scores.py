"""Scores: what the scorers publish, with the lineage of the model that made them."""

from __future__ import annotations

import hashlib
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field, StrictBool, StrictInt

from lazarus.schemas.base import ClassName, Event, FiniteFloat, Identifier
from lazarus.schemas.genomics import Sha256


def score_id(input_event_id: str, model: str) -> str:
    """One id per (model, input event), whichever version scored it: the deduplication key.

    A crash before the commit re-scores an input, perhaps with a newer version; the rescore
    keeps the id (its `model_version` says which version made it).

    >>> score_id("e1", "habitat") == score_id("e1", "habitat")
    True
    >>> score_id("e1", "habitat") == score_id("e1", "viability")
    False
    """
    return hashlib.blake2b(f"{input_event_id}|{model}".encode(), digest_size=16).hexdigest()


class Score(Event):
    """A prediction for one input event. Key: `subject`.

    `event_id` is `score_id(input_event_id, model)`: every score of one input by one model
    shares it, whichever version made it. Consumers keep the first score with a given id in
    the topic (all scores of one input share a key, so they are in one partition, in order).
    """

    KEY_FIELD: ClassVar[str] = "subject"

    schema_version: Literal[1] = 1
    input_event_id: Identifier = Field(description="event_id of the scored input")
    subject: Identifier
    model: Identifier
    model_version: int = Field(ge=1)
    trained_through: dict[str, int] = Field(
        description="the model version's trained offsets: 'topic:partition' -> the next offset "
        "to read (Kafka's committed-offset convention): everything before it is in the model"
    )
    prediction: StrictBool | StrictInt | FiniteFloat | ClassName | None = Field(
        description="the class predicted, as the model declares its classes, or the value"
    )
    probabilities: dict[str, FiniteFloat] | None = Field(
        None,
        description='each class\'s text (JSON keys are strings: "True", "2", "oak") -> probability',
    )
    scored_at: AwareDatetime
    latency_ms: FiniteFloat = Field(ge=0.0, description="from consume to score, milliseconds")
    line: Identifier | None = Field(
        None,
        description="a served score only, when another line than the model's own is its "
        "champion (a promoted challenger): the registry name `model_version` belongs to",
    )
    shadow_of: Identifier | None = Field(
        None,
        description="shadow scores only (lazarus.shadow_scores.v1): the model whose champion "
        "this line is compared with; `model` is then the line's registry name",
    )
    role: Literal["challenger", "baseline"] | None = Field(
        None, description="shadow scores only: a challenger line, or the rollback guard's baseline"
    )
    model_key: str | None = Field(
        None,
        description="a per-key model's scores only: the input's key value (its per_key field); "
        "`line` then names the shard (`model.shardN`) whose version `model_version` is",
    )
    route: Literal["key", "fallback"] | None = Field(
        None,
        description="a per-key model's scores only: the key's own model answered, or the "
        "shard's pooled fallback (the key had learned too little)",
    )
    input_source_sha256: Sha256 | None = Field(
        None,
        description="the scored input's source file, for inputs that name one (a genomic "
        "sample's VCF: its `source_sha256`): which file's data this score judged",
    )
