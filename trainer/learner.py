"""The trainer's pure core: join features with outcomes, predict, score, then learn.

Everything a snapshot must restore lives in `LearnerState` (model, join
buffer, metrics, counters, trained-through offsets). No I/O here: rows in
(`trainer.rows`), `Joined` or `ModelFailure` out, deterministic for a given order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.base import Event
from schemas.outcomes import Outcome
from trainer.evaluation import Prequential
from trainer.join import Joined, PendingJoin
from trainer.rows import RowMaker
from trainer.specs import ModelSpec


@dataclass(frozen=True)
class ModelFailure:
    """The model raised on these features: they go to the dead-letter topic, training goes on."""

    joined: Joined
    error: Exception


@dataclass
class LearnerState:
    model: Any
    join: PendingJoin
    evaluation: Prequential
    n_learned: int = 0
    invalid_events: int = 0
    model_failures: int = 0
    ignored_outcomes: int = 0
    """Outcomes of another kind on the outcome topic (not ours to learn)."""
    offsets: dict[str, int] = field(default_factory=dict)
    """'topic:partition' -> next offset to read."""


class Learner:
    def __init__(self, spec: ModelSpec, state: LearnerState | None = None) -> None:
        self.spec = spec
        self.state = state or LearnerState(
            model=spec.pipeline(),
            join=PendingJoin(int(spec.pending_ttl_s * 1000), spec.max_pending, spec.keep_joined),
            evaluation=Prequential(spec.metrics, spec.segment_fields, spec.window),
        )
        self._classify = spec.task == "classification"
        self._kind = spec.outcome_kind.value
        self.rows = RowMaker(spec.join_key, spec.segment_fields)
        self._offset_keys: dict[tuple[str, int], str] = {}
        self.last_prediction: tuple[Any, dict[Any, float] | None] = (None, None)
        """(prediction, probabilities) of the last test-then-train, before it learned."""

    def advance(self, topic: str, partition: int, offset: int) -> None:
        """Record that this message is done (learned, held, or dead-lettered)."""
        key = self._offset_keys.get((topic, partition))
        if key is None:
            key = self._offset_keys[(topic, partition)] = f"{topic}:{partition}"
        self.state.offsets[key] = offset + 1

    def hold(
        self,
        join_key: str,
        subject: str,
        time_ms: int,
        x: dict[str, float],
        segment: tuple[str, ...],
        origin: int,
    ) -> None:
        """Features (a `FeatureRow` and where it came from) wait for their outcome."""
        self.state.join.add(join_key, subject, time_ms, x, segment, origin)

    def label(
        self, kind: str, ref: str | None, subject: str, time_ms: int, y: Any
    ) -> Joined | ModelFailure | None:
        """Test-then-train on the features a `LabelRow` labels; None when it labels nothing pending."""
        if kind != self._kind:
            self.state.ignored_outcomes += 1
            return None
        joined = self.state.join.match(ref, subject, time_ms)
        if joined is None:
            return None
        try:
            self._test_then_train(joined, y)
        except Exception as exc:  # a model that raises must not stop training on the rest
            self.state.model_failures += 1
            return ModelFailure(joined, exc)
        return joined

    def observe_features(self, event: Event, origin: int) -> None:
        self.hold(*self.rows.features(event), origin)

    def observe_outcome(self, outcome: Outcome) -> Joined | ModelFailure | None:
        return self.label(*self.rows.label(outcome))

    def _test_then_train(self, joined: Joined, y: Any) -> None:
        model, x = self.state.model, joined.x
        if self._classify:
            proba = model.predict_proba_one(x)
            if proba:  # a model with no opinion yet (an empty tree) is not scored
                y_pred = max(proba, key=proba.__getitem__)
                self.state.evaluation.update(y, proba, y_pred, joined.segment)
                self.last_prediction = (y_pred, proba)
            else:
                self.last_prediction = (None, None)
        else:
            y_pred = model.predict_one(x)
            self.state.evaluation.update(y, None, y_pred, joined.segment)
            self.last_prediction = (y_pred, None)
        model.learn_one(x, y)
        self.state.n_learned += 1
