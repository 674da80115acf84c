"""The scorer's pure core: exact fast predictions, score rendering, the offset ledger, and the
one door snapshots come through (verified before a byte is unpickled)."""

from __future__ import annotations

import itertools
import os
import pickle
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river import linear_model, optim, preprocessing, tree

from lazarus.errors import SnapshotRejected
from lazarus.signing import Signer, generate, parse_private
from lazarus.snapshot import SealedSnapshot, environment, seal
from producers.sensor_sim import SensorNetwork, SimConfig
from schemas.scores import Score, score_id
from schemas.topics import SENSOR_READINGS
from scorer.fastpath import describe, predictor_for
from scorer.ledger import Ledger
from scorer.render import ScoreRenderer
from scorer.serving import open_snapshot
from trainer.specs import habitat

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
        score = Score.model_validate_json(raw)
        assert score.event_id == sid == score_id("sensor-1-9", "habitat", 7)
        assert score.model_version == 7 and score.trained_through == {"t:0": 12, "t:1": 40}
        assert score.subject == "site-004" and score.input_event_id == "sensor-1-9"
        assert score.prediction == pred
        assert score.probabilities == (
            None if proba is None else {str(k): v for k, v in proba.items()}
        )
        assert score.latency_ms == pytest.approx(1.235)
    # the same event, model and version always give the same id; another version another id
    assert (
        renderer.render("e", "s", True, None, at, 0)[0]
        == renderer.render("e", "s", False, None, at, 9)[0]
    )
    assert (
        ScoreRenderer("habitat", 8, {}).render("e", "s", True, None, at, 0)[0]
        != renderer.render("e", "s", True, None, at, 0)[0]
    )


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
    )


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
