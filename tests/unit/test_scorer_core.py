"""The scorer's pure core: exact fast predictions, score rendering, the offset ledger, and the
one door snapshots come through (verified before a byte is unpickled)."""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import pickle
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river import linear_model, optim, preprocessing, tree

from lazarus.errors import SnapshotRejected
from lazarus.kafka.ledger import Ledger
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.opening import NotLearnedEnough
from lazarus.registry.sealing import SealedSnapshot, environment, seal
from lazarus.registry.signing import Signer, generate, parse_private
from lazarus.schemas.prequential import PrequentialBatch, prequential_id
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.scorer.predictors import ModelOutputError, describe, predict_checked, predictor_for
from lazarus.scorer.render import ScoreRenderer
from lazarus.scorer.serving import open_snapshot
from lazarus.trainer.prequential import PrequentialBatcher
from lazarus.trainer.specs import habitat

MARKER = Path("/tmp/lazarus-scorer-pwned-marker")


def trained_pipeline(n: int = 3000, seed: int = 3) -> tuple[Any, list[dict[str, float]]]:
    model = habitat().pipeline()
    xs = []
    stream = SensorNetwork(
        SimConfig(seed=seed, fault_rate=0.0, label_delay_s=0), datetime(2026, 1, 1, tzinfo=UTC)
    )
    for _, raw, outcome in itertools.islice(stream, n):
        x = SENSOR_READINGS.decode(raw).to_features()  # type: ignore[attr-defined]
        y = b'"label":true' in (outcome or b"")
        model.learn_one(x, y)
        xs.append(x)
    return model, xs


MODEL, XS = trained_pipeline()


def test_folded_linear_scoring_equals_river() -> None:
    predict = predictor_for(MODEL, "classification")
    assert describe(predict) == "folded linear"
    for x, (pred, proba) in zip(XS, predict(XS), strict=True):
        expected = MODEL.predict_proba_one(x)
        assert proba is not None
        assert proba[True] == pytest.approx(expected[True], abs=1e-9)
        assert proba[False] == pytest.approx(expected[False], abs=1e-9)
        assert pred == MODEL.predict_one(x)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*XS[0], "never_seen", "x_other"]),
        st.floats(-1e6, 1e6, allow_nan=False),
        min_size=0,
        max_size=20,
    )
)
def test_folded_scoring_equals_river_on_any_features(x: dict[str, float]) -> None:
    ((pred, proba),) = predictor_for(MODEL, "classification")([x])
    expected = MODEL.predict_proba_one(dict(x))
    assert proba is not None
    assert proba[True] == pytest.approx(expected[True], abs=1e-9)
    if abs(expected[True] - 0.5) > 1e-9:
        assert pred == MODEL.predict_one(dict(x))


def test_untrained_and_unscaled_models_fold_too() -> None:
    fresh = habitat().pipeline()
    ((pred, proba),) = predictor_for(fresh, "classification")([{"a": 1.0}])
    assert proba == {False: 0.5, True: 0.5} and pred is False  # river breaks the tie the same way
    bare = linear_model.LogisticRegression()
    for x in XS[:200]:
        bare.learn_one(x, x["lat"] > 0)
    predict = predictor_for(bare, "classification")
    assert describe(predict) == "folded linear"
    for x, (_, proba) in zip(XS[:50], predict(XS[:50]), strict=True):
        assert proba is not None and proba[True] == pytest.approx(
            bare.predict_proba_one(x)[True], abs=1e-9
        )


def test_other_models_go_through_river() -> None:
    model = preprocessing.StandardScaler() | tree.HoeffdingTreeClassifier()
    assert predictor_for(model, "classification")(XS[:1]) == [(None, None)]  # no opinion yet
    for x in XS[:300]:
        model.learn_one(x, x["lat"] > 20)
    predict = predictor_for(model, "classification")
    assert describe(predict) == "river"
    assert [p for p, _ in predict(XS[:50])] == [model.predict_one(x) for x in XS[:50]]
    random_init = linear_model.LogisticRegression(initializer=optim.initializers.Normal(seed=1))
    assert describe(predictor_for(random_init, "classification")) == "river"
    reg = linear_model.LinearRegression()
    reg.learn_one({"a": 1.0}, 2.0)
    assert predictor_for(reg, "regression")([{"a": 1.0}]) == [(reg.predict_one({"a": 1.0}), None)]


