"""Model specs: what a model learns from, how, how it is judged, how often it is saved.

Built in: `habitat` and `viability`. A custom spec loads by import path
(`lazarus train mypkg.models:make_spec`), the factory returning a ModelSpec.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from river import linear_model, metrics, preprocessing, tree

from lazarus.errors import ConfigError
from lazarus.schemas.base import Event
from lazarus.schemas.fingerprint import schema_fingerprint
from lazarus.schemas.outcomes import OutcomeKind
from lazarus.schemas.topics import (
    GENOMIC_SAMPLES,
    HABITAT_OUTCOMES,
    HABITAT_SCORES,
    SENSOR_READINGS,
    VIABILITY_OUTCOMES,
    VIABILITY_SCORES,
    Topic,
)

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    inputs: tuple[Topic[Any], ...]
    outcomes: Topic[Any]
    outcome_kind: OutcomeKind
    pipeline: Callable[[], Any]
    """A fresh river estimator (usually a pipeline)."""
    metrics: tuple[Callable[[], metrics.base.Metric], ...]
    segment_fields: tuple[str, ...] = ()
    task: Task = "classification"
    join_key: str = "event_id"
    """Feature field an outcome's `event_ref` names; outcomes without one join the subject's latest."""
    snapshot_every: int = 5000
    """Publish a snapshot every this many learned events..."""
    snapshot_seconds: float = 10.0
    """...or this many seconds, whichever comes first."""
    pending_ttl_s: float = 14 * 86400.0
    """Features wait this long (event time) for their outcome."""
    max_pending: int = 1_000_000
    window: int = 1000
    """Events in the rolling metrics."""
    keep_joined: int = 100_000
    """Joined ids remembered to recognise duplicate outcomes."""
    scores: Topic[Any] | None = None
    """Where scorers publish this model's scores (`lazarus score` needs it)."""
    classes: tuple[Any, ...] | None = None
    """Classification: the labels an outcome may carry, compared by type and value (others are
    dead-lettered); None means the binary (False, True). A regression takes finite floats."""
    max_clock_skew_s: float = 3600.0
    """An event stamped more than this far after its Kafka timestamp is dead-lettered: one bad
    clock must not move the join's clock (as Kafka's `log.message.timestamp.after.max.ms`)."""
    min_learned: int = 1
    """A version that learned fewer events is stored (for restarts) but never made current:
    scorers never serve a model that has learned (next to) nothing."""
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("snapshot_every", "max_pending", "window", "keep_joined", "min_learned"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model spec {self.name!r}: {name} must be at least 1")
        if self.max_clock_skew_s <= 0:
            raise ConfigError(f"model spec {self.name!r}: max_clock_skew_s must be positive")
        if self.task == "regression" and self.classes is not None:
            raise ConfigError(f"model spec {self.name!r}: a regression has no classes")
        if self.classes is not None and not all(
            isinstance(c, bool | int | float) for c in self.classes
        ):
            raise ConfigError(
                f"model spec {self.name!r}: classes must be booleans or numbers "
                "(outcome labels and score predictions are JSON booleans or numbers)"
            )
        if self.classes is not None and len(set(self.classes)) < 2:
            raise ConfigError(
                f"model spec {self.name!r}: classes needs two or more distinct labels"
            )
        if not self.metrics:
            raise ConfigError(f"model spec {self.name!r} needs at least one metric")

    @property
    def label_classes(self) -> tuple[Any, ...] | None:
        """The classes an outcome's label must be one of; None for a regression."""
        if self.task == "regression":
            return None
        return self.classes if self.classes is not None else (False, True)

    @property
    def fingerprint(self) -> str:
        return schema_fingerprint(*(t.event for t in self.inputs))

    def input_event(self, topic: str, prefix: str = "") -> type[Event]:
        for t in self.inputs:
            if t.full(prefix) == topic:
                return t.event
        raise KeyError(topic)


def habitat() -> ModelSpec:
    return ModelSpec(
        name="habitat",
        inputs=(SENSOR_READINGS,),
        outcomes=HABITAT_OUTCOMES,
        outcome_kind=OutcomeKind.HABITAT_OCCUPANCY,
        pipeline=lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(),
        metrics=(metrics.Accuracy, metrics.LogLoss),
        segment_fields=("site_id",),
        scores=HABITAT_SCORES,
        description="sensor readings -> habitat occupancy; StandardScaler | LogisticRegression",
    )


def viability() -> ModelSpec:
    # Viability follows a few assay metrics with thresholds and interactions, and its truth
    # drifts (a new editing protocol): an adaptive Hoeffding tree replaces subtrees when its
    # ADWIN detectors see the error change. Scaled inputs keep its Gaussian splitters well-posed.
    return ModelSpec(
        name="viability",
        inputs=(GENOMIC_SAMPLES,),
        outcomes=VIABILITY_OUTCOMES,
        outcome_kind=OutcomeKind.VIABILITY,
        pipeline=lambda: (
            preprocessing.StandardScaler()
            | tree.HoeffdingAdaptiveTreeClassifier(grace_period=100, seed=42)
        ),
        metrics=(metrics.Accuracy, metrics.LogLoss),
        segment_fields=("species",),
        scores=VIABILITY_SCORES,
        snapshot_every=1000,
        description="genomic samples -> viability; StandardScaler | HoeffdingAdaptiveTreeClassifier",
    )


BUILTIN: dict[str, Callable[[], ModelSpec]] = {"habitat": habitat, "viability": viability}


def load_spec(name: str) -> ModelSpec:
    """A built-in spec by name, or `module:factory`."""
    if name in BUILTIN:
        return BUILTIN[name]()
    if ":" not in name:
        raise ConfigError(
            f"unknown model {name!r}: built in are {', '.join(BUILTIN)}, or give module:factory"
        )
    module, attr = name.split(":", 1)
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load model spec {name!r}: {exc}") from exc
    if not callable(factory):
        raise ConfigError(f"{name} is not callable: give a function that returns a ModelSpec")
    try:
        spec = factory()
    except Exception as exc:
        raise ConfigError(f"{name}() raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(spec, ModelSpec):
        raise ConfigError(f"{name} returned {type(spec).__name__}, not a ModelSpec")
    return spec
