"""Prequential (test-then-train) metrics: overall, over a rolling window, and per segment."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from river import metrics, utils

MetricFactory = Callable[[], metrics.base.Metric]
MAX_SEGMENTS = 1000
"""Per-segment metrics stop growing here; later segments are counted under '(other)'."""


def _value(metric: metrics.base.Metric) -> float | None:
    value = metric.get()
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _needs_labels(metric: metrics.base.Metric) -> bool:
    """Classification metrics that take labels (Accuracy) rather than probabilities (LogLoss)."""
    return bool(getattr(metric, "requires_labels", True))


@dataclass
class Prequential:
    factories: tuple[MetricFactory, ...]
    segment_fields: tuple[str, ...]
    window: int
    overall: dict[str, metrics.base.Metric] = field(default_factory=dict)
    rolling: dict[str, Any] = field(default_factory=dict)
    segments: dict[str, dict[str, dict[str, metrics.base.Metric]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.overall:
            for make in self.factories:
                m = make()
                name = type(m).__name__
                self.overall[name] = m
                self.rolling[name] = utils.Rolling(make, window_size=self.window)
            self.segments = {f: {} for f in self.segment_fields}

    def update(
        self, y: Any, y_proba: dict[Any, float] | None, y_pred: Any, segment: tuple[str, ...]
    ) -> None:
        for name, m in self.overall.items():
            target = y_proba if y_proba is not None and not _needs_labels(m) else y_pred
            m.update(y, target)
            self.rolling[name].update(y, target)
        for field_name, value in zip(self.segment_fields, segment, strict=True):
            per_value = self.segments[field_name]
            group = per_value.get(value)
            if group is None:
                if len(per_value) >= MAX_SEGMENTS:
                    value = "(other)"
                group = per_value.setdefault(value, {n: type(m)() for n, m in self.overall.items()})
            for m in group.values():
                m.update(y, y_proba if y_proba is not None and not _needs_labels(m) else y_pred)

    def report(self) -> dict[str, dict[str, float | None]]:
        return {
            "overall": {n: _value(m) for n, m in self.overall.items()},
            "rolling": {n: _value(m) for n, m in self.rolling.items()},
        }

    def segment_report(self) -> dict[str, dict[str, dict[str, float | None]]]:
        return {
            f: {v: {n: _value(m) for n, m in group.items()} for v, group in per_value.items()}
            for f, per_value in self.segments.items()
        }