def test_rendered_scores_are_valid_scores() -> None:
    renderer = ScoreRenderer("habitat", 7, {"t:1": 40, "t:0": 12})
    at = datetime(2026, 5, 1, 12, tzinfo=UTC).isoformat()
    cases: list[tuple[Any, Any]] = [
        (True, {False: 0.25, True: 0.75}),
        (False, {False: 1.0, True: 0.0}),
        (None, None),
        (3.5, None),
    ]
    for pred, proba in cases:
        sid, raw = renderer.render("sensor-1-9", "site-004", pred, proba, at, 1.23456)
        score = Score.model_validate_json(strict_json(raw))
        assert score.event_id == sid == score_id("sensor-1-9", "habitat")
        assert score.model_version == 7 and score.trained_through == {"t:0": 12, "t:1": 40}
        assert score.subject == "site-004" and score.input_event_id == "sensor-1-9"
        assert score.prediction == pred
        assert score.probabilities == (
            None if proba is None else {str(k): v for k, v in proba.items()}
        )
        assert score.latency_ms == pytest.approx(1.235)
    # the same event and model always give the same id, whichever version scored it
    assert (
        renderer.render("e", "s", True, None, at, 0)[0]
        == renderer.render("e", "s", False, None, at, 9)[0]
        == ScoreRenderer("habitat", 8, {"t:0": 99}).render("e", "s", True, None, at, 0)[0]
    )


def test_the_score_id_is_one_per_model_and_input_whatever_the_version() -> None:
    """The deduplication key: a rescore after a crash, by a newer version, keeps the id."""
    at = datetime(2026, 5, 1, 12, tzinfo=UTC).isoformat()
    ids = {
        ScoreRenderer("habitat", v, {"t:0": 10 * v}).render(
            "sensor-1-9", "s", v % 2 == 0, None, at, 1
        )[0]
        for v in range(1, 30)
    }
    assert ids == {score_id("sensor-1-9", "habitat")}
    assert score_id("sensor-1-9", "habitat") != score_id("sensor-1-10", "habitat")
    assert score_id("sensor-1-9", "habitat") != score_id("sensor-1-9", "viability")
    assert score_id("e", "habitat") != prequential_id("e", "habitat")


# -- no NaN reaches a score ------------------------------------------------------------------


