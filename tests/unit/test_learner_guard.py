"""No event can leave the model non-finite: it is left out, and learning goes on from before it."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from typing import Any

import pytest

import lazarus.trainer.learner as learner_module
from lazarus.trainer.finite import first_nonfinite
from lazarus.trainer.join import Joined
from lazarus.trainer.learner import Learner, ModelFailure, NonFiniteModel
from lazarus.trainer.specs import habitat

Row = tuple[str, dict[str, float], bool]


def rows(n: int, seed: int, start: int = 0) -> list[Row]:
    r = random.Random(seed)
    out = []
    for i in range(start, start + n):
        x = {"temperature_c": r.gauss(15, 5), "x_leaf_wetness": 0.4 + r.gauss(0, 0.02)}
        out.append((f"e{i}", x, x["temperature_c"] + r.gauss(0, 3) > 15))
    return out


def feed(learner: Learner, data: list[Row]) -> list[Any]:
    results = []
    for i, (event_id, x, y) in enumerate(data):
        learner.hold(event_id, "site-1", 1_000 * i, x, ("site-1",), i)
        results.append(learner.label("habitat_occupancy", event_id, "site-1", 1_000 * i + 1, y))
    learner.checkpoint()  # as every snapshot does
    return results


def weights(learner: Learner) -> dict[str, float]:
    lr = learner.state.model["LogisticRegression"]
    return {**lr._weights.to_dict(), "intercept": lr.intercept}


def poisoned_stream() -> tuple[list[Row], list[Row]]:
    """20 readings, one with leaf wetness 1e200, 40 more (issue #12's input); and the clean one."""
    before, after = rows(20, 1), rows(40, 2, start=21)
    poison: Row = ("e20", {"temperature_c": 14.0, "x_leaf_wetness": 1e200}, True)
    return [*before, poison, *after], [*before, *after]


def test_an_extreme_value_is_left_out_and_the_model_equals_one_that_never_saw_it() -> None:
    dirty, clean = poisoned_stream()
    guarded, reference = Learner(habitat()), Learner(habitat())
    feed(guarded, dirty)
    feed(reference, clean)
    assert first_nonfinite(guarded.state.model) is None
    assert weights(guarded) == weights(reference)
    assert guarded.state.n_learned == reference.state.n_learned == 60
    assert guarded.state.evaluation.report() == reference.state.evaluation.report()
    [failure] = guarded.failures
    assert failure.joined.event_id == "e20" and isinstance(failure.error, NonFiniteModel)
    assert "x_leaf_wetness" in str(failure.error) and guarded.state.model_failures == 1


def test_where_checkpoints_fall_does_not_change_what_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dirty, _ = poisoned_stream()
    runs = []
    for every in (1000, 7, 1):
        monkeypatch.setattr(learner_module, "CHECKPOINT_EVERY", every)
        learner = Learner(habitat())
        feed(learner, dirty)
        runs.append((weights(learner), [f.joined.event_id for f in learner.failures]))
    assert runs[0] == runs[1] == runs[2] and runs[0][1] == ["e20"]


def test_no_prediction_after_the_poison_is_non_finite() -> None:
    dirty, _ = poisoned_stream()
    learner = Learner(habitat())
    for i, (event_id, x, y) in enumerate(dirty):
        learner.hold(event_id, "s", i, x, ("s",), i)
        result = learner.label("habitat_occupancy", event_id, "s", i, y)
        if isinstance(result, Joined):
            _, proba = learner.last_prediction
            assert proba is not None and json.dumps(proba, allow_nan=False)


class RaisesMidway:
    """Scaler-like state that is updated before the step that raises."""

    def __init__(self) -> None:
        self.seen = 0.0

    def predict_proba_one(self, x: dict[str, float]) -> dict[bool, float]:
        return {False: 0.5, True: 0.5}

    def learn_one(self, x: dict[str, float], y: bool) -> None:
        self.seen += 1.0
        if x["a"] < 0:
            raise ValueError("negative")


def test_a_model_that_raises_midway_is_restored_to_before_the_event() -> None:
    learner = Learner(habitat())
    learner.state.model = RaisesMidway()
    learner.checkpoint()
    data = [("e0", {"a": 1.0}, True), ("e1", {"a": -1.0}, True), ("e2", {"a": 1.0}, False)]
    results = feed(learner, data)
    assert isinstance(results[1], ModelFailure) and "negative" in str(results[1].error)
    assert learner.state.model.seen == 2.0 and learner.state.n_learned == 2


class BlowsUpOn:
    """Finite state, but a non-finite prediction for one input: the input is left out."""

    def __init__(self) -> None:
        self.n = 0

    def predict_proba_one(self, x: dict[str, float]) -> dict[bool, float]:
        p = float("nan") if x["a"] > 100 else 0.5
        return {False: 1 - p, True: p}

    def learn_one(self, x: dict[str, float], y: bool) -> None:
        self.n += 1


def test_an_input_the_model_cannot_predict_is_left_out() -> None:
    learner = Learner(habitat())
    learner.state.model = BlowsUpOn()
    learner.checkpoint()
    results = feed(
        learner, [("e0", {"a": 1.0}, True), ("e1", {"a": 1e6}, True), ("e2", {"a": 2.0}, False)]
    )
    assert isinstance(results[1], ModelFailure) and isinstance(results[1].error, NonFiniteModel)
    assert [f.joined.event_id for f in learner.failures] == ["e1"]
    assert learner.state.model.n == 2 and learner.state.n_learned == 2


def test_a_restored_model_that_is_not_finite_is_refused_with_how_to_rebuild() -> None:
    poisoned = Learner(habitat())
    poisoned.state.model["StandardScaler"].vars["x"] = float("nan")
    with pytest.raises(NonFiniteModel, match="--from-beginning"):
        Learner(habitat(), poisoned.state)


def test_an_early_outcome_is_learned_when_its_features_come() -> None:
    learner = Learner(habitat())
    assert learner.label("habitat_occupancy", "e1", "s", 2_000, True) is None
    got = learner.hold("e1", "s", 1_000, {"a": 1.0}, ("s",), 0)
    assert got is not None and isinstance(got[0], Joined) and got[1] is True
    assert learner.state.n_learned == 1


class RaisesOncePoisoned:
    """Finite-looking answers, but predict raises once its state holds an infinity."""

    def __init__(self) -> None:
        self.total = 0.0
        self.n = 0

    def predict_proba_one(self, x: dict[str, float]) -> dict[bool, float]:
        if math.isinf(self.total):
            raise ArithmeticError("state overflowed")
        return {False: 0.5, True: 0.5}

    def learn_one(self, x: dict[str, float], y: bool) -> None:
        self.total += x["a"] * 1e300
        self.n += 1


@pytest.mark.parametrize("every", [1000, 5, 1])
def test_a_model_that_raises_on_poisoned_state_blames_the_poison_wherever_checkpoints_fall(
    monkeypatch: pytest.MonkeyPatch, every: int
) -> None:
    monkeypatch.setattr(learner_module, "CHECKPOINT_EVERY", every)
    learner = Learner(habitat())
    learner.state.model = RaisesOncePoisoned()
    learner._checkpoint = b""
    learner.checkpoint()
    data = [(f"e{i}", {"a": 1e10 if i == 1 else 0.0}, True) for i in range(8)]
    feed(learner, data)
    assert [f.joined.event_id for f in learner.failures] == ["e1"]
    assert learner.state.n_learned == 7 and learner.state.model.n == 7


def test_an_event_a_checkpoint_leaves_out_gets_no_prequential_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(learner_module, "CHECKPOINT_EVERY", 21)  # the poison is the 21st
    dirty, _ = poisoned_stream()
    learner = Learner(habitat())
    results = feed(learner, dirty)
    assert isinstance(results[20], ModelFailure) and results[20].joined.event_id == "e20"
    assert all(isinstance(r, Joined) for i, r in enumerate(results) if i != 20)


def test_the_last_prediction_is_the_events_own_after_a_checkpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(learner_module, "CHECKPOINT_EVERY", 10)
    data = rows(30, 5)
    guarded, reference = Learner(habitat()), Learner(habitat())
    for i, (event_id, x, y) in enumerate(data):
        for learner in (guarded, reference):
            learner.hold(event_id, "site-1", i, x, ("site-1",), i)
            learner.label("habitat_occupancy", event_id, "site-1", i, y)
        assert guarded.last_prediction == reference.last_prediction


def test_inputs_the_model_fails_on_do_not_cost_a_repair() -> None:
    learner = Learner(habitat())
    learner.state.model = BlowsUpOn()
    learner.checkpoint()
    data = [(f"e{i}", {"a": 1e6 if i % 2 else 1.0}, True) for i in range(20)]
    feed(learner, data)
    assert learner.repairs == 0 and len(learner.failures) == 10


def test_river_sentinel_infinities_are_not_poison() -> None:
    from river import compose, drift, feature_extraction, linear_model, stats

    spec = dataclasses.replace(
        habitat(),
        pipeline=lambda: (
            compose.TransformerUnion(
                compose.Select("a"), feature_extraction.Agg(on="a", by="g", how=stats.Max())
            )
            | linear_model.LogisticRegression()
        ),
    )
    learner = Learner(spec)  # a fresh Max holds -inf: not a reason to refuse the model
    learner.state.model.learn_one({"a": 1.0, "g": 1.0}, True)
    learner.checkpoint()
    assert learner.repairs == 0 and first_nonfinite(learner.state.model) is None
    assert first_nonfinite(drift.PageHinkley()) is None
    assert first_nonfinite({"max": stats.Max(), "var": float("inf")}) == "['var']: inf"
