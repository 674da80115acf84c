"""The model contract: what a model reads, what it predicts, and how it is judged.

Everything another role must know about a model, and nothing about how it learns:
scorers, the quality monitor and the command line depend on a `ModelContract`;
only the trainer sees the recipe (`lazarus.trainer.specs.ModelSpec`: the contract
plus the river pipeline, the metric factories, the snapshot cadence and the join
limits). No river import here.

>>> from lazarus.schemas.models import HABITAT
>>> HABITAT.name, HABITAT.label_classes, HABITAT.metrics
('habitat', (False, True), ('Accuracy', 'LogLoss'))
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from lazarus.schemas.base import Event
from lazarus.schemas.errors import ConfigError
from lazarus.schemas.fingerprint import schema_fingerprint
from lazarus.schemas.labels import LabelCodec, same
from lazarus.schemas.lifecycle import Lifecycle
from lazarus.schemas.outcomes import OutcomeKind
from lazarus.schemas.per_key import PerKey
from lazarus.schemas.topics import Topic

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class ModelContract:
    """A model's contract; raises `ConfigError` when its fields contradict each other."""

    name: str
    inputs: tuple[Topic[Any], ...]
    """The topics whose events the model reads (their `to_features()` are its features)."""
    outcomes: Topic[Any]
    outcome_kind: OutcomeKind
    """The outcomes of this kind on `outcomes` label the model's inputs."""
    metrics: tuple[str, ...]
    """Names of the prequential metrics, primary first, as reports key them: the class names
    of river metrics ("Accuracy", "LogLoss"). A metric river lacks is named `module:factory`."""
    segment_fields: tuple[str, ...] = ()
    """Input fields the primary metric is also kept per value of."""
    task: Task = "classification"
    join_key: str = "event_id"
    """Feature field an outcome's `event_ref` names; outcomes without one join the subject's latest."""
    scores: Topic[Any] | None = None
    """Where scorers publish this model's scores (`lazarus score` needs it)."""
    classes: tuple[Any, ...] | None = None
    """Classification: the labels an outcome may carry, as declared (booleans, integers or
    strings), compared by type and value (others are dead-lettered); None means the binary
    (False, True). Two classes make a binary model, more a multiclass one. A regression takes
    finite numbers."""
    positive: Any = None
    """A binary model's positive class (what river learns as True); None: True for boolean
    classes, else the last class."""
    max_clock_skew_s: float = 3600.0
    """An event stamped more than this far after its Kafka timestamp is dead-lettered: one bad
    clock must not move the join's clock (as Kafka's `log.message.timestamp.after.max.ms`)."""
    min_learned: int = 1
    """A version that learned fewer events is stored (for restarts) but never made current:
    scorers never serve a model that has learned (next to) nothing."""
    lifecycle: Lifecycle = field(default_factory=Lifecycle, compare=False)
    """Challengers, promotion, rollback and drift (`lazarus.schemas.lifecycle`)."""
    description: str = field(default="", compare=False)
    per_key: PerKey | None = None
    """One model per value of a key field, trained in shards by partition
    (`lazarus.schemas.per_key`); None: one model for every event."""

    def __post_init__(self) -> None:
        if self.min_learned < 1:
            raise ConfigError(f"model spec {self.name!r}: min_learned must be at least 1")
        if self.max_clock_skew_s <= 0:
            raise ConfigError(f"model spec {self.name!r}: max_clock_skew_s must be positive")
        if self.task == "regression" and self.classes is not None:
            raise ConfigError(f"model spec {self.name!r}: a regression has no classes")
        if self.classes is not None:
            self._check_classes(self.classes)
        if self.positive is not None and not (
            self.classes is not None
            and len(self.classes) == 2
            and any(same(self.positive, c) for c in self.classes)
        ):
            raise ConfigError(
                f"model spec {self.name!r}: positive {self.positive!r} is not one of the two "
                "classes of a binary model"
            )
        if not self.metrics:
            raise ConfigError(f"model spec {self.name!r} needs at least one metric")
        if not all(isinstance(m, str) and m for m in self.metrics):
            raise ConfigError(f"model spec {self.name!r}: metrics are named by strings")
        if self.per_key is not None:
            self._check_per_key(self.per_key)

    def _check_per_key(self, per_key: PerKey) -> None:
        """A per-key model's shards learn apart: no fresh line or challenger spanning them."""
        if self.lifecycle.drift.action == "challenger" or self.lifecycle.challenger_of:
            raise ConfigError(
                f"model spec {self.name!r}: a per-key model has no challenger lines "
                "(lifecycle.drift.action 'challenger', lifecycle.challenger_of); use 'alert' "
                "or 'reset'"
            )
        for topic in self.inputs:
            columns = getattr(topic.event, "COLUMNS", ())
            fields = (
                [*(c.name for c in columns), "subject"] if columns else [*topic.event.model_fields]
            )
            if per_key.field not in fields:
                raise ConfigError(
                    f"model spec {self.name!r}: per_key.field {per_key.field!r} is not a field "
                    f"of {topic.name} ({', '.join(fields)})"
                )

    def _check_classes(self, classes: tuple[Any, ...]) -> None:
        if not all(isinstance(c, bool | int | float | str) for c in classes):
            raise ConfigError(
                f"model spec {self.name!r}: classes must be booleans, numbers or strings "
                "(outcome labels and score predictions are JSON values)"
            )
        if len(classes) < 2:
            raise ConfigError(f"model spec {self.name!r}: classes needs two or more labels")
        if len({str(c) for c in classes}) < len(classes):
            raise ConfigError(
                f"model spec {self.name!r}: classes must differ as text (JSON keys a score's "
                f"probabilities by each class's text): {', '.join(map(repr, classes))}"
            )
        if any(isinstance(c, str) and not c for c in classes):
            raise ConfigError(f"model spec {self.name!r}: a class cannot be the empty string")

    @property
    def labels(self) -> LabelCodec:
        """Labels as declared <-> targets as river learns them (`lazarus.schemas.labels`)."""
        classes = self.label_classes
        positive = self.positive
        if classes is not None and len(classes) == 2 and positive is None:
            # the positive class by default: True for booleans, else the last one declared
            positive = True if any(c is True for c in classes) else classes[-1]
        return _codec(classes, positive)

    @property
    def label_classes(self) -> tuple[Any, ...] | None:
        """The classes an outcome's label must be one of; None for a regression."""
        if self.task == "regression":
            return None
        return self.classes if self.classes is not None else (False, True)

    @property
    def fingerprint(self) -> str:
        """sha256 hex of the input events' names, schema versions and feature names
        (`schema_fingerprint`), and of the declared labels when they are not the default
        binary (False, True): a scorer refuses a snapshot whose fingerprint differs, and a
        trainer will not resume one, so a model learned with one positive class or set of
        classes is never served or trained under another."""
        base = schema_fingerprint(*(t.event for t in self.inputs))
        if self.classes is None and self.positive is None:
            return base
        labels = self.labels
        declared = {
            "base": base,
            "task": self.task,
            "classes": [[type(c).__name__, c] for c in labels.classes or ()],
            "positive": None
            if not labels.binary
            else [type(labels.positive).__name__, labels.positive],
        }
        return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()

    def input_event(self, topic: str, prefix: str = "") -> type[Event]:
        """The event class of input `topic` (its full name under `prefix`); KeyError if none."""
        for t in self.inputs:
            if t.full(prefix) == topic:
                return t.event
        raise KeyError(topic)


_CODECS: dict[tuple[Any, ...], LabelCodec] = {}
"""Codecs by their classes and positive class, typed (the class 1 is not the class True)."""


def _codec(classes: tuple[Any, ...] | None, positive: Any) -> LabelCodec:
    typed = None if classes is None else tuple((type(c), c) for c in classes)
    key = (typed, type(positive), positive)
    codec = _CODECS.get(key)
    if codec is None:
        codec = _CODECS[key] = LabelCodec(classes, positive)
    return codec