def strict_json(raw: bytes) -> bytes:
    """`raw`, after checking it parses as strict JSON: NaN and infinity are not JSON."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    json.loads(raw, parse_constant=refuse)
    return raw


def poisoned(model: Any, *, weights: float = math.nan, var: float | None = None) -> Any:
    """A copy of `model` with every weight set to `weights`, and optionally every variance."""
    model = copy.deepcopy(model)
    scaler, lr = model.steps.values()
    for name in list(lr._weights):
        lr._weights[name] = weights
    if var is not None:
        for name in list(scaler.vars):
            scaler.vars[name] = var
    return model


def render_all(predictions: list[Any]) -> list[Score | Exception]:
    """What the scorer publishes for each checked prediction: a validated score, or the error."""
    renderer = ScoreRenderer("habitat", 3, {"t:0": 1})
    at = datetime(2026, 5, 1, tzinfo=UTC).isoformat()
    out: list[Score | Exception] = []
    for result in predictions:
        if isinstance(result, Exception):
            out.append(result)
            continue
        _, raw = renderer.render("e-1", "site-1", result[0], result[1], at, 0.5)
        out.append(Score.model_validate_json(strict_json(raw)))
    return out


def test_a_model_with_nan_weights_is_not_folded_and_every_prediction_is_refused() -> None:
    model = poisoned(MODEL)
    predict = predictor_for(model, "classification")
    assert describe(predict) == "river"  # regrouped, NaN arithmetic would not be river's
    results = predict_checked(predict, XS[:50])
    assert all(isinstance(r, ModelOutputError) and "nan" in str(r) for r in results)
    # the river path: a model that never folds (random initialiser), with NaN weights
    unfoldable = preprocessing.StandardScaler() | linear_model.LogisticRegression(
        initializer=optim.initializers.Normal(seed=1)
    )
    for x in XS[:200]:
        unfoldable.learn_one(x, x["lat"] > 20)
    unfoldable = poisoned(unfoldable)
    results = predict_checked(predictor_for(unfoldable, "classification"), XS[:50])
    assert all(isinstance(r, ModelOutputError) for r in results)


def test_an_infinite_variance_is_not_folded_and_nothing_non_finite_is_served() -> None:
    for weights, var in ((0.5, math.inf), (math.inf, math.inf), (math.nan, 1.0)):
        model = poisoned(MODEL, weights=weights, var=var)
        predict = predictor_for(model, "classification")
        assert describe(predict) == "river"
        for x, result in zip(XS[:50], predict_checked(predict, XS[:50]), strict=True):
            expected = model.predict_proba_one(x)
            if all(math.isfinite(p) for p in expected.values()):
                assert not isinstance(result, Exception) and result[1] == expected
            else:
                assert isinstance(result, ModelOutputError)
        render_all(predict_checked(predict, XS[:50]))  # every score parses and validates


def test_the_folded_path_checks_its_outputs() -> None:
    bare = linear_model.LogisticRegression()
    bare.learn_one({"a": 1.0, "b": 1.0}, True)
    bare._weights["a"], bare._weights["b"] = 10.0, 10.0
    predict = predictor_for(bare, "classification")
    assert describe(predict) == "folded linear"
    xs = [{"a": 0.1, "b": 0.2}, {"a": 1e308, "b": -1e308}, {"a": -0.3}]  # inf - inf = NaN
    results = predict_checked(predict, xs)
    assert isinstance(results[1], ModelOutputError)
    for x, result in zip(xs[::2], results[::2], strict=True):
        assert not isinstance(result, Exception)
        assert result[1] is not None
        assert result[1][True] == pytest.approx(bare.predict_proba_one(x)[True], abs=1e-9)
    scores = render_all(results)
    assert [type(s).__name__ for s in scores] == ["Score", "ModelOutputError", "Score"]


def test_outputs_a_score_cannot_carry_are_refused() -> None:
    def model(outputs: list[Any]) -> Any:
        return lambda xs: outputs[: len(xs)]

    bad = [
        (math.nan, None),
        (math.inf, None),
        (np.float32("nan"), None),
        ([1, 2], None),
        (object(), None),
        (True, {False: math.nan, True: 0.5}),
        (True, {False: -math.inf, True: math.inf}),
    ]
    for output in bad:
        (result,) = predict_checked(model([output]), [{}])
        assert isinstance(result, ModelOutputError), output
    good = [
        (2.5, None),
        (np.float64(1.5), None),
        (np.bool_(True), {True: 0.75, False: 0.25}),
        ("a string class", {"a string class": 1.0}),
        (2, {0: 0.25, 2: 0.75}),
    ]
    assert predict_checked(model(good), [{}] * len(good)) == good
    assert all(isinstance(s, Score) for s in render_all(good))
    # a batch with one bad output: the others are served
    mixed = predict_checked(lambda xs: [(x["v"], None) for x in xs], [{"v": 1.0}, {"v": math.nan}])
    assert mixed[0] == (1.0, None) and isinstance(mixed[1], ModelOutputError)


def not_a_json_number(n: Any) -> bool:
    if isinstance(n, float):
        return not math.isfinite(n)
    return isinstance(n, int) and not isinstance(n, bool) and abs(n) > 1e308


@settings(max_examples=300, deadline=None)
@given(
    prediction=st.one_of(st.none(), st.booleans(), st.floats(), st.integers()),
    probabilities=st.one_of(
        st.none(), st.dictionaries(st.sampled_from([True, False, "x", 3]), st.floats(), max_size=3)
    ),
    latency=st.one_of(st.floats(0, 1e6), st.sampled_from([math.nan, math.inf])),
)
def test_renderers_never_write_invalid_json(
    prediction: Any, probabilities: dict[Any, float] | None, latency: float
) -> None:
    """A non-finite number is a ValueError (the caller dead-letters); anything rendered is a
    strictly valid Score / PrequentialBatch."""
    at = datetime(2026, 5, 1, tzinfo=UTC).isoformat()
    try:
        _, raw = ScoreRenderer("habitat", 2, {}).render(
            "e-1", "site-1", prediction, probabilities, at, latency
        )
    except ValueError:
        numbers = [prediction, latency, *(probabilities or {}).values()]
        assert any(map(not_a_json_number, numbers))
    else:
        Score.model_validate_json(strict_json(raw))
    label = True if prediction is None else prediction
    batcher = PrequentialBatcher("habitat", ("site_id",))
    batcher.open(at)
    try:
        batcher.add("e-1", 4, label, prediction, probabilities, ("site-1",))
    except ValueError:
        numbers = [label, prediction, *(probabilities or {}).values()]
        assert any(map(not_a_json_number, numbers))
        assert batcher.close() is None
    else:
        PrequentialBatch.model_validate_json(strict_json(batcher.close() or b""))


def test_ledger_stores_offsets_only_in_batch_order_after_every_ack() -> None:
    ledger = Ledger()
    first = ledger.open({("t", 0): 10}, 2)
    second = ledger.open({("t", 0): 20, ("t", 1): 5}, 1)
    second.ack(None, "m")
    assert ledger.ready() == {}  # the first batch is not acknowledged yet
    first.ack(None, "m")
    first.ack("broker error", "lost")
    assert ledger.ready() == {}
    assert ledger.failures() == [(first, "lost")]
    assert ledger.failures() == []  # handed over once
    first.ack(None, "resent")
    assert ledger.ready() == {("t", 0): 20, ("t", 1): 5}
    assert len(ledger) == 0 and ledger.unacknowledged == 0


# -- the door --------------------------------------------------------------------------------


class Evil:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {MARKER}",))


def sealed_model(signer: Signer, model: Any, **changes: Any) -> SealedSnapshot:
    spec = habitat()
    fields: dict[str, Any] = {
        "model": "habitat",
        "version": 3,
        "created_at": datetime.now(UTC),
        "n_learned": 3000,
        "metrics": {},
        "rolling_metrics": {},
        "trained_through": {"t:0": 3000},
        "join": {
            k: 0
            for k in (
                "pending",
                "joined",
                "expired",
                "evicted",
                "unmatched",
                "duplicate_outcomes",
                "duplicate_features",
            )
        },
        "invalid_events": 0,
        "schema_fingerprint": spec.fingerprint,
        "environment": environment(),
        "pipeline": "StandardScaler | LogisticRegression",
    }
    fields.update(changes)
    sealed, _ = seal({"state": "not for scorers"}, fields, signer, serving=model)
    return sealed


def door(sealed: SealedSnapshot, signer: Signer, **kw: Any) -> Any:
    spec = habitat()
    return open_snapshot(
        sealed,
        signer.verifier,
        model=kw.get("model", "habitat"),
        version=kw.get("version", 3),
        fingerprint=spec.fingerprint,
        task="classification",
        min_learned=kw.get("min_learned", spec.min_learned),
    )


def test_a_version_that_learned_too_little_is_refused_before_unpickling() -> None:
    MARKER.unlink(missing_ok=True)
    s = parse_private(generate()[0])
    with pytest.raises(NotLearnedEnough, match="learned 0 events, fewer than the 1"):
        door(sealed_model(s, Evil(), n_learned=0), s)  # refused before the allowlist runs
    with pytest.raises(SnapshotRejected, match="learned 3000 events, fewer than the 5000"):
        door(sealed_model(s, MODEL), s, min_learned=5000)
    assert door(sealed_model(s, MODEL, n_learned=1), s).manifest.n_learned == 1
    assert not MARKER.exists()


def test_a_verified_snapshot_serves_the_model_it_signed() -> None:
    s = parse_private(generate()[0])
    serving = door(sealed_model(s, MODEL), s)
    assert serving.version == 3 and serving.manifest.trained_through == {"t:0": 3000}
    assert serving.predict(XS[:1])[0][1][True] == pytest.approx(
        MODEL.predict_proba_one(XS[0])[True]
    )


@pytest.mark.parametrize("case", ["flipped", "wrong_key", "malicious", "relabelled"])
def test_tampered_snapshots_are_refused_before_unpickling(case: str) -> None:
    MARKER.unlink(missing_ok=True)
    s = parse_private(generate()[0])
    sealed = sealed_model(s, MODEL)
    if case == "flipped":
        flipped = bytearray(sealed.model)
        flipped[len(flipped) // 2] ^= 0xFF
        sealed = replace(sealed, model=bytes(flipped))
        match = "model digest"
    elif case == "wrong_key":
        sealed = sealed_model(parse_private(generate()[0]), MODEL)
        match = "signature"
    elif case == "malicious":
        # a pickle that runs a command, with a stolen manifest and signature
        sealed = replace(sealed, model=pickle.dumps(Evil()))
        match = "model digest"
    else:
        match = "stored as v4"
    with pytest.raises(SnapshotRejected, match=match):
        door(sealed, s, version=4 if case == "relabelled" else 3)
    assert not MARKER.exists()


def test_a_signed_malicious_model_is_stopped_by_the_allowlist() -> None:
    MARKER.unlink(missing_ok=True)
    s = parse_private(generate()[0])  # the real key was stolen: the allowlist is the second wall
    with pytest.raises(SnapshotRejected, match="allowlist"):
        door(sealed_model(s, Evil()), s)
    assert not MARKER.exists()


def test_incompatible_snapshots_are_refused_with_the_reason() -> None:
    s = parse_private(generate()[0])
    with pytest.raises(SnapshotRejected, match="schema fingerprint"):
        door(sealed_model(s, MODEL, schema_fingerprint="f" * 64), s)
    with pytest.raises(SnapshotRejected, match=r"river 0\.1\.0"):
        door(sealed_model(s, MODEL, environment={**environment(), "river": "0.1.0"}), s)
    other_python = door(sealed_model(s, MODEL, environment={**environment(), "python": "3.99"}), s)
    assert other_python.version == 3  # logged, allowed
    legacy = replace(sealed_model(s, MODEL), model=b"")
    with pytest.raises(SnapshotRejected):
        door(legacy, s)
