"""The quality monitor's reading of its topics: a score (served, or in shadow) and a trainer's
prequential record, from their JSON, as the joins take them (`core.Served`, `core.Judged`):
labels, predictions and probabilities as targets, as river's metrics take them.

Prequential records come in two shapes (`lazarus.schemas.prequential`): one record per event
(version 1) and batches of entries (version 2). `entries(batch)` opens a batch; each entry then
reads as a record does (`Reader.judged(entry, topics)`), so a bad entry costs only itself.

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

    def judged(self, record: dict[str, Any], topics: list[str] | None = None) -> Judged:
        """A prequential record, or with `topics` (its batch's `input_topics`) a batch's entry:
        the label, the trainer's own prediction, where the input sits."""
        return Judged(
            self.labels.target_of_label(record["label"]),
            self.labels.target_of_label(record["prediction"]),
            self.labels.probabilities_in(record["probabilities"]),
            record.get("segment") or {},
            position(record) if topics is None else entry_position(record, topics),
        )


def entries(batch: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """A version-2 batch's input topics and entries; ValueError when it has not got them."""
    topics, items = batch.get("input_topics"), batch.get("entries")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ValueError("a prequential batch without a list of input topic names")
    if not isinstance(items, list) or not items:
        raise ValueError("a prequential batch without entries")
    return topics, items


def entry_position(entry: dict[str, Any], topics: list[str]) -> InputPosition | None:
    """A batch entry's input position from its `input` ([topic index, partition, offset]);
    None when it has none. IndexError for an index past the batch's topics."""
    where = entry.get("input")
    if where is None:
        return None
    index, partition, offset = where
    if type(index) is not int or index < 0:
        raise ValueError(f"input topic index {index!r}")
    return topics[index], int(partition), int(offset)


def position(record: dict[str, Any]) -> InputPosition | None:
    """A prequential record's input position; None from a trainer that did not record it."""
    topic, offset = record.get("input_topic"), record.get("input_offset")
    if topic is None or offset is None:
        return None
    return str(topic), int(record["input_partition"]), int(offset)
