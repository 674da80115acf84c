"""A per-key model's scorer core: routing by key to the key's model or the fallback, the shard
door (the usual checks, then a model that routes), held partitions, keyed scores' JSON."""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from lazarus.errors import SnapshotRejected
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.sealing import environment, seal
from lazarus.registry.signing import Signer, generate, parse_private
from lazarus.schemas.models import HABITAT_SITES
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.scorer.keyed_scoring import without_held
from lazarus.scorer.keyed_serving import ServingShard, open_shard, predict_routed
from lazarus.scorer.predictors import ModelOutputError
from lazarus.scorer.render import ScoreRenderer
from lazarus.trainer.keyed import KeyedModel
from lazarus.trainer.specs import load_spec

SPEC = load_spec("habitat_sites")
SIGNER = parse_private(generate()[0])


def trained(*, fallback: bool = True, min_history: int = 20) -> tuple[KeyedModel, list[Any]]:
    """A KeyedModel that learned the sites of 600 readings, and those readings."""
    model = KeyedModel(SPEC.pipeline(), min_history=min_history, fallback=fallback)
    stream = SensorNetwork(
        SimConfig(seed=5, fault_rate=0.0, label_delay_s=0), datetime(2026, 1, 1, tzinfo=UTC)
    )
    events = []
    for _, raw, outcome in itertools.islice(stream, 600):
        event = SENSOR_READINGS.decode(raw)
        model.learn_one(event.site_id, event.to_features(), b'"label":true' in (outcome or b""))  # type: ignore[attr-defined]
        events.append(event)
    return model, events


def shard_of_model(model: Any, partition: int = 0) -> ServingShard:
    renderer = ScoreRenderer("habitat_sites", 4, {"t:0": 9}, line=f"habitat_sites.shard{partition}")
    return ServingShard(partition, None, model, renderer, "classification", "site_id")  # type: ignore[arg-type]


def test_each_key_is_predicted_by_the_model_its_shard_routes_it_to() -> None:
    model, events = trained()
    shard = shard_of_model(model)
    items = [(shard, e.site_id, e.to_features()) for e in events[:120]]
    items.append((shard, "site-never-seen", events[0].to_features()))
    results = predict_routed(items)
    routes = set()
    for (_, key, x), (result, route) in zip(items, results, strict=True):
        estimator, expected_route = model.route(key)
        assert route == expected_route
        assert not isinstance(result, Exception) and estimator is not None
        expected = estimator.predict_proba_one(x)
        assert result[1] is not None
        assert result[1][True] == pytest.approx(expected[True], abs=1e-9)
        routes.add(route)
    assert routes == {"key", "fallback"}  # 600 readings of 60 sensors: 12 sites learned 50
    assert results[-1][1] == "fallback"  # a key never seen: the fallback answers
    # each key routed once per version; the keys the fallback answers share its predictor
    keys = {k for _, k, _ in items}
    assert len(shard._answers) == len(keys) == 13
    fallback = {shard._answers[k][0] for k in keys if shard._answers[k][1] == "fallback"}
    assert len(fallback) == 1


def test_without_a_fallback_an_unseen_key_gets_a_null_prediction() -> None:
    model, events = trained(fallback=False)
    shard = shard_of_model(model)
    x = events[0].to_features()
    (seen, unseen) = predict_routed([(shard, events[0].site_id, x), (shard, "nobody", x)])
    assert seen[1] == "key" and not isinstance(seen[0], Exception) and seen[0][0] is not None
    assert unseen == ((None, None), "key")


class Routes:
    """A routing model that answers as told: a key -> (estimator, route), or raises."""

    def __init__(self, table: dict[str, tuple[Any, str]]) -> None:
        self.table = table

    def route(self, key: str) -> tuple[Any, str]:
        if key == "boom":
            raise RuntimeError("the shard cannot route this")
        return self.table[key]


class Constant:
    def __init__(self, p: float) -> None:
        self.p = p

    def predict_proba_one(self, x: dict[str, float]) -> dict[bool, float]:
        return {False: 1 - self.p, True: self.p}


def test_a_failing_route_or_prediction_stands_in_for_that_input_only() -> None:
    shard = shard_of_model(
        Routes(
            {
                "ok": (Constant(0.75), "key"),
                "nan": (Constant(math.nan), "fallback"),
                "odd": (Constant(0.5), "somewhere"),
            }
        )
    )
    x = {"a": 1.0}
    results = predict_routed([(shard, k, x) for k in ("ok", "boom", "nan", "odd", "ok")])
    assert results[0] == ((True, {False: 0.25, True: 0.75}), "key") == results[4]
    assert isinstance(results[1][0], RuntimeError)
    assert isinstance(results[2][0], ModelOutputError) and results[2][1] == "fallback"
    assert isinstance(results[3][0], ModelOutputError)


