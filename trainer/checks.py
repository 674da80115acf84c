"""The contract suite for model specs, as river's `check_estimator` is for estimators.

`check_spec(spec, stream)` runs every check of `yield_checks` on a spec and a short
stream of its events; each check is a small named function that raises AssertionError
(or the error the trainer would raise) when the spec breaks the trainer's assumptions:

    check_snapshot_round_trip            a sealed and unsealed learner predicts as before
    check_replay_gives_the_same_digest   the same events give the same snapshot bytes
    check_resume_gives_the_same_digest   ... also across a restore from a snapshot mid-way
    check_learn_one_does_not_mutate_x    the model leaves its input features alone
    check_scoring_matches_training       scorers predict what test-then-train predicted
    check_fingerprint_is_stable          the schema fingerprint is a pure function of the spec

`stream` is a list of (input event, outcome labelling it) pairs, in the order the
trainer would see them, ideally a few hundred. The scoring check uses the predictor a
scorer builds: pass `predictor_for` (`lazarus.scorer.predictors.predictor_for`, which the
trainer may not import itself); without it the check predicts with the served model's
own river methods.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lazarus.registry.canonical import canonical_dumps
from lazarus.registry.safe_pickle import safe_loads
from lazarus.registry.signing import generate, parse_private
from lazarus.registry.store import MemorySnapshotStore
from lazarus.schemas.base import Event
from lazarus.schemas.outcomes import Outcome
from lazarus.trainer.join import Joined
from lazarus.trainer.keyed_learner import learner_of
from lazarus.trainer.learner import Learner, LearnerState
from lazarus.trainer.publishing import SnapshotPublisher, restore
from lazarus.trainer.specs import ModelSpec

Stream = list[tuple[Event, Outcome]]
"""(input event, the outcome that labels it), in arrival order."""
Prediction = tuple[Any, dict[Any, float] | None]
PredictorFor = Callable[[Any, str], Callable[[list[dict[str, float]]], list[Prediction]]]
"""`(model, task) -> predict(xs) -> [(prediction, probabilities)]`, as a scorer builds it."""
Check = Callable[[ModelSpec, Stream], None]

TOLERANCE = 1e-9
"""Absolute difference allowed between a served and a trained probability (folded weights)."""


def check_spec(
    spec: ModelSpec,
    stream: Stream,
    *,
    predictor_for: PredictorFor | None = None,
    modules: Iterable[str] = (),
) -> None:
    """Run every check on `spec` with `stream`; the first failing one raises. `modules` are
    the module prefixes snapshots may reference beyond the built-in allowlist (as
    `LAZARUS_SNAPSHOT_MODULES`): a spec using your own classes passes them."""
    for check in yield_checks(spec, predictor_for=predictor_for, modules=modules):
        check(spec, stream)


def yield_checks(
    spec: ModelSpec,
    *,
    predictor_for: PredictorFor | None = None,
    modules: Iterable[str] = (),
) -> Iterator[Check]:
    """The checks `spec` must pass, each a function `(spec, stream) -> None`; name one with
    `check_name(check)` (for test ids). `modules` as for `check_spec`."""
    mods = tuple(modules)
    yield functools.partial(check_snapshot_round_trip, modules=mods)
    yield check_replay_gives_the_same_digest
    yield functools.partial(check_resume_gives_the_same_digest, modules=mods)
    yield check_learn_one_does_not_mutate_x
    yield functools.partial(
        check_scoring_matches_training, predictor_for=predictor_for, modules=mods
    )
    yield check_fingerprint_is_stable


def check_name(check: Check) -> str:
    """The check's function name, for test ids.

    >>> check_name(functools.partial(check_scoring_matches_training, predictor_for=None))
    'check_scoring_matches_training'
    """
    func = check.func if isinstance(check, functools.partial) else check
    return str(func.__name__)


# -- the checks -------------------------------------------------------------------------------


def check_snapshot_round_trip(
    spec: ModelSpec, stream: Stream, *, modules: tuple[str, ...] = ()
) -> None:
    """Sealed, signed, verified and unsealed (the allowlisting unpickler), a learner predicts
    as it did, has learned as much, and goes on learning to the same predictions."""
    half = len(stream) // 2
    learner = _learn(learner_of(spec)(spec), stream[:half])
    restored = learner_of(spec)(spec, _reseal(spec, learner.state, modules))
    assert restored.state.n_learned == learner.state.n_learned > 0, "it learned nothing"
    probe = _features(stream)
    assert _predict(restored, probe) == _predict(learner, probe), "predictions changed"
    _learn(learner, stream[half:], start=half)
    _learn(restored, stream[half:], start=half)
    assert _predict(restored, probe) == _predict(learner, probe), "it learns differently"


def check_replay_gives_the_same_digest(spec: ModelSpec, stream: Stream) -> None:
    """Two learners fed the same events have the same canonical bytes (the model's, which a
    snapshot seals and `model_sha256` digests, and the whole state's)."""
    a, b = _learn(learner_of(spec)(spec), stream), _learn(learner_of(spec)(spec), stream)
    assert _digests(a) == _digests(b), "the same events gave different snapshot bytes"


def check_resume_gives_the_same_digest(
    spec: ModelSpec, stream: Stream, *, modules: tuple[str, ...] = ()
) -> None:
    """A learner restored from a snapshot mid-way ends with the bytes of one never stopped:
    a trainer killed and restarted publishes the digest an uninterrupted one would."""
    half = len(stream) // 2
    straight = _learn(learner_of(spec)(spec), stream)
    first = _learn(learner_of(spec)(spec), stream[:half])
    resumed = _learn(
        learner_of(spec)(spec, _reseal(spec, first.state, modules)), stream[half:], start=half
    )
    assert _digests(resumed) == _digests(straight), "a resumed learner seals to other bytes"


def check_learn_one_does_not_mutate_x(spec: ModelSpec, stream: Stream) -> None:
    """`learn_one` and the predictions leave their input dict as it was (river's purity check:
    the trainer and the join buffer hold on to that dict)."""
    model = spec.pipeline()
    for event, outcome in stream[:20]:
        x = event.to_features()  # type: ignore[attr-defined]
        before = copy.deepcopy(x)
        if spec.task == "classification":
            model.predict_proba_one(x)
        model.predict_one(x)
        model.learn_one(x, spec.contract.labels.target(outcome.label))  # as the learner does
        assert x == before, f"learning from {event.event_id} changed its features"


def check_scoring_matches_training(
    spec: ModelSpec,
    stream: Stream,
    *,
    predictor_for: PredictorFor | None = None,
    modules: tuple[str, ...] = (),
) -> None:
    """What a scorer serves from a snapshot's model predicts, for the next event, what the
    trainer's test-then-train predicted (probabilities within `TOLERANCE`)."""
    learner = learner_of(spec)(spec)
    every = max(1, len(stream) // 10)
    compared = 0
    for i, (event, outcome) in enumerate(stream):
        served = None
        if i % every == every - 1:
            model = safe_loads(canonical_dumps(learner.state.model), modules)  # as scorers do
            served = _predictor(model, spec.task, predictor_for, spec.per_key is not None)
        learner.observe_features(event, i)
        result = learner.observe_outcome(outcome)
        if served is None or not isinstance(result, Joined):
            continue
        key = result.segment[-1] if spec.per_key is not None else ""
        [(prediction, proba)] = served([result.x], key)
        trained, trained_proba = learner.last_prediction
        assert prediction == trained, f"event {i}: served {prediction!r}, trained {trained!r}"
        assert _close(proba, trained_proba), f"event {i}: served {proba}, trained {trained_proba}"
        compared += 1
    assert compared > 0, "no event was compared: give a longer stream"


def check_fingerprint_is_stable(spec: ModelSpec, stream: Stream) -> None:
    """The fingerprint scorers check snapshots against is the same for every copy of the spec
    and in every process: a sha256 hex of the inputs' schemas, nothing else."""
    again = copy.deepcopy(spec.contract)
    assert spec.fingerprint == spec.contract.fingerprint == again.fingerprint
    assert len(spec.fingerprint) == 64 and int(spec.fingerprint, 16) >= 0


# -- helpers ----------------------------------------------------------------------------------


def _learn(learner: Learner, stream: Stream, start: int = 0) -> Learner:
    for i, (event, outcome) in enumerate(stream, start):
        learner.observe_features(event, i)
        learner.observe_outcome(outcome)
    learner.checkpoint()  # as every snapshot does
    return learner


def _reseal(spec: ModelSpec, state: LearnerState, modules: tuple[str, ...] = ()) -> LearnerState:
    """`state` published as a trainer publishes it (sealed, signed) and restored as a
    restarted trainer restores it (verified, unpickled through the allowlist)."""
    store, signer = MemorySnapshotStore(), parse_private(generate()[0])
    learner = learner_of(spec)(spec, state)
    learner.checkpoint()
    publisher = SnapshotPublisher(store, spec, signer, 1, keep=1, min_learned=1, modules=modules)
    published = publisher.publish(learner)
    assert published is not None, "the in-memory store refused the snapshot"
    restored, _ = restore(store, spec, signer, from_beginning=False, modules=modules)
    return restored.state


def _digests(learner: Learner) -> tuple[str, str]:
    """sha256 of the canonical state and model bytes (`model_sha256` digests the latter)."""
    state, model = canonical_dumps(learner.state), canonical_dumps(learner.state.model)
    return hashlib.sha256(state).hexdigest(), hashlib.sha256(model).hexdigest()


def _features(stream: Stream) -> list[dict[str, float]]:
    return [e.to_features() for e, _ in stream[:50]]  # type: ignore[attr-defined]


def _predict(learner: Learner, xs: list[dict[str, float]]) -> list[Any]:
    model = learner.state.model
    if learner.spec.per_key is not None:  # every key's answer, and an unseen key's
        keys = [*sorted(model.models), "(unseen)"]
        return [_predict_with(model.route(k)[0], learner.spec.task, xs) for k in keys]
    return _predict_with(model, learner.spec.task, xs)


def _predict_with(model: Any, task: str, xs: list[dict[str, float]]) -> list[Any]:
    if model is None:
        return [None for _ in xs]
    if task == "regression":
        return [model.predict_one(x) for x in xs]
    return [model.predict_proba_one(x) for x in xs]


def _predictor(
    model: Any, task: str, predictor_for: PredictorFor | None, keyed: bool
) -> Callable[[list[dict[str, float]], str], list[Prediction]]:
    """Predictions as a scorer makes them from `model`; a per-key model (`keyed`) answers
    through the model `route(key)` names, as a per-key scorer does."""

    def served(xs: list[dict[str, float]], key: str) -> list[Prediction]:
        answering = model.route(key)[0] if keyed else model
        if answering is None:
            return [(None, None) for _ in xs]
        if predictor_for is not None:
            return predictor_for(answering, task)(xs)
        if task == "regression":
            return [(answering.predict_one(x), None) for x in xs]
        out: list[Prediction] = []
        for x in xs:
            proba = answering.predict_proba_one(x)
            out.append((max(proba, key=proba.__getitem__), proba) if proba else (None, None))
        return out

    return served


def _close(a: dict[Any, float] | None, b: dict[Any, float] | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], abs_tol=TOLERANCE) for k in a)
