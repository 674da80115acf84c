"""The quality monitor's reading of its topics: a score (served, or in shadow) and a trainer's
prequential record, from their JSON, as the joins take them (`core.Served`, `core.Judged`):
labels, predictions and probabilities as targets, as river's metrics take them.

Trained offsets are shared by every score of a version: each distinct mapping is kept once
(`Reader.trained_through`), by its content, since version numbers repeat across lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lazarus.quality.core import Judged, Served
from lazarus.schemas.labels import LabelCodec
from lazarus.schemas.prequential import InputPosition

MAX_SHARED = 10_000
"""Distinct trained-offset mappings kept for sharing; past it the table starts again."""


class Reader:
    """Scores and records of one model, decoded with its `labels`. Each method raises
    KeyError, TypeError or ValueError for a record that is not what it should be."""

    def __init__(self, labels: LabelCodec) -> None:
        self.labels = labels
        self._through: dict[tuple[tuple[str, int], ...], dict[str, int]] = {}

    def trained_through(self, raw: Mapping[str, Any]) -> dict[str, int]:
        """`raw` ('topic:partition' -> next offset) as ints, one shared dict per content."""
        key = tuple(sorted((str(k), int(v)) for k, v in raw.items()))
        through = self._through.get(key)
        if through is None:
            if len(self._through) >= MAX_SHARED:
                self._through.clear()
            through = self._through[key] = dict(key)
        return through

    def served(self, score: dict[str, Any]) -> Served:
        """A score, from the model's score topic or the shadow topic."""
        return Served(
            int(score["model_version"]),
            self.labels.target_of_label(score["prediction"]),
            self.labels.probabilities_in(score["probabilities"]),
            self.trained_through(score["trained_through"]),
        )

    def judged(self, record: dict[str, Any]) -> Judged:
        """A prequential record: the label, the trainer's own prediction, where the input sits."""
        return Judged(
            self.labels.target_of_label(record["label"]),
            self.labels.target_of_label(record["prediction"]),
            self.labels.probabilities_in(record["probabilities"]),
            record.get("segment") or {},
            position(record),
        )


def position(record: dict[str, Any]) -> InputPosition | None:
    """A prequential record's input position; None from a trainer that did not record it."""
    topic, offset = record.get("input_topic"), record.get("input_offset")
    if topic is None or offset is None:
        return None
    return str(topic), int(record["input_partition"]), int(offset)
