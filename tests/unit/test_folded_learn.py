"""The folded test-then-train step (`trainer.folded`) is river's `predict_proba_one` then
`learn_one`: over long random streams every probability and, at the end, every weight, the
intercept, the optimizer's count and the scaler's statistics equal river's on a deep copy
within 1e-9 (they are in fact equal bit for bit: the snapshot bytes match). What it does not
recognise is left to river."""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from river import compose, linear_model, optim, preprocessing, tree

from lazarus.registry.canonical import canonical_dumps
from lazarus.trainer.finite import first_nonfinite
from lazarus.trainer.folded import folded_step
from lazarus.trainer.join import Joined
from lazarus.trainer.keyed_learner import KeyedLearner
from lazarus.trainer.learner import Learner
from lazarus.trainer.specs import habitat, habitat_sites, viability

TOLERANCE = 1e-9
Stream = Iterator[tuple[dict[str, float], bool]]


def default() -> Any:
    return preprocessing.StandardScaler() | linear_model.LogisticRegression()


def tuned() -> Any:
    """Every setting the step reproduces away from its default."""
    return preprocessing.StandardScaler() | linear_model.LogisticRegression(
        optimizer=optim.SGD(optim.schedulers.InverseScaling(0.1, power=0.6)),
        loss=optim.losses.Log(weight_pos=2.0, weight_neg=0.5),
        l2=0.01,
        intercept_lr=optim.schedulers.Optimal(optim.losses.Log(), alpha=1e-3),
        clip_gradient=0.3,
    )


def stream(seed: int, n: int) -> Stream:
    """Features that go missing and come back, new ones appearing late, a constant one, a
    one-hot kind (constant where present), magnitudes from 1e-6 to 1e6 and a few at 1e150;
    labels of both kinds, drifting with the features."""
    r = random.Random(seed)
    names = [f"f{i}" for i in range(10)]
    scales = {name: 10.0 ** r.choice([-6, -3, 0, 0, 0, 3, 6]) for name in names}
    for k in range(n):
        x: dict[str, float] = {"const": 7.5, f"kind_{r.choice('abc')}": 1.0}
        for name in names:
            if r.random() < 0.85:
                x[name] = r.gauss(1.0, 2.0) * scales[name]
        logit = sum(x.get(name, 0.0) / scales[name] for name in names[:3]) - 3.0
        if k > n // 2:
            x[f"late{r.randrange(5)}"] = r.gauss(0.0, 1.0)
        if r.random() < 0.001:
            x[r.choice(names)] = r.choice([1e150, -1e150])
        keys = list(x)
        r.shuffle(keys)  # the order of features differs from event to event
        yield {key: x[key] for key in keys}, r.random() < 1 / (1 + math.exp(-logit))