def test_a_keyed_score_is_the_score_contract_with_key_route_and_shard() -> None:
    renderer = ScoreRenderer(
        "habitat_sites", 7, {"sensors:1": 40}, HABITAT_SITES.labels, line="habitat_sites.shard1"
    )
    for key, route, pred, proba in (
        ('site "7"', "key", True, {False: 0.1, True: 0.9}),
        ("site-8", "fallback", False, {False: 0.6, True: 0.4}),
        ("site-9", "key", None, None),
    ):
        sid, raw = renderer.render(
            "in-1",
            "site-8",
            pred,
            proba,
            "2026-01-01T00:00:00+00:00",
            1.5,
            model_key=key,
            route=route,
        )
        score = Score.model_validate_json(raw)
        assert sid == score.event_id == score_id("in-1", "habitat_sites")
        assert (score.model, score.line, score.model_version) == (
            "habitat_sites",
            "habitat_sites.shard1",
            7,
        )
        assert (score.model_key, score.route, score.prediction) == (key, route, pred)
        assert score.trained_through == {"sensors:1": 40}
    # a whole model's score is byte for byte what it was: no key, no route
    _, raw = ScoreRenderer("habitat", 1, {}).render("in-1", "s", True, None, "t", 1.0)
    assert "model_key" not in json.loads(raw) and "route" not in json.loads(raw)


class Msg:
    def __init__(self, partition: int, offset: int, error: object = None) -> None:
        self._p, self._o, self._e = partition, offset, error

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def topic(self) -> str:
        return "in"

    def error(self) -> object:
        return self._e


def test_the_inputs_of_a_partition_without_a_shard_are_held_from_their_first() -> None:
    msgs = [Msg(0, 5), Msg(1, 7), Msg(0, 6), Msg(1, 8), Msg(2, 0, error="down")]
    keep, held = without_held(msgs, {0: object()})  # type: ignore[arg-type]
    assert [(m.partition(), m.offset()) for m in keep] == [(0, 5), (0, 6), (2, 0)]
    assert held == {("in", 1): 7}


def sealed_shard(model: Any, line: str, signer: Signer = SIGNER, **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "model": line,
        "version": 2,
        "created_at": datetime.now(UTC),
        "n_learned": 600,
        "metrics": {},
        "rolling_metrics": {},
        "trained_through": {"sensors:1": 600},
        "join": {
            "pending": 0,
            "joined": 600,
            "expired": 0,
            "evicted": 0,
            "unmatched": 0,
            "duplicate_outcomes": 0,
            "duplicate_features": 0,
        },
        "invalid_events": 0,
        "schema_fingerprint": SPEC.fingerprint,
        "environment": environment(),
        "pipeline": "KeyedModel",
        **changes,
    }
    sealed, _ = seal({"state": "not for scorers"}, fields, signer, serving=model)
    return sealed


def test_a_shard_comes_through_the_usual_door_and_must_route() -> None:
    model, events = trained()
    line = "habitat_sites.shard1"
    shard = open_shard(sealed_shard(model, line), SIGNER.verifier, HABITAT_SITES, line, 2)
    assert (shard.partition, shard.line, shard.version, shard.key_field) == (1, line, 2, "site_id")
    assert shard.manifest.trained_through == {"sensors:1": 600}
    predictor, route = shard.answering(events[0].site_id)
    assert predictor is not None and route in ("key", "fallback")

    other = parse_private(generate()[0])
    with pytest.raises(SnapshotRejected, match=r"signature|signer"):
        open_shard(sealed_shard(model, line, other), SIGNER.verifier, HABITAT_SITES, line, 2)
    with pytest.raises(SnapshotRejected, match="not a per-key model"):
        whole = SPEC.pipeline()
        open_shard(sealed_shard(whole, line), SIGNER.verifier, HABITAT_SITES, line, 2)
    with pytest.raises(SnapshotRejected, match="not a shard line"):
        open_shard(
            sealed_shard(model, "habitat_sites"), SIGNER.verifier, HABITAT_SITES, "habitat_sites", 2
        )
    with pytest.raises(SnapshotRejected, match="other features"):
        sealed = sealed_shard(model, line, schema_fingerprint="0" * 64)
        open_shard(sealed, SIGNER.verifier, HABITAT_SITES, line, 2)
