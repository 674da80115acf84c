"""The pure core of the quality monitor: pair each served score with the trainer's own
test-then-train prediction for the same event (which carries the label), and keep, per model
version that served it and over all versions, the served metric against the prequential metric
on exactly those events, and how much worse serving is (`served_worse_by`, the decoupling cost).

Only honest scores count: a score is honest when the version that served it had not learned
its input event yet (`verdict`). A scorer that starts after the first snapshot works through a
backlog its version has already read; those scores are counted apart (`learned_before_served`),
as are scores whose trainer record gives no input position (`position_unknown`). The stored
format, and the sign of the cost, are spelled out in `lazarus.quality_store`.

Either half may arrive first (a scorer can lag behind the trainer, or the other way round):
each waits in a bounded buffer for the other. Duplicates (at-least-once delivery, a trainer's
replay) are recognised by input event id and counted once. A score topic carries one model, so
the input id is as good as the score id (`score_id(input_event_id, model)`), and, as
docs/events.md prescribes for every consumer, the first score of an input wins, even when a
rescore after a crash came from a newer version.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from river import metrics as rmetrics

from lazarus.schemas.prequential import InputPosition

if TYPE_CHECKING:
    from lazarus.quality_store import Figures, ModelQuality, Report, VersionQuality

MetricFactory = Callable[[], rmetrics.base.Metric]
Verdict = Literal["honest", "learned_before_served", "position_unknown"]


def verdict(trained_through: Mapping[str, int], position: InputPosition | None) -> Verdict:
    """Whether a score by a version with these `trained_through` offsets ('topic:partition' ->
    next offset to read) may judge served quality, for the input event at `position`: honest
    when the version had not read it (a partition it never read counts as not read).

    >>> verdict({"t:0": 10}, ("t", 0, 10)), verdict({"t:0": 10}, ("t", 0, 9))
    ('honest', 'learned_before_served')
    >>> verdict({"t:0": 10}, ("t", 1, 3)), verdict({"t:0": 10}, None)
    ('honest', 'position_unknown')
    """
    if position is None:
        return "position_unknown"
    topic, partition, offset = position
    if trained_through.get(f"{topic}:{partition}", 0) > offset:
        return "learned_before_served"
    return "honest"


@dataclass
class Served:
    version: int
    prediction: Any
    probabilities: dict[Any, float] | None
    trained_through: Mapping[str, int]
    """The serving version's next offsets to read, 'topic:partition' -> offset."""


@dataclass
class Judged:
    label: Any
    prediction: Any
    probabilities: dict[Any, float] | None
    segment: dict[str, str]
    position: InputPosition | None
    """The input event's (topic, partition, offset); None from a trainer that did not say."""


@dataclass
class Pair:
    """Served and prequential metrics over the same (honest) events."""

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

    def report(self) -> Figures:
        """`n`, and per metric the served and prequential values and `served_worse_by`."""
        names = [type(m).__name__ for m in self.served]
        served = {name: self._value(m) for name, m in zip(names, self.served, strict=True)}
        preq = {type(m).__name__: self._value(m) for m in self.prequential}
        worse = {
            name: served_worse_by(m, served[name], preq.get(name))
            for name, m in zip(names, self.served, strict=True)
        }
        return {"n": self.n, "served": served, "prequential": preq, "served_worse_by": worse}

    def _value(self, metric: rmetrics.base.Metric) -> float | None:
        """A metric's value, None before any honest event (river reports 0.0 there)."""
        if self.n == 0:
            return None
        try:
            v = float(metric.get())
        except (TypeError, ValueError, ZeroDivisionError):
            return None
        return v if v == v else None


def served_worse_by(
    metric: rmetrics.base.Metric, served: float | None, prequential: float | None
) -> float | None:
    """How much worse served is than prequential, in `metric`'s unit: positive when serving
    loses, for every metric (None when either is unknown, or the metric does not say which
    way is better).

    >>> round(served_worse_by(rmetrics.Accuracy(), 0.90, 0.92), 6)  # 2 points less accurate
    0.02
    >>> served_worse_by(rmetrics.MAE(), 1.5, 1.0)  # half a unit further off
    0.5
    """
    better = getattr(metric, "bigger_is_better", None)
    if served is None or prequential is None or not isinstance(better, bool):
        return None
    return prequential - served if better else served - prequential


@dataclass
class Tally:
    """Judged scores of one version, or of the model: honest ones in `pair`, the rest counted."""

    pair: Pair
    learned_before_served: int = 0
    position_unknown: int = 0

    def count(self, verdict_: Verdict) -> None:
        if verdict_ == "learned_before_served":
            self.learned_before_served += 1
        elif verdict_ == "position_unknown":
            self.position_unknown += 1

    @property
    def judged(self) -> int:
        """Every paired score: honest + learned before served + position unknown."""
        return self.pair.n + self.learned_before_served + self.position_unknown

    def report(self, updated_at: float) -> Report:
        return {
            **self.pair.report(),
            "learned_before_served": self.learned_before_served,
            "position_unknown": self.position_unknown,
            "updated_at": updated_at,
        }


@dataclass
class QualityJoin:
    metrics: tuple[MetricFactory, ...]
    max_waiting: int = 200_000
    served: OrderedDict[str, Served] = field(default_factory=OrderedDict)
    judged: OrderedDict[str, Judged] = field(default_factory=OrderedDict)
    done: OrderedDict[str, None] = field(default_factory=OrderedDict)
    by_version: dict[int, Tally] = field(default_factory=dict)
    by_segment: dict[tuple[int, str, str], Pair] = field(default_factory=dict)
    overall: Tally = field(init=False)
    duplicates: int = 0
    dropped: int = 0

    def __post_init__(self) -> None:
        self.overall = Tally(self._fresh())

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
        tally = self.by_version.get(served.version)
        if tally is None:
            tally = self.by_version[served.version] = Tally(self._fresh())
        said = verdict(served.trained_through, judged.position)
        if said != "honest":
            tally.count(said)
            self.overall.count(said)
            return
        tally.pair.update(judged.label, served, judged)
        self.overall.pair.update(judged.label, served, judged)
        for field_, value in judged.segment.items():
            key = (served.version, field_, value)
            pair = self.by_segment.get(key)
            if pair is None:
                pair = self.by_segment[key] = self._fresh()
            pair.update(judged.label, served, judged)

    def _fresh(self) -> Pair:
        return Pair([m() for m in self.metrics], [m() for m in self.metrics])

    def rows(self, updated_at: float = 0.0) -> list[VersionQuality]:
        """One row per served version, in quality_store's format; `updated_at` in epoch s."""
        out: list[VersionQuality] = []
        for version, tally in sorted(self.by_version.items()):
            segments: dict[str, Figures] = {
                f"{field_}={value}": seg.report()
                for (v, field_, value), seg in self.by_segment.items()
                if v == version
            }
            out.append({"version": version, **tally.report(updated_at), "segments": segments})
        return out

    def summary(self, updated_at: float = 0.0) -> ModelQuality:
        """The model over every version, in quality_store's format (one metric fed every honest
        score, so each version weighs by its honest scores)."""
        return {**self.overall.report(updated_at), "versions": sorted(self.by_version)}