def close(a: float, b: float) -> bool:
    """Equal within 1e-9, relative where the magnitude is above 1 (NaN equals NaN)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def assert_state_close(river_model: Any, folded: Any) -> None:
    scaler_a, lr_a = river_model.steps.values()
    scaler_b, lr_b = folded.steps.values()
    assert lr_a.optimizer.n_iterations == lr_b.optimizer.n_iterations
    assert close(lr_a.intercept, lr_b.intercept)
    wa, wb = lr_a._weights.to_dict(), lr_b._weights.to_dict()
    assert list(wa) == list(wb)
    assert all(close(wa[k], wb[k]) for k in wa), "weights differ"
    assert scaler_a.counts == scaler_b.counts
    for name in ("means", "vars"):
        a, b = getattr(scaler_a, name), getattr(scaler_b, name)
        assert list(a) == list(b)
        assert all(close(a[k], b[k]) for k in a), f"scaler {name} differ"


def run_both(make: Callable[[], Any], events: Stream) -> tuple[Any, Any, int]:
    """(river's model, the folded one, events) after test-then-train on the same stream; every
    probability checked on the way."""
    river_model = make()
    folded = copy.deepcopy(river_model)
    step = folded_step(folded)
    assert step is not None
    n = 0
    for x, y in events:
        expected = river_model.predict_proba_one(x)
        river_model.learn_one(x, y)
        got = step(x, y)
        assert list(got) == [False, True]
        assert close(got[True], expected[True]) and close(got[False], expected[False]), (n, x)
        n += 1
    return river_model, folded, n


@pytest.mark.parametrize(
    ("make", "seed"), [(default, 1), (default, 2), (default, 3), (tuned, 4), (tuned, 5)]
)
def test_a_long_stream_learns_as_river_does(make: Callable[[], Any], seed: int) -> None:
    river_model, folded, n = run_both(make, stream(seed, 20_000))
    assert n == 20_000
    assert_state_close(river_model, folded)
    assert first_nonfinite(folded) is None  # the extremes did not turn the model into NaNs
    lr = folded["LogisticRegression"]
    assert len(lr.weights) >= 16 and any(v != 0.0 for v in lr.weights.values())


def test_the_folded_model_snapshots_to_rivers_bytes() -> None:
    """Bit for bit: the same events give the same `model_sha256` whichever path learned them."""
    river_model, folded, _ = run_both(default, stream(6, 5_000))
    assert canonical_dumps(folded) == canonical_dumps(river_model)


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), finite), st.booleans()),
        max_size=40,
    )
)
def test_any_finite_values_give_rivers_numbers_overflow_included(
    events: list[tuple[dict[str, float], bool]],
) -> None:
    """Any magnitude up to 1.8e308: where river's arithmetic overflows to inf or NaN, so does the
    step's, the same way."""
    river_model, folded, _ = run_both(default, iter(events))
    assert canonical_dumps(folded) == canonical_dumps(river_model)


@pytest.mark.parametrize(
    "make",
    [
        lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(optim.Adam()),
        lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(l1=0.01),
        lambda: (
            preprocessing.StandardScaler()
            | linear_model.LogisticRegression(loss=optim.losses.Hinge())
        ),
        lambda: (
            preprocessing.StandardScaler()
            | linear_model.LogisticRegression(initializer=optim.initializers.Normal(seed=1))
        ),
        lambda: preprocessing.StandardScaler(window_size=100) | linear_model.LogisticRegression(),
        lambda: preprocessing.StandardScaler(with_std=False) | linear_model.LogisticRegression(),
        lambda: preprocessing.MinMaxScaler() | linear_model.LogisticRegression(),
        lambda: linear_model.LogisticRegression(),
        lambda: preprocessing.StandardScaler() | tree.HoeffdingTreeClassifier(),
        lambda: (
            preprocessing.StandardScaler()
            | preprocessing.StandardScaler()
            | linear_model.LogisticRegression()
        ),
    ],
    ids=[
        "adam",
        "l1",
        "hinge",
        "normal-init",
        "windowed-scaler",
        "no-std",
        "minmax",
        "bare",
        "tree",
        "three-steps",
    ],
)
def test_what_it_does_not_reproduce_is_left_to_river(make: Callable[[], Any]) -> None:
    assert folded_step(make()) is None


def test_a_label_that_is_not_a_bool_and_learn_during_predict_go_through_river() -> None:
    river_model, folded = default(), default()
    step = folded_step(folded)
    assert step is not None
    events = list(stream(7, 300))
    for k, (x, y) in enumerate(events):
        expected = river_model.predict_proba_one(x)
        river_model.learn_one(x, int(y) if k % 3 else y)
        if k % 3:
            assert step(x, int(y)) == expected  # int labels: river's own calls
        else:
            assert step(x, y) == expected
    assert canonical_dumps(folded) == canonical_dumps(river_model)
    with compose.learn_during_predict():
        x, y = events[0]
        expected = river_model.predict_proba_one(x)  # learns the scaler first
        river_model.learn_one(x, y)
        assert step(x, y) == expected
    assert canonical_dumps(folded) == canonical_dumps(river_model)


@pytest.mark.parametrize("bad", ["12.5", None, 10**400, 3, math.nan, math.inf])
def test_a_value_the_fold_could_fail_on_goes_to_river_before_anything_changes(bad: Any) -> None:
    """Not a finite float: river's own calls take it, so the model ends exactly as river's
    does, whether river learns it (an int), fails half-way through its learn (a string) or
    refuses it."""
    river_model, folded = default(), default()
    step = folded_step(folded)
    assert step is not None
    events = list(stream(3, 200))
    for x, y in events:
        river_model.learn_one(x, y)
        step(x, y)
    x = {**events[-1][0], "late": 1.0, "zz_last": bad}  # last: the others come before it
    try:
        river_model.predict_proba_one(x)
        river_model.learn_one(x, True)
        expected: Any = "learned"
    except Exception as exc:
        expected = type(exc)
    try:
        step(x, True)
        got: Any = "learned"
    except Exception as exc:
        got = type(exc)
    assert got == expected
    assert canonical_dumps(folded) == canonical_dumps(river_model)


class RiverLearner(Learner):
    """The learner with river's own calls, as before the folded step."""

    def _folded(self, model: Any) -> None:
        return None


def test_the_learner_folds_habitat_and_learns_as_with_rivers_calls() -> None:
    folding, reference = Learner(habitat()), RiverLearner(habitat())
    assert folding._folded(folding.state.model) is not None
    for i, (x, y) in enumerate(stream(8, 3_000)):
        joined = Joined(f"e{i}", x, ("site-1",), i, 0.0)
        results = [learner._learn(joined, y) for learner in (folding, reference)]
        assert results[0] is results[1] is joined or type(results[0]) is type(results[1])
        assert folding.last_prediction == reference.last_prediction
    folding.checkpoint()
    reference.checkpoint()
    assert canonical_dumps(folding.state.model) == canonical_dumps(reference.state.model)
    assert folding.state.evaluation.report() == reference.state.evaluation.report()
    assert folding.state.n_learned == reference.state.n_learned
    assert [f.joined.event_id for f in folding.failures] == [
        f.joined.event_id for f in reference.failures
    ]


def test_other_models_and_per_key_learners_keep_rivers_calls() -> None:
    tree_learner = Learner(viability())
    assert tree_learner._folded(tree_learner.state.model) is None
    keyed = KeyedLearner(habitat_sites())
    pipeline = keyed.state.model.fallback
    assert folded_step(pipeline) is not None  # its models are foldable; the learner does not fold
    assert keyed._folded(pipeline) is None
