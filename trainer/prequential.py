"""Prequential records as JSON bytes, rendered from pieces (a `PrequentialRecord` model and
`json.dumps` per learned event would cost the trainer a sixth of its speed). A contract test
validates rendered records against the schema. A non-finite label, prediction or probability
raises ValueError (JSON has no NaN or infinity): the caller records no such record."""

from __future__ import annotations

import json
from typing import Any

from lazarus.schemas.jsontext import ProbabilitiesText, json_value
from lazarus.schemas.prequential import InputPosition, prequential_id

_CACHE_MAX = 100_000


class PrequentialRenderer:
    def __init__(self, model: str, segment_fields: tuple[str, ...]) -> None:
        self._model = model
        self._model_json = json.dumps(model)
        self._fields = segment_fields
        self._segments: dict[tuple[str, ...], str] = {}
        self._topics: dict[str, str] = {}
        self._probabilities = ProbabilitiesText()

    def render(
        self,
        input_id: str,
        at: str,
        n_learned: int,
        label: Any,
        prediction: Any,
        probabilities: dict[Any, float] | None,
        segment: tuple[str, ...],
        position: InputPosition | None = None,
    ) -> bytes:
        """`input_id` is a validated event id (an Identifier: no escaping needed); `at` an ISO
        time; `position` the input event's (full topic name, partition, offset), which the
        quality monitor needs to tell honestly served scores (None writes a record without it).
        ValueError when the label, prediction or a probability is not a finite number."""
        seg = self._segments.get(segment)
        if seg is None:
            if len(self._segments) > _CACHE_MAX:
                self._segments.clear()
            seg = self._segments[segment] = json.dumps(
                dict(zip(self._fields, segment, strict=False)), separators=(",", ":")
            )
        where = ""
        if position is not None:
            topic, partition, offset = position
            head = self._topics.get(topic)
            if head is None:  # a trainer reads a handful of topics: each rendered once
                head = self._topics[topic] = (
                    f',"input_topic":{json.dumps(topic)},"input_partition":'
                )
            where = f'{head}{partition},"input_offset":{offset}'
        return (
            f'{{"event_id":"{prequential_id(input_id, self._model)}","event_time":"{at}",'
            f'"schema_version":1,"input_event_id":"{input_id}","model":{self._model_json},'
            f'"n_learned":{n_learned},"label":{json_value(label)},"prediction":{json_value(prediction)},'
            f'"probabilities":{self._probabilities(probabilities)},"segment":{seg}{where}}}'
        ).encode()
