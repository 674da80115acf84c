"""The trainer's pure core: join features with outcomes, predict, score, then learn.

Everything a snapshot must restore lives in `LearnerState` (model, join
buffer, metrics, counters, trained-through offsets). No I/O here: rows in
(`trainer.rows`), `Joined` or `ModelFailure` out, deterministic for a given order.

No event can leave the model non-finite. Every `CHECKPOINT_EVERY` learned
events the model is walked (`trainer.finite`) and, when every number in it is
finite, kept as a checkpoint. A non-finite prediction, a model that raises while
learning, or a non-finite walk sends the learner back to the last checkpoint;
it then learns the events since again, walking after each, and leaves out (and
reports as `ModelFailure`) each event after which the model was not finite.
The result does not depend on where checkpoints fall: a replay after a crash
leaves out the same events.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

from lazarus.errors import LazarusError
from lazarus.registry.canonical import canonical_dumps
from lazarus.schemas.base import Event
from lazarus.schemas.outcomes import Outcome
from lazarus.trainer.drift import DriftWatch
from lazarus.trainer.evaluation import Prequential
from lazarus.trainer.finite import first_nonfinite
from lazarus.trainer.folded import FoldedStep, folded_step
from lazarus.trainer.join import Joined, PendingJoin
from lazarus.trainer.lifecycle import DriftReport, FreshLine, response
from lazarus.trainer.rows import RowMaker
from lazarus.trainer.specs import ModelSpec

CHECKPOINT_EVERY = 5000
"""Learned events between two verified checkpoints: what a repair may have to learn again.
A checkpoint (walk, canonical round trip, pickling the model, metrics and drift windows) cost
about 2.4 ms for `habitat`: 2.4 us per learned event at 1,000 (#20), 0.5 us at 5,000."""


class NonFiniteModel(LazarusError):
    """Learning from an event left a NaN or infinity in the model, or it predicted one."""


@dataclass(frozen=True)
class ModelFailure:
    """The model raised on these features: they go to the dead-letter topic, training goes on."""

    joined: Joined
    error: Exception
    learned_partly: bool = False
    """learn_one raised after it may have changed the model (the learner rolls it back)."""
    label: Any = None
    """The outcome's label, to test the event again after a repair."""


@dataclass
class LearnerState:
    model: Any
    join: PendingJoin
    evaluation: Prequential
    n_learned: int = 0
    invalid_events: int = 0
    model_failures: int = 0
    """Events left out: the model raised on them, or they made it non-finite."""
    ignored_outcomes: int = 0
    """Outcomes of another kind on the outcome topic (not ours to learn)."""
    offsets: dict[str, int] = field(default_factory=dict)
    """'topic:partition' -> next offset to read."""
    drift: DriftWatch | None = None
    """The drift detectors (`trainer.drift`); None in a state saved before they existed."""
    fresh: FreshLine | None = None
    """The drift-born challenger (`trainer.lifecycle`), once a drift started one."""
    reset_base: int = 0
    """`n_learned` when the main model last started afresh (a drift's `reset`): the model
    itself learned `n_learned - reset_base` events, which `min_learned` counts."""
    resets: int = 0


class Learner:
    checkpoint_every: int | None = None
    """Learned events between two verified checkpoints; None: `CHECKPOINT_EVERY`
    (`KeyedLearner` spaces them wider)."""

    def __init__(self, spec: ModelSpec, state: LearnerState | None = None) -> None:
        self.spec = spec
        self.state = state or LearnerState(
            model=spec.pipeline(),
            join=PendingJoin(int(spec.pending_ttl_s * 1000), spec.max_pending, spec.keep_joined),
            evaluation=Prequential(spec.metrics, spec.segment_fields, spec.window),
        )
        if self.state.drift is None:
            self.state.drift = DriftWatch(spec.lifecycle.drift)
        self._action = spec.lifecycle.drift.action
        self.fresh_is_champion = False
        """Set by the trainer app from the lineup: a drift then restarts the main line."""
        self.drift_reports: list[DriftReport] = []
        """Drifts detected since the caller last took them (`take_drift_reports`)."""
        self._classify = spec.task == "classification"
        self._kind = spec.outcome_kind.value
        self.rows = RowMaker.for_spec(spec)
        self._offset_keys: dict[tuple[str, int], str] = {}
        self.last_prediction: tuple[Any, dict[Any, float] | None] = (None, None)
        """(prediction, probabilities) of the last test-then-train, before it learned."""
        self.failures: list[ModelFailure] = []
        """Events left out while repairing (learned earlier, then found to poison the model):
        the caller dead-letters them and clears the list."""
        self.repairs = 0
        self._checkpoint = b""
        self._since: list[tuple[Joined, Any]] = []
        """(joined, label) learned since the checkpoint, in order."""
        self._fold_model: Any = None
        self._fold: FoldedStep | None = None
        """`trainer.folded`'s one-pass step for `_fold_model`, or None (river's calls)."""
        self.checkpoint()

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
    ) -> tuple[Joined | ModelFailure, Any] | None:
        """Features (a `FeatureRow` and where it came from) wait for their outcome; if it came
        first, they are learned now: returns (what `label` would, the outcome's label)."""
        waiting = self.state.join.add(join_key, subject, time_ms, x, segment, origin)
        if waiting is None:
            return None
        joined, y = waiting
        return self._learn(joined, y), y

    def label(
        self, kind: str, ref: str | None, subject: str, time_ms: int, y: Any
    ) -> Joined | ModelFailure | None:
        """Test-then-train on the features a `LabelRow` labels; None when they have not come
        (the outcome waits for them) or the outcome is not this model's."""
        if kind != self._kind:
            self.state.ignored_outcomes += 1
            return None
        joined = self.state.join.match(ref, subject, time_ms, y)
        if joined is None:
            return None
        return self._learn(joined, y)

    def observe_features(
        self, event: Event, origin: int
    ) -> tuple[Joined | ModelFailure, Any] | None:
        return self.hold(*self.rows.features(event), origin)

    def observe_outcome(self, outcome: Outcome) -> Joined | ModelFailure | None:
        return self.label(*self.rows.label(outcome))

    # -- checkpoints -------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Verify the model is finite and keep it as the state to go back to (repairing first
        if it is not). Called every `CHECKPOINT_EVERY` events and before every snapshot."""
        bad = first_nonfinite(self.state.model)
        if bad is not None:
            if not self._checkpoint:
                raise NonFiniteModel(
                    f"the restored {self.spec.name} model is not finite ({bad}): rebuild it with "
                    f"`lazarus train {self.spec.name} --from-beginning`"
                )
            self._repair()
            return
        s = self.state
        # Go on from the model as a snapshot holds it (canonical: sets in sorted order), so a
        # trainer restarted from this checkpoint's snapshot learns exactly as this one goes on
        # to (a tree's choices can depend on the order it walks a set of string classes).
        s.model = pickle.loads(canonical_dumps(s.model))
        self._checkpoint = pickle.dumps(
            (s.model, s.evaluation, s.n_learned, s.drift, s.fresh, s.reset_base, s.resets),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        self._since = []

    def _restore(self, events: list[tuple[Joined, Any]] | None = None) -> None:
        """Back to the checkpoint, then learn `events` again (known to learn cleanly from it)."""
        s = self.state
        (s.model, s.evaluation, s.n_learned, s.drift, s.fresh, s.reset_base, s.resets) = (
            pickle.loads(self._checkpoint)
        )
        for joined, y in events or ():
            self._test_then_train(joined, y)

    def _repair(self) -> None:
        """Back to the checkpoint; learn the events since again, leaving out each after which
        the model is not finite or on which it now fails (they join `failures`). Ends with a
        fresh checkpoint. Costs a walk per event: only when a walk found the model non-finite."""
        self.repairs += 1
        replay, kept = self._since, list[tuple[Joined, Any]]()
        self._restore()
        for joined, y in replay:
            result = self._test_then_train(joined, y)
            if isinstance(result, ModelFailure):
                if result.learned_partly:
                    self._restore(kept)
                continue
            bad = first_nonfinite(self.state.model)
            if bad is None:
                kept.append((joined, y))
                continue
            why = NonFiniteModel(f"learning from it made the model non-finite: {bad}")
            self._fail(joined, why, y=y)
            self._restore(kept)
        self._since = kept
        self.checkpoint()

    # -- test-then-train ---------------------------------------------------------------------

    def _learn(self, joined: Joined, y: Any) -> Joined | ModelFailure:
        """Test-then-train one event, keeping the model finite. A failure is judged on the
        model as it would be without every poisoning event before it, so where checkpoints
        fall changes nothing."""
        result = self._test_then_train(joined, y)
        if isinstance(result, ModelFailure):
            result = self._judge_failure(result)
            if isinstance(result, ModelFailure):
                return result
        prediction = self.last_prediction
        self._since.append((joined, y))
        if len(self._since) >= (self.checkpoint_every or CHECKPOINT_EVERY):
            self.checkpoint()
            left_out = next((f for f in self.failures if f.joined is joined), None)
            if left_out is not None:  # the checkpoint's walk found this very event poisoned
                return left_out
        self.last_prediction = prediction  # a repair replays others: keep this event's own
        return result

    def _judge_failure(self, failure: ModelFailure) -> Joined | ModelFailure:
        """Undo what the failed event changed; if the model was already non-finite (an earlier
        event poisoned it), repair and test the event again."""
        if failure.learned_partly:
            self._restore(self._since)
        if not self._since or first_nonfinite(self.state.model) is None:
            return failure  # the event's own fault: the model is fine without it
        self._unfail(failure)
        self._repair()
        again = self._test_then_train(failure.joined, failure.label)
        if isinstance(again, ModelFailure) and again.learned_partly:
            self._restore(self._since)
        return again

    def _answering(self, joined: Joined) -> Any:
        """The model that predicts for `joined` (what a scorer would serve): the model."""
        return self.state.model

    def _segment(self, joined: Joined) -> tuple[str, ...]:
        """The segment its metrics are kept under."""
        return joined.segment

    def _learn_one(self, joined: Joined, y: Any) -> None:
        self.state.model.learn_one(joined.x, y)

    def _folded(self, model: Any) -> FoldedStep | None:
        """The one-pass test-then-train step for `model` (`trainer.folded`), or None when river's
        own calls must run. Found again whenever the model object changes (checkpoints, repairs,
        resets replace it)."""
        if model is not self._fold_model:
            self._fold_model = model
            self._fold = folded_step(model) if self._classify else None
        return self._fold

    def _test_then_train(self, joined: Joined, y: Any) -> Joined | ModelFailure:
        """Predict, check the prediction is finite, update the metrics, learn (one event)."""
        x, model = joined.x, self._answering(joined)
        step = self._folded(model)
        if step is not None:
            return self._test_then_train_folded(joined, y, step)
        try:
            if model is None:  # a per-key model with no model for the key, and no fallback
                proba, y_pred, finite = None, None, True
            elif self._classify:
                proba = model.predict_proba_one(x)
                # a model with no opinion yet (an empty tree) is not scored
                y_pred = max(proba, key=proba.__getitem__) if proba else None
                finite = not proba or isfinite(sum(proba.values()))
            else:
                proba, y_pred = None, model.predict_one(x)
                finite = not isinstance(y_pred, float) or isfinite(y_pred)
        except Exception as exc:  # a model that raises must not stop training on the rest
            return self._fail(joined, exc, y=y)
        if not finite:
            why = NonFiniteModel(f"the model predicted {y_pred!r} ({proba!r:.200})")
            return self._fail(joined, why, y=y)
        try:
            # a model with no opinion yet (an empty tree; a regressor that answers None) is not
            # scored: a metric would count None as a prediction
            if proba or (not self._classify and y_pred is not None):
                self.state.evaluation.update(y, proba, y_pred, self._segment(joined))
                self.last_prediction = (y_pred, proba)
            else:
                self.last_prediction = (None, None)
            self._learn_one(joined, y)
        except Exception as exc:  # metrics or model half-updated: the learner rolls back
            return self._fail(joined, exc, learned_partly=True, y=y)
        return self._learned(joined, y, y_pred)

    def _test_then_train_folded(
        self, joined: Joined, y: Any, step: FoldedStep
    ) -> Joined | ModelFailure:
        """`_test_then_train` with the prediction and the learning in one step: what river's
        calls would do, except that the model has learned before the prediction is checked, so
        every failure is `learned_partly` (the learner rolls the event back)."""
        try:
            proba = step(joined.x, y)
        except Exception as exc:  # the model may be half-updated
            return self._fail(joined, exc, learned_partly=True, y=y)
        y_pred = max(proba, key=proba.__getitem__)
        if not isfinite(sum(proba.values())):
            why = NonFiniteModel(f"the model predicted {y_pred!r} ({proba!r:.200})")
            return self._fail(joined, why, learned_partly=True, y=y)
        try:
            self.state.evaluation.update(y, proba, y_pred, self._segment(joined))
        except Exception as exc:
            return self._fail(joined, exc, learned_partly=True, y=y)
        self.last_prediction = (y_pred, proba)
        return self._learned(joined, y, y_pred)

    def _learned(self, joined: Joined, y: Any, y_pred: Any) -> Joined:
        """Count a learned event, watch it for drift, teach the fresh line."""
        self.state.n_learned += 1
        self._watch(joined.x, y, y_pred)
        if self.state.fresh is not None:
            self._learn_fresh(self.state.fresh, joined.x, y)
        return joined

    # -- the lifecycle: drift detection and fresh starts ---------------------------------------

    def _watch(self, x: dict[str, float], y: Any, y_pred: Any) -> None:
        """Feed the drift detectors this learned event's features and error; act on a drift."""
        watch = self.state.drift
        assert watch is not None
        found = watch.observe_features(x)  # the time encodings are left out there (CYCLIC)
        if y_pred is not None:
            if self._classify:
                error = 0.0 if y_pred == y else 1.0
            else:
                error = abs(float(y) - float(y_pred))
            found += watch.observe_error(error)
        for detection in found:
            self._on_drift(detection)

    def _on_drift(self, detection: Any) -> None:
        acted_on = response(detection, self._action, self.fresh_is_champion)
        s = self.state
        if acted_on == "main":
            self.reset_model()
        elif acted_on == "fresh":
            generation = 1 if s.fresh is None else s.fresh.generation + 1
            s.fresh = FreshLine(self.spec.pipeline(), generation, dict(s.offsets))
        self.drift_reports.append(
            DriftReport(detection, self._action, acted_on, dict(s.offsets), s.n_learned)
        )

    def reset_model(self) -> None:
        """Start the main model afresh (a drift's `reset`): join, metrics and offsets go on."""
        s = self.state
        s.model = self.spec.pipeline()
        s.reset_base = s.n_learned
        s.resets += 1
        assert s.drift is not None
        s.drift.reset()

    @property
    def model_learned(self) -> int:
        """Events the main model itself learned (since its last fresh start)."""
        return self.state.n_learned - self.state.reset_base

    def take_drift_reports(self) -> list[DriftReport]:
        reports, self.drift_reports = self.drift_reports, []
        return reports

    @staticmethod
    def _learn_fresh(fresh: FreshLine, x: dict[str, float], y: Any) -> None:
        """The fresh line learns the event too; one it raises on is left out of it only."""
        try:
            fresh.model.learn_one(x, y)
        except Exception:  # the fresh model must not stop the champion's training
            fresh.failures += 1
            return
        fresh.n_learned += 1

    def _unfail(self, failure: ModelFailure) -> None:
        self.failures.remove(failure)
        self.state.model_failures -= 1

    def _fail(
        self, joined: Joined, error: Exception, *, learned_partly: bool = False, y: Any = None
    ) -> ModelFailure:
        failure = ModelFailure(joined, error, learned_partly, y)
        self.state.model_failures += 1
        self.failures.append(failure)
        return failure
