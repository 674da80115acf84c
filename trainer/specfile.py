"""The trainer's recipe from a model spec file: its river pipeline, metrics and cadence.

`spec_from_file("survey.toml")` reads the file (`lazarus.schemas.specfile`), checks the
estimator and its parameters against the catalogue (`lazarus.trainer.catalogue`) and the
metrics against the task, and returns the `ModelSpec`, whose contract is the file's, the very
one `load_contract("survey.toml")` gives scorers (same fingerprint). Every error is the spec
file's one line naming the key (`SpecFileError`).

The pipeline (`TabularPipeline`): numeric columns (and time features) scaled, categorical
columns one-hot encoded, side by side, then the estimator:

    (SelectType(float) | StandardScaler()) + (SelectType(str) | OneHotEncoder()) | estimator

A record holds exactly its columns, numeric ones as floats and categorical ones as strings
(`lazarus.schemas.records`), so selecting by type selects the declared columns. river's
`compose.Select` would not do: it raises KeyError for a missing cell, and iterates its keys
as a set (an order that follows the process's hash seed).

A missing value is an absent feature: the scaler and the encoder pass it over, a linear model
adds nothing for it (the column's mean, once scaled). A category never seen before becomes a
feature of its own. With only numeric columns it is `StandardScaler() | estimator`, which
scorers serve as one folded dot product for a logistic regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from river import compose, metrics, preprocessing

from lazarus.errors import ConfigError
from lazarus.metric_factories import MetricFactory, metric_factory
from lazarus.schemas.records import TIME_FEATURES
from lazarus.schemas.specfile import SpecFile, read_spec_file
from lazarus.schemas.tabular import DEFAULT_METRICS, TaskKind
from lazarus.trainer import catalogue
from lazarus.trainer.onehot import OneHotEncoder
from lazarus.trainer.specs import ModelSpec


@dataclass(frozen=True)
class TabularPipeline:
    """Builds a fresh river pipeline for a spec file's columns and estimator (each call a new,
    untrained one)."""

    task: TaskKind
    estimator: str
    params: tuple[tuple[str, Any], ...]
    numeric: tuple[str, ...]
    """Numeric columns, then the time features if the spec asks for them."""
    categorical: tuple[str, ...]
    scale: bool

    def __call__(self) -> Any:
        model = catalogue.make_estimator(self.task, self.estimator, dict(self.params))
        numeric: Any = preprocessing.StandardScaler() if self.scale else None
        if not self.categorical:
            return model if numeric is None else numeric | model
        onehot = OneHotEncoder()
        if not self.numeric:
            return onehot | model
        selected = compose.SelectType(float)
        numeric = selected if numeric is None else selected | numeric
        return (numeric + (compose.SelectType(str) | onehot)) | model


def spec_from_file(path: Path | str) -> ModelSpec:
    """The `ModelSpec` of the spec file at `path`; `SpecFileError` when it is wrong."""
    return spec_from(read_spec_file(path))


def spec_from(spec: SpecFile) -> ModelSpec:
    """The `ModelSpec` of a spec file already read; `SpecFileError` for an estimator or a
    parameter the catalogue refuses, or a metric that is not river's or not for the task."""
    recipe, data = spec.recipe, spec.data
    problem = catalogue.problem(spec.task, recipe.estimator, recipe.params)
    if problem is not None:
        if problem.key == "estimator":
            raise spec.error("pipeline", "estimator", problem.message)
        raise spec.error("pipeline.params", problem.key or None, problem.message)
    numeric = tuple(c.name for c in data.columns if c.kind == "numeric")
    pipeline = TabularPipeline(
        task=spec.task,
        estimator=recipe.estimator,
        params=tuple(recipe.params.items()),
        numeric=numeric + (TIME_FEATURES if data.time_features else ()),
        categorical=tuple(c.name for c in data.columns if c.kind == "categorical"),
        scale=recipe.scale,
    )
    try:
        pipeline()
    except Exception as exc:  # the catalogue built the estimator; this would be our bug
        raise spec.error("pipeline", None, f"the pipeline does not build: {exc}") from exc
    return ModelSpec(
        contract=spec.contract,
        pipeline=pipeline,
        metrics=tuple(_metric(spec, name) for name in recipe.metrics),
        snapshot_every=recipe.snapshot_every,
        snapshot_seconds=recipe.snapshot_seconds,
        pending_ttl_s=recipe.label_wait_days * 86400.0,
    )


def _metric(spec: SpecFile, name: str) -> MetricFactory:
    """The factory of metric `name`, checked to judge the spec's task."""
    try:
        factory = metric_factory(name)
        metric = factory()
    except ConfigError as exc:
        raise spec.error("training", "metrics", str(exc)) from None
    except Exception as exc:
        raise spec.error("training", "metrics", f"{name}() raised {exc!r}") from None
    if not _judges(spec.task, metric):
        raise spec.error(
            "training",
            "metrics",
            f"{name} does not judge a {spec.task} task "
            f"(for instance: {', '.join(DEFAULT_METRICS[spec.task])})",
        )
    return factory


def _judges(task: TaskKind, metric: Any) -> bool:
    """river's metric families: regression metrics judge regressions; binary metrics
    (LogLoss, F1, ROCAUC) two classes; multi-class ones (Accuracy, CrossEntropy) any number."""
    if task == "regression":
        return isinstance(metric, metrics.base.RegressionMetric)
    if task == "binary":
        return isinstance(metric, metrics.base.ClassificationMetric)
    return isinstance(metric, metrics.base.MultiClassMetric)
