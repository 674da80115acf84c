"""Model specs, the trainer's recipes: a model contract plus how the model learns.

A `ModelSpec` is a `ModelContract` (`lazarus.schemas.contract`: what the model reads,
predicts and is judged by, all that scorers and the quality monitor see) plus the river
pipeline, the metric factories, the snapshot cadence and the join limits. The
contract's fields read through (`spec.name` is `spec.contract.name`).

Built in: `habitat` and `viability` (their contracts are in `lazarus.schemas.models`).
A model spec file loads by its path (`lazarus train survey.toml`, see docs/model-specs.md),
a custom spec by import path (`lazarus train mypkg.models:make_spec`), the factory returning
a ModelSpec. `lazarus.trainer.checks.check_spec` checks one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from river import linear_model, metrics, preprocessing, tree

from lazarus.errors import ConfigError
from lazarus.metric_factories import MetricFactory, metric_factory
from lazarus.schemas.contract import ModelContract, Task
from lazarus.schemas.lifecycle import Lifecycle
from lazarus.schemas.models import BUILTIN as CONTRACTS
from lazarus.schemas.models import HABITAT, HABITAT_SITES, VIABILITY, load_factory
from lazarus.schemas.models import ON_REQUEST as CONTRACTS_ON_REQUEST
from lazarus.schemas.outcomes import OutcomeKind
from lazarus.schemas.per_key import PerKey
from lazarus.schemas.specfile import is_spec_file
from lazarus.schemas.topics import Topic

__all__ = ["BUILTIN", "MetricFactory", "ModelSpec", "Task", "habitat", "load_spec", "viability"]


@dataclass(frozen=True)
class ModelSpec:
    """The trainer's recipe for one model; raises `ConfigError` for an impossible one."""

    contract: ModelContract
    pipeline: Callable[[], Any]
    """A fresh river estimator (usually a pipeline)."""
    metrics: tuple[MetricFactory, ...] = ()
    """Fresh prequential metrics, one per name in `contract.metrics` and in that order;
    empty means the river metrics of those names (`metric_factory`)."""
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

    def __post_init__(self) -> None:
        for name in ("snapshot_every", "max_pending", "window", "keep_joined"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model spec {self.name!r}: {name} must be at least 1")
        if not self.metrics:
            factories = tuple(metric_factory(m) for m in self.contract.metrics)
            object.__setattr__(self, "metrics", factories)
        built = tuple(type(f()).__name__ for f in self.metrics)
        named = tuple(type(metric_factory(m)()).__name__ for m in self.contract.metrics)
        if built != named:
            raise ConfigError(
                f"model spec {self.name!r}: its metrics build {', '.join(built)}, "
                f"its contract names {', '.join(named)}"
            )

    def replace(self, **changes: Any) -> ModelSpec:
        """This spec with some fields changed, contract fields included
        (`spec.replace(name="flaky", snapshot_every=100)`)."""
        ours = {f.name for f in dataclasses.fields(self)}
        contract = {k: v for k, v in changes.items() if k not in ours}
        recipe = {k: v for k, v in changes.items() if k in ours}
        if contract:
            recipe["contract"] = dataclasses.replace(self.contract, **contract)
        return dataclasses.replace(self, **recipe)

    # The contract's fields, read through: the trainer reads a spec as it always has.
    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def inputs(self) -> tuple[Topic[Any], ...]:
        return self.contract.inputs

    @property
    def outcomes(self) -> Topic[Any]:
        return self.contract.outcomes

    @property
    def outcome_kind(self) -> OutcomeKind:
        return self.contract.outcome_kind

    @property
    def segment_fields(self) -> tuple[str, ...]:
        return self.contract.segment_fields

    @property
    def task(self) -> Task:
        return self.contract.task

    @property
    def join_key(self) -> str:
        return self.contract.join_key

    @property
    def scores(self) -> Topic[Any] | None:
        return self.contract.scores

    @property
    def classes(self) -> tuple[Any, ...] | None:
        return self.contract.classes

    @property
    def label_classes(self) -> tuple[Any, ...] | None:
        return self.contract.label_classes

    @property
    def max_clock_skew_s(self) -> float:
        return self.contract.max_clock_skew_s

    @property
    def min_learned(self) -> int:
        return self.contract.min_learned

    @property
    def fingerprint(self) -> str:
        return self.contract.fingerprint

    @property
    def description(self) -> str:
        return self.contract.description

    @property
    def lifecycle(self) -> Lifecycle:
        return self.contract.lifecycle

    @property
    def per_key(self) -> PerKey | None:
        return self.contract.per_key


def habitat() -> ModelSpec:
    return ModelSpec(
        contract=HABITAT,
        pipeline=lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(),
        metrics=(metrics.Accuracy, metrics.LogLoss),
    )


def viability() -> ModelSpec:
    # Viability follows a few assay metrics with thresholds and interactions, and its truth
    # drifts (a new editing protocol): an adaptive Hoeffding tree replaces subtrees when its
    # ADWIN detectors see the error change. Scaled inputs keep its Gaussian splitters well-posed.
    return ModelSpec(
        contract=VIABILITY,
        pipeline=lambda: (
            preprocessing.StandardScaler()
            | tree.HoeffdingAdaptiveTreeClassifier(grace_period=100, seed=42)
        ),
        metrics=(metrics.Accuracy, metrics.LogLoss),
        snapshot_every=1000,
    )


def habitat_sites() -> ModelSpec:
    # One logistic regression per site (sites differ: each has its own occupancy base rate),
    # with a pooled fallback per shard for sites that have learned fewer than 50 events.
    return ModelSpec(
        contract=HABITAT_SITES,
        pipeline=lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(),
        metrics=(metrics.Accuracy, metrics.LogLoss),
    )


BUILTIN: dict[str, Callable[[], ModelSpec]] = {
    "habitat": habitat,
    "viability": viability,
    "habitat_sites": habitat_sites,
}
assert BUILTIN.keys() == CONTRACTS.keys() | CONTRACTS_ON_REQUEST.keys(), (
    "every built-in contract has its recipe"
)


def load_spec(name: str) -> ModelSpec:
    """A built-in spec by name, a model spec file's (a path ending in .toml,
    `lazarus.trainer.specfile`), or what `module:factory()` returns (a `ModelSpec`).
    Raises `ConfigError` when none gives one (`SpecFileError` for a bad spec file)."""
    if name in BUILTIN:
        return BUILTIN[name]()
    if is_spec_file(name):
        from lazarus.trainer.specfile import spec_from_file  # it builds on ModelSpec

        return spec_from_file(name)
    spec = load_factory(name, "ModelSpec")
    if not isinstance(spec, ModelSpec):
        raise ConfigError(f"{name} returned {type(spec).__name__}, not a ModelSpec")
    return spec
