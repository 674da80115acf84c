"""Prequential metrics by the names a model contract gives them (`ModelContract.metrics`).

The trainer keeps them and the quality monitor keeps them again over served scores, so
both build them here from the contract's names.
"""

from __future__ import annotations

from collections.abc import Callable

from river import metrics

from lazarus.errors import ConfigError
from lazarus.schemas.models import load_attr

MetricFactory = Callable[[], metrics.base.Metric]


def metric_factory(name: str) -> MetricFactory:
    """The factory of the metric `name`: `river.metrics.<name>` ("Accuracy"), or for
    `module:factory` that factory (called with no argument for each fresh metric).
    Raises `ConfigError` for a name neither resolves.

    >>> metric_factory("LogLoss")()
    LogLoss: 0.
    """
    if ":" in name:
        return load_attr(name, "metric")  # type: ignore[return-value]
    factory = getattr(metrics, name, None)
    if not (isinstance(factory, type) and issubclass(factory, metrics.base.Metric)):
        raise ConfigError(f"{name!r} is not a river metric: name it module:factory")
    return factory
