"""What the learner needs of an event, as plain tuples: cheap to build, pickle and unpack.

The decoding stage (another process, see `trainer.feed`) turns validated events
into these rows; the learner never sees a pydantic object. The tuples are
positional so they cross a pipe as flat pickles:

- features: `(join_key, subject, time_ms, x, segment)`
- labels:   `(kind, event_ref, subject, time_ms, label)`
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from schemas.base import Event, Features
from schemas.outcomes import Outcome

FeatureRow = tuple[str, str, int, Features, tuple[str, ...]]
LabelRow = tuple[str, str | None, str, int, Any]


def time_ms(event: Event) -> int:
    return int(event.event_time.timestamp() * 1000)


class RowMaker:
    """Rows of one model spec: its join key and its segment fields."""

    def __init__(self, join_key: str, segment_fields: tuple[str, ...]) -> None:
        self._join_key = operator.attrgetter(join_key)
        self._segment = _segment_getter(segment_fields)

    def features(self, event: Event) -> FeatureRow:
        """Raises whatever the event's `to_features()` raises (the caller dead-letters it)."""
        return (
            self._join_key(event),
            event.key,
            time_ms(event),
            event.to_features(),  # type: ignore[attr-defined]
            self._segment(event),
        )

    @staticmethod
    def label(outcome: Outcome) -> LabelRow:
        return (
            outcome.kind.value,
            outcome.event_ref,
            outcome.subject,
            time_ms(outcome),
            outcome.label,
        )


def _segment_getter(fields: tuple[str, ...]) -> Callable[[Event], tuple[str, ...]]:
    if not fields:
        return lambda event: ()
    get = operator.attrgetter(*fields)
    if len(fields) == 1:
        return lambda event: (str(get(event)),)
    return lambda event: tuple(map(str, get(event)))
