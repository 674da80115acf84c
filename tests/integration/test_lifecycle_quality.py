"""The quality monitor acts on the lifecycle, on the real broker and Redis: a clearly better
challenger is promoted with its evidence in the audit stream, and a clearly worse current
version is rolled back to the baseline. Scores, shadow scores and prequential records are put
on their topics directly, as scorers and the trainer would publish them."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import redis

from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.quality.app import QualityApp
from lazarus.registry.lineup import Lineup
from lazarus.schemas.models import HABITAT
from lazarus.schemas.prequential import PrequentialRecord, prequential_id
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import HABITAT_SCORES, PREQUENTIAL, SENSOR_READINGS, SHADOW_SCORES
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.integration.scorerkit import ModelMaker, wait_until
from tests.integration.trainerkit import store_of, with_keys

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def score(s: Settings, i: int, line: str, version: int, right: bool, role: str | None) -> Score:
    """Input `i`'s score by `line`'s `version` (the label is always True): on the model's
    score topic with `role` None, else in shadow. Its version had learned nothing of the input
    topic, so every score is honest."""
    input_id = f"in-{i}"
    return Score(
        event_id=score_id(input_id, f"{line}|{role}"),
        event_time=NOW,
        input_event_id=input_id,
        subject=f"site-{i % 7}",
        model=line,
        model_version=version,
        trained_through={f"{SENSOR_READINGS.full(s.topic_prefix)}:0": 0},
        prediction=right,
        probabilities={"True": 0.9 if right else 0.1, "False": 0.1 if right else 0.9},
        scored_at=NOW,
        latency_ms=1.0,
        shadow_of=None if role is None else "habitat",
        role=role,  # type: ignore[arg-type]
    )


def record(s: Settings, i: int) -> PrequentialRecord:
    input_id = f"in-{i}"
    return PrequentialRecord(
        event_id=prequential_id(input_id, "habitat"),
        event_time=NOW,
        input_event_id=input_id,
        model="habitat",
        n_learned=i,
        label=True,
        prediction=True,
        input_topic=SENSOR_READINGS.full(s.topic_prefix),
        input_partition=0,
        input_offset=i,
    )


def put(
    s: Settings, n: int, served: tuple[str, int, float], shadow: tuple[str, int, str, float]
) -> None:
    """`n` inputs: the main score by `served` (line, version, how often right), a shadow score
    by `shadow` (line, version, role, how often right), and the trainer's record of each."""
    rng, p = random.Random(7), s.topic_prefix
    batch: list[tuple[str, str | bytes | None, bytes]] = []
    for i in range(n):
        main = score(s, i, "habitat", served[1], rng.random() < served[2], None)
        other = score(s, i, shadow[0], shadow[1], rng.random() < shadow[3], shadow[2])
        batch += [
            (HABITAT_SCORES.full(p), main.key, HABITAT_SCORES.encode(main)),
            (SHADOW_SCORES.full(p), other.key, SHADOW_SCORES.encode(other)),
        ]
        batch.append((PREQUENTIAL.full(p), f"in-{i}", PREQUENTIAL.encode(record(s, i))))
    publisher = Publisher(producer_config(s)).start(10)
    publisher.publish_many(batch)
    assert publisher.close(30).failed == 0


def judge_until(app: QualityApp, done: object, what: str) -> None:
    app.start()
    try:
        wait_until(lambda: app.step() >= 0 and done(), 90, what)  # type: ignore[operator]
    finally:
        app.stop()


def test_a_clearly_better_challenger_is_promoted_with_its_evidence(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    maker, store = ModelMaker(s), store_of(s)
    maker.publish()  # habitat v1, served
    sealed, _ = maker.sealed_next()
    assert store.publish("habitat.fresh", 1, sealed, 10).outcome == "ok"  # the challenger line
    client = redis.Redis.from_url(s.redis_url_value)
    lineup = Lineup(client, s.redis_key_prefix)
    lineup.join("habitat", "habitat.fresh")
    put(s, 700, served=("habitat", 1, 0.6), shadow=("habitat.fresh", 1, "challenger", 0.95))

    app = QualityApp(s, HABITAT, client)
    judge_until(app, lambda: lineup.champion("habitat") == "habitat.fresh", "the promotion")

    (move,) = [h for h in store.history("habitat") if h["action"] == "promote"]
    assert (move["line"], move["version"], move["actor"]) == (
        "habitat.fresh",
        "1",
        "quality-monitor",
    )
    evidence = json.loads(move["evidence"])
    assert 500 <= evidence["events"] <= 700 and evidence["metric"] == "Accuracy"
    assert evidence["interval"][0] > 0 and evidence["challenger"] > evidence["champion"]
    assert evidence["policy"] == {"min_events": 500, "margin": 0.0, "confidence": 0.95}
    assert lineup.challengers("habitat") == ["habitat"]
    baseline = lineup.baseline("habitat")  # what was served before, for the rollback guard
    assert baseline is not None and (baseline.line, baseline.version) == ("habitat", 1)
    assert lineup.record("habitat", "action")["kind"] == "promote"
    assert app.stats()["promotions"] == 1

    env = cli_env(s)
    shown = lazarus("models", "gate", "habitat", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    gate = json.loads(shown.stdout)
    assert gate["champion"] == {"line": "habitat.fresh", "version": 1}
    assert [c["line"] for c in gate["challengers"]] == ["habitat"]
    assert gate["last_action"]["kind"] == "promote" and gate["metric"] == "Accuracy"
    text = lazarus("models", "gate", "habitat", env=cli_env(s, COLUMNS="200"))
    assert text.returncode == 0 and "serving habitat.fresh v1" in text.stdout
    history = json.loads(lazarus("models", "history", "habitat", "--json", env=env).stdout)
    assert history[0]["action"] == "promote" and history[0]["previous_line"] == "habitat"
    assert history[0]["evidence"]["events"] == evidence["events"]
    client.close()


def test_a_clearly_worse_current_is_rolled_back_to_the_baseline(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    maker, store = ModelMaker(s), store_of(s)
    maker.publish()
    maker.publish()  # v2 is served
    client = redis.Redis.from_url(s.redis_url_value)
    lineup = Lineup(client, s.redis_key_prefix)
    lineup.set_baseline("habitat", "habitat", 1)
    put(s, 500, served=("habitat", 2, 0.6), shadow=("habitat", 1, "baseline", 0.95))

    app = QualityApp(s, HABITAT, client)
    judge_until(app, lambda: store.current("habitat") == 1, "the rollback")

    (move,) = [h for h in store.history("habitat") if h["action"] == "rollback"]
    assert (move["version"], move["previous"], move["actor"]) == ("1", "2", "quality-monitor")
    evidence = json.loads(move["evidence"])
    assert evidence["events"] >= 300 and evidence["interval"][1] < -0.02
    assert evidence["policy"]["margin"] == 0.02
    assert store.pinned("habitat") == 1  # trainer publishes no longer move it
    assert lineup.record("habitat", "action")["kind"] == "rollback"
    assert lineup.champion("habitat") == "habitat" and not lineup.held("habitat")
    client.close()
