"""Score messages as JSON bytes, rendered from pieces fixed per model version.

Building a pydantic `Score` per event would cost more than the scoring. What is
rendered here is the same contract, byte for byte what `Score.model_validate_json`
accepts; a unit test validates rendered scores against the schema. A non-finite number
(NaN, infinity) raises ValueError instead of being written: JSON has no such value, and the
caller dead-letters the input.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any, Literal

from lazarus.schemas.jsontext import ProbabilitiesText, json_value
from lazarus.schemas.labels import LabelCodec
from lazarus.schemas.scores import score_id

_PLAIN = re.compile(r"[A-Za-z0-9_.:\-]+").fullmatch
"""Identifiers that need no JSON escaping (every validated Identifier)."""


def _string(text: str) -> str:
    return f'"{text}"' if _PLAIN(text) else json.dumps(text)


def source_of(event_class: type) -> Callable[[Any], str | None] | None:
    """The getter of an input class's `source_sha256` (the file its data came from), or None
    when the class names no file: looked up once per topic, so inputs without one cost nothing.

    >>> from lazarus.schemas.genomics import GenomicSample
    >>> from lazarus.schemas.sensors import SensorReading
    >>> source_of(SensorReading) is None, source_of(GenomicSample) is None
    (True, False)
    """
    fields = getattr(event_class, "model_fields", {})
    return operator.attrgetter("source_sha256") if "source_sha256" in fields else None


class ScoreRenderer:
    """`render(input_id, subject, prediction, probabilities, scored_at, latency_ms)` -> (id, bytes).

    The id is `score_id(input_id, model)`: the same for every version (a shadow score's: see
    `__init__`). ValueError when the prediction, a probability or the latency is not a finite
    number (or not JSON).
    `input_id` is a validated event id (every Event's `event_id` is an Identifier: letters,
    digits and `_.:-`), so it needs no escaping; subjects are checked. A per-key model's score
    also carries `model_key` (the input's key value) and `route` ("key" or "fallback"). An
    input that names its source file (a genomic sample's `source_sha256`) gives its score
    `input_source_sha256`; `source_sha256` is then a validated sha256 hex digest.
    """

    def __init__(
        self,
        model: str,
        version: int,
        trained_offsets: dict[str, int],
        labels: LabelCodec | None = None,
        *,
        shadow_of: str | None = None,
        role: Literal["challenger", "baseline"] | None = None,
        line: str | None = None,
    ) -> None:
        """`trained_offsets`: 'topic:partition' -> the next offset to read (Kafka's
        committed-offset convention), as the version's manifest records it; every score
        carries it in its `trained_through` field. `labels` turns the model's targets into the
        labels as declared (a binary model's True into "present"); None: they are the same.

        A shadow score (`lazarus.shadow_scores.v1`): `model` is the line, `shadow_of` the model
        it is compared with, `role` "challenger" or "baseline"; its id is
        `score_id(input_id, model + "|" + role)`: never a served score's id (M's own line is
        scored in shadow after a promotion), and a line scored in both roles never gives two
        scores one id. A served score of another line than `model` (a promoted challenger)
        names it in `line`, so the quality monitor knows which line served it."""
        self.model = model
        self._labels = None if labels is None or labels.identity else labels
        self.version = version
        self._id_name = model if role is None else f"{model}|{role}"
        offsets = json.dumps(trained_offsets, separators=(",", ":"), sort_keys=True)
        shadow = (
            f'"shadow_of":{_string(shadow_of)},"role":{_string(role or "challenger")},'
            if shadow_of is not None
            else f'"line":{_string(line)},'
            if line is not None
            else ""
        )  # fixed per version, so a served score's bytes and cost stay as they were
        self._lineage = (
            f'"model":{_string(model)},"model_version":{version},"trained_through":{offsets},'
            f"{shadow}"
        )
        self._probabilities = ProbabilitiesText()
        self._subjects: dict[str, str] = {}
        """Subjects (sites, individuals) repeat: each is checked and quoted once."""

    def render(
        self,
        input_id: str,
        subject: str,
        prediction: Any,
        probabilities: dict[Any, float] | None,
        scored_at: str,
        latency_ms: float,
        *,
        model_key: str | None = None,
        route: str | None = None,
        source_sha256: str | None = None,
    ) -> tuple[str, bytes]:
        sid = score_id(input_id, self._id_name)
        if self._labels is not None:
            prediction = self._labels.label(prediction)
            probabilities = self._labels.probabilities_out(probabilities)
        quoted = self._subjects.get(subject)
        if quoted is None:
            if len(self._subjects) > 100_000:
                self._subjects.clear()
            quoted = self._subjects[subject] = _string(subject)
        if latency_ms - latency_ms != 0.0:
            raise ValueError(f"latency {latency_ms!r} ms is not a finite number")
        tail = (
            ""
            if model_key is None
            else f',"model_key":{json.dumps(model_key)},"route":{json_value(route)}'
        )
        if source_sha256 is not None:
            tail += f',"input_source_sha256":"{source_sha256}"'
        text = (
            f'{{"event_id":"{sid}","event_time":"{scored_at}","schema_version":1,'
            f'"input_event_id":"{input_id}","subject":{quoted},{self._lineage}'
            f'"prediction":{json_value(prediction)},"probabilities":{self._probabilities(probabilities)},'
            f'"scored_at":"{scored_at}","latency_ms":{latency_ms:.3f}{tail}}}'
        )
        return sid, text.encode()
