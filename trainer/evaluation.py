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
    """Every metric of the spec overall; the first (primary) one also per segment and rolling.

    Per-segment and rolling copies of every metric would triple the cost of evaluation,
    which is on the hot path of every labelled event.
    """

    factories: tuple[MetricFactory, ...]
    segment_fields: tuple[str, ...]
    window: int
    overall: dict[str, metrics.base.Metric] = field(default_factory=dict)
    rolling: dict[str, Any] = field(default_factory=dict)
    segments: dict[str, dict[str, dict[str, metrics.base.Metric]]] = field(default_factory=dict)
    _plan: list[tuple[metrics.base.Metric, bool]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.overall:
            for make in self.factories:
                m = make()
                self.overall[type(m).__name__] = m
            primary = self.factories[0]
            self.rolling[type(primary()).__name__] = utils.Rolling(primary, window_size=self.window)
            self.segments = {f: {} for f in self.segment_fields}
        self._plan = [(m, _needs_labels(m)) for m in self.overall.values()]
        self._primary_labels = _needs_labels(next(iter(self.overall.values())))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_plan", None)  # derived: rebuilt on load
        state.pop("_primary_labels", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def update(
        self, y: Any, y_proba: dict[Any, float] | None, y_pred: Any, segment: tuple[str, ...]
    ) -> None:
        has_proba = y_proba is not None
        for m, labels in self._plan:
            m.update(y, y_pred if labels or not has_proba else y_proba)
        primary_target = y_pred if self._primary_labels or not has_proba else y_proba
        for r in self.rolling.values():
            r.update(y, primary_target)
        for field_name, value in zip(self.segment_fields, segment, strict=True):
            per_value = self.segments[field_name]
            group = per_value.get(value)
            if group is None:
                if len(per_value) >= MAX_SEGMENTS:
                    value = "(other)"
                group = per_value.setdefault(value, {n: self.factories[0]() for n in self.rolling})
            for m in group.values():
                m.update(y, primary_target)

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
