"""The learner of one shard of a per-key model: test-then-train routed by key (pure).

It is the whole-model `Learner` (join, prequential metrics, finiteness checkpoints and repair,
drift) with a `KeyedModel` as its model: the row maker appends the key's value to each event's
segment (`RowMaker(key_field=...)`), and this learner takes it off again, predicts with the
model `route(key)` names (what a scorer would serve for that key now), scores that, and
teaches the key's model and the fallback. Metrics stay per segment field, never per key: a
shard may hold thousands of keys.
"""

from __future__ import annotations

from typing import Any

from lazarus.trainer.evaluation import Prequential
from lazarus.trainer.folded import FoldedStep
from lazarus.trainer.join import Joined, PendingJoin
from lazarus.trainer.keyed import KeyedModel
from lazarus.trainer.learner import Learner, LearnerState
from lazarus.trainer.specs import ModelSpec

KEYED_CHECKPOINT_EVERY = 10_000
"""A checkpoint copies every key's model: spaced wider than a whole model's, as the copy grows
with the keys. A repair then learns at most this many events again."""


def keyed_model(spec: ModelSpec) -> KeyedModel:
    """An unlearned `KeyedModel` of a per-key spec; ValueError for a spec without `per_key`."""
    per_key = spec.per_key
    if per_key is None:
        raise ValueError(f"{spec.name} is not a per-key model")
    return KeyedModel(
        spec.pipeline(),
        min_history=per_key.min_history,
        fallback=per_key.fallback,
        classify=spec.task == "classification",
    )


class KeyedLearner(Learner):
    """A `Learner` whose model is a `KeyedModel`; each `Joined.segment` ends with the key."""

    checkpoint_every = KEYED_CHECKPOINT_EVERY

    def __init__(self, spec: ModelSpec, state: LearnerState | None = None) -> None:
        state = state or LearnerState(
            model=keyed_model(spec),
            join=PendingJoin(int(spec.pending_ttl_s * 1000), spec.max_pending, spec.keep_joined),
            evaluation=Prequential(spec.metrics, spec.segment_fields, spec.window),
        )
        super().__init__(spec, state)

    def reset_model(self) -> None:
        """A drift's `reset`: every key starts afresh, with the fallback."""
        super().reset_model()
        self.state.model = keyed_model(self.spec)

    def _answering(self, joined: Joined) -> Any:
        """The model `route(key)` names: the one a scorer would serve for the key now."""
        return self.state.model.route(joined.segment[-1])[0]

    def _segment(self, joined: Joined) -> tuple[str, ...]:
        return joined.segment[:-1]  # metrics per segment field, never per key

    def _learn_one(self, joined: Joined, y: Any) -> None:
        self.state.model.learn_one(joined.segment[-1], joined.x, y)

    def _folded(self, model: Any) -> FoldedStep | None:
        """River's own calls: the answering model is not (only) the one that learns."""
        return None


def learner_of(spec: ModelSpec) -> type[Learner]:
    """The learner a spec trains with: a `KeyedLearner` for a per-key model, else a `Learner`."""
    return KeyedLearner if spec.per_key is not None else Learner
