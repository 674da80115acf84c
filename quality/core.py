"""The pure core of the quality monitor: pair each served score with the trainer's own
test-then-train prediction for the same event (which carries the label), and keep, per model
version that served it, the served metric against the prequential metric on exactly those
events: their difference is the decoupling cost.

Either half may arrive first (a scorer can lag behind the trainer, or the other way round):
each waits in a bounded buffer for the other. Duplicates (at-least-once delivery, a trainer's
replay) are recognised by input event id and counted once. A score topic carries one model, so
the input id is as good as the score id (`score_id(input_event_id, model)`), and, as
docs/events.md prescribes for every consumer, the first score of an input wins, even when a
rescore after a crash came from a newer version.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from river import metrics as rmetrics

MetricFactory = Callable[[], rmetrics.base.Metric]


@dataclass
class Served:
    version: int
    prediction: Any
    probabilities: dict[Any, float] | None


@dataclass
class Judged:
    label: Any
    prediction: Any
    probabilities: dict[Any, float] | None
    segment: dict[str, str]


def _key(cls: str) -> Any:
    """Class labels travel as strings in JSON ("True"); metrics need the real value back."""
    return {"True": True, "False": False}.get(cls, cls)


def classes(probabilities: dict[str, float] | None) -> dict[Any, float] | None:
    return None if probabilities is None else {_key(k): v for k, v in probabilities.items()}


@dataclass
class Pair:
    """Served and prequential metrics over the same events."""

    served: list[rmetrics.base.Metric]
    prequential: list[rmetrics.base.Metric]
    n: int = 0

    def update(self, label: Any, served: Served, judged: Judged) -> None:
        self.n += 1
        for metric, pred, proba in (
            *((m, served.prediction, served.probabilities) for m in self.served),
            *((m, judged.prediction, judged.probabilities) for m in self.prequential),
        ):
            if getattr(metric, "requires_labels", True):
                if pred is not None:
                    metric.update(label, pred)
            elif proba:
                metric.update(label, proba)

    def report(self) -> dict[str, Any]:
        served = {type(m).__name__: _value(m) for m in self.served}
        preq = {type(m).__name__: _value(m) for m in self.prequential}
        cost: dict[str, float | None] = {}
        for name, s in served.items():
            p = preq.get(name)
            cost[name] = s - p if s is not None and p is not None else None
        return {"n": self.n, "served": served, "prequential": preq, "cost": cost}


def _value(metric: rmetrics.base.Metric) -> float | None:
    try:
        v = float(metric.get())
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return v if v == v else None


@dataclass
class QualityJoin:
    metrics: tuple[MetricFactory, ...]
    max_waiting: int = 200_000
    served: OrderedDict[str, Served] = field(default_factory=OrderedDict)
    judged: OrderedDict[str, Judged] = field(default_factory=OrderedDict)
    done: OrderedDict[str, None] = field(default_factory=OrderedDict)
    by_version: dict[int, Pair] = field(default_factory=dict)
    by_segment: dict[tuple[int, str, str], Pair] = field(default_factory=dict)
    duplicates: int = 0
    dropped: int = 0

    def add_served(self, input_id: str, served: Served) -> None:
        judged = self._arrive(input_id, served, self.served, self.judged)
        if judged is not None:
            self._pair(input_id, served, judged)

    def add_judged(self, input_id: str, judged: Judged) -> None:
        served = self._arrive(input_id, judged, self.judged, self.served)
        if served is not None:
            self._pair(input_id, served, judged)

    def _arrive(
        self, input_id: str, value: Any, mine: OrderedDict[str, Any], theirs: OrderedDict[str, Any]
    ) -> Any:
        """The other half if it is waiting (taken out); else `value` waits in `mine`."""
        if input_id in self.done:
            self.duplicates += 1
            return None
        other = theirs.pop(input_id, None)
        if other is None:
            self._hold(mine, input_id, value)
        return other

    def _hold(self, buffer: OrderedDict[str, Any], key: str, value: Any) -> None:
        if key in buffer:
            self.duplicates += 1
            return
        buffer[key] = value
        if len(buffer) > self.max_waiting:
            buffer.popitem(last=False)
            self.dropped += 1

    def _pair(self, input_id: str, served: Served, judged: Judged) -> None:
        self.done[input_id] = None
        if len(self.done) > self.max_waiting:
            self.done.popitem(last=False)
        self._pair_of(served.version).update(judged.label, served, judged)
        for field_, value in judged.segment.items():
            key = (served.version, field_, value)
            pair = self.by_segment.get(key)
            if pair is None:
                pair = self.by_segment[key] = self._fresh()
            pair.update(judged.label, served, judged)

    def _pair_of(self, version: int) -> Pair:
        pair = self.by_version.get(version)
        if pair is None:
            pair = self.by_version[version] = self._fresh()
        return pair

    def _fresh(self) -> Pair:
        return Pair([m() for m in self.metrics], [m() for m in self.metrics])

    def rows(self) -> list[dict[str, Any]]:
        """One row per served version, in quality_store's format."""
        out = []
        for version, pair in sorted(self.by_version.items()):
            segments: dict[str, dict[str, Any]] = {}
            for (v, field_, value), seg in self.by_segment.items():
                if v == version:
                    segments[f"{field_}={value}"] = seg.report()
            out.append({"version": version, **pair.report(), "segments": segments})
        return out
