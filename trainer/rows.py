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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lazarus.inputchecks import check_clock, check_features, check_label, checked_features
from lazarus.schemas.base import Event, Features
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.labels import LabelCodec
from lazarus.schemas.outcomes import Outcome, OutcomeKind
from lazarus.schemas.records import Record

FeatureRow = tuple[str, str, int, Features, tuple[str, ...]]
LabelRow = tuple[str, str | None, str, int, Any]


def time_ms(event: Event) -> int:
    return int(event.event_time.timestamp() * 1000)


_KIND_VALUES = {kind: kind.value for kind in OutcomeKind}
"""`kind.value` by a dict lookup (the enum's `value` is a Python property): per label."""


if TYPE_CHECKING:
    from lazarus.trainer.specs import ModelSpec

NOT_CHECKED = (0, 0)
"""A Kafka timestamp of type TIMESTAMP_NOT_AVAILABLE: the clock check passes."""


@dataclass(frozen=True)
class RowRules:
    """What rows are checked against beyond their schema (`lazarus.inputchecks`)."""

    model: str
    outcome_kind: str
    """Only labels of this kind are checked (others are not this model's to learn)."""
    classes: tuple[Any, ...] | None
    """The classes a label must be one of; None for a regression (finite floats)."""
    max_skew_ms: int
    """How far after its Kafka timestamp an event may be stamped."""
    labels: LabelCodec | None = None
    """Labels as declared -> targets as river learns them (None: the label is the target)."""


class RowMaker:
    """Rows of one model spec: its join key, its segment fields and its `RowRules`."""

    def __init__(
        self,
        join_key: str,
        segment_fields: tuple[str, ...],
        rules: RowRules | None = None,
        *,
        records: bool = False,
        key_field: str | None = None,
    ) -> None:
        """`records`: the inputs are records, whose segment fields may name columns.
        `key_field`: a per-key model's key field, whose value ends each row's segment
        (`trainer.keyed_learner` takes it off)."""
        self._args = (join_key, segment_fields, rules, records, key_field)
        self.join_key = join_key
        """The feature field an outcome's `event_ref` names."""
        self._join_key = operator.attrgetter(join_key)
        fields = (*segment_fields, key_field) if key_field else segment_fields
        self._segment = _segment_getter(fields, records)
        self._rules = rules

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its arguments (it crosses to the decoding process in a `FeedPlan`)."""
        return (_row_maker, self._args)

    @classmethod
    def for_spec(cls, spec: ModelContract | ModelSpec) -> RowMaker:
        """Rows of `spec` (a contract, or a recipe's), checked against its kind, classes and
        clock skew."""
        rules = RowRules(
            model=spec.name,
            outcome_kind=spec.outcome_kind.value,
            classes=spec.label_classes,
            max_skew_ms=int(spec.max_clock_skew_s * 1000),
            labels=_codec(spec),
        )
        records = any(issubclass(t.event, Record) for t in spec.inputs)
        per_key = spec.per_key
        key_field = per_key.field if per_key is not None else None
        return cls(spec.join_key, spec.segment_fields, rules, records=records, key_field=key_field)

    def features(self, event: Event, kafka_timestamp: tuple[int, int] = NOT_CHECKED) -> FeatureRow:
        """Raises `InputRejected` for a skewed clock or non-finite features, and whatever the
        event's `to_features()` raises (the caller dead-letters it)."""
        at = time_ms(event)
        x = event.to_features()  # type: ignore[attr-defined]
        if self._rules is not None:
            check_clock(at, kafka_timestamp, self._rules.max_skew_ms)
            check_features(x)
        return (self._join_key(event), event.key, at, x, self._segment(event))

    def join_key_of(self, event: Event) -> str | None:
        value = getattr(event, self.join_key, None)
        return value if isinstance(value, str) else None

    def scoring_features(self, event: Event) -> Features:
        """What the scorer scores of `event` (`lazarus.inputchecks.checked_features`)."""
        return checked_features(event)

    def label(self, outcome: Outcome, kafka_timestamp: tuple[int, int] = NOT_CHECKED) -> LabelRow:
        """Raises `InputRejected` for a skewed clock, or a label of this model's kind that is not
        of its task or classes."""
        at = time_ms(outcome)
        kind = _KIND_VALUES.get(outcome.kind) or outcome.kind.value
        rules = self._rules
        y = outcome.label
        if rules is not None:
            check_clock(at, kafka_timestamp, rules.max_skew_ms)
            if kind == rules.outcome_kind:
                check_label(y, rules.classes, rules.model)
                if rules.labels is not None:
                    y = rules.labels.target(y)
        return (kind, outcome.event_ref, outcome.subject, at, y)


def _codec(spec: ModelContract | ModelSpec) -> LabelCodec | None:
    """The spec's label codec where labels and targets differ (a binary model whose classes
    are not False/True, or a regression given integers); else None, the fast path."""
    contract = spec if isinstance(spec, ModelContract) else spec.contract
    codec = contract.labels
    return None if codec.identity and codec.classes is not None else codec


def _row_maker(
    join_key: str,
    segment_fields: tuple[str, ...],
    rules: RowRules | None,
    records: bool,
    key_field: str | None = None,
) -> RowMaker:
    return RowMaker(join_key, segment_fields, rules, records=records, key_field=key_field)


def _segment_getter(fields: tuple[str, ...], records: bool) -> Callable[[Event], tuple[str, ...]]:
    """Each field's value as text: an attribute, read with one `attrgetter` (this runs per
    event), or for records `Event.field_text` (the subject, or a column by name)."""
    if not fields:
        return lambda event: ()
    if not records:
        get = operator.attrgetter(*fields)
        if len(fields) == 1:
            return lambda event: (str(get(event)),)
        return lambda event: tuple(map(str, get(event)))
    if len(fields) == 1:
        (only,) = fields
        return lambda event: (event.field_text(only),)
    return lambda event: tuple(event.field_text(f) for f in fields)
