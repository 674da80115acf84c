"""Scorer workers against the real broker and Redis: lineage, dead letters, hot-swap,
refused snapshots, Redis outages, and offsets committed only for what was delivered."""

from __future__ import annotations

import os
import pickle
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
from confluent_kafka import Consumer, TopicPartition

from lazarus.embedded.ports import free_port
from lazarus.groups import group_name
from lazarus.kafka.config import client_config
from lazarus.registry.sealing import seal
from lazarus.registry.signing import generate, parse_private, verifier_from
from lazarus.schemas import DeadLetter
from lazarus.schemas.models import HABITAT
from lazarus.schemas.topics import DEAD_LETTERS, SENSOR_READINGS
from lazarus.scorer.app import ScorerApp
from lazarus.settings import Settings
from tests.integration.kafkatools import read_all
from tests.integration.scorerkit import (
    ModelMaker,
    running_scorer,
    scores,
    send_raw,
    send_sensors,
    wait_until,
)
from tests.integration.tcpproxy import Proxy
from tests.integration.trainerkit import log_ends, with_keys

MARKER = Path("/tmp/lazarus-scorer-integration-marker")


@pytest.fixture
def s(settings: Settings, topics: list[str]) -> Settings:
    return with_keys(settings).with_overrides(scorer_poll_seconds=0.5)


def committed(settings: Settings) -> dict[str, int]:
    conf = client_config(settings, quiet=True)
    consumer = Consumer(
        {**conf, "group.id": group_name(settings.topic_prefix, "scorer", "habitat")}
    )
    try:
        topic = SENSOR_READINGS.full(settings.topic_prefix)
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        got = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        return {f"{tp.topic}:{tp.partition}": tp.offset for tp in got}
    finally:
        consumer.close()


def test_every_event_is_scored_with_its_lineage_and_bad_input_is_dead_lettered(s: Settings) -> None:
    maker = ModelMaker(s)
    manifest = maker.publish(learn=2000)
    valid = send_sensors(s, 1500, fault_rate=0.01)
    garbage = [b"not json", b'{"event_id": "x"}', b"\xff\xfe"]
    send_raw(s, garbage)
    invalid = 1500 - len(valid) + len(garbage)
    assert invalid > len(garbage), "the feed was meant to include faulty readings"
    with running_scorer(s) as app:
        wait_until(lambda: app.scored + app.dead_letters.count >= 1500 + len(garbage), 60, "scores")
        wait_until(lambda: len(app.ledger) == 0, 30, "acknowledgements")
        assert app.scored == len(valid) and app.dead_letters.count == invalid
    out = scores(s, expect=len(valid))
    assert sorted(sc.input_event_id for sc in out) == sorted(
        valid
    )  # each once: no restart happened
    model = maker.learner.state.model
    for sc in out[:200]:
        assert sc.model == "habitat" and sc.model_version == manifest.version
        assert sc.trained_through == manifest.trained_through
        assert sc.probabilities is not None and sc.latency_ms >= 0
    # the served probability is river's, for the features the shared schema code computes
    by_id = {sc.input_event_id: sc for sc in out}
    readings = read_all(s, SENSOR_READINGS.full(s.topic_prefix), expect=1500 + len(garbage))
    checked = 0
    for msg in readings[:300]:
        try:
            event = SENSOR_READINGS.decode(msg.value() or b"")
        except ValueError:
            continue
        expected = model.predict_proba_one(event.to_features())[True]  # type: ignore[attr-defined]
        assert by_id[event.event_id].probabilities["True"] == pytest.approx(expected, abs=1e-9)  # type: ignore[index]
        checked += 1
    assert checked > 200
    letters = [
        DeadLetter.model_validate_json(m.value() or b"")
        for m in read_all(s, DEAD_LETTERS.full(s.topic_prefix), expect=invalid)
    ]
    assert len(letters) == invalid
    for letter in letters:
        assert letter.stage == "scorer" and letter.origin_topic == SENSOR_READINGS.full(
            s.topic_prefix
        )
        assert letter.origin_partition is not None and letter.origin_offset is not None
        assert letter.reason and letter.error_class == "ValidationError"
    assert sum(1 for x in letters if "outside" in x.reason) == invalid - len(garbage)
    # offsets were committed exactly to the end of what was delivered
    assert committed(s) == log_ends(s, [SENSOR_READINGS.full(s.topic_prefix)])


def test_a_new_version_is_served_as_soon_as_it_is_announced(s: Settings) -> None:
    maker = ModelMaker(s)
    v1 = maker.publish()
    with running_scorer(s.with_overrides(scorer_poll_seconds=60.0)) as app:  # notifications only
        first = send_sensors(s, 200, seed=1)
        wait_until(lambda: app.scored >= 200, 60, "v1 scores")
        v2 = maker.publish()
        wait_until(
            lambda: app.model is not None and app.model.version == v2.version, 10, "swap to v2"
        )
        second = send_sensors(s, 200, seed=2)
        wait_until(lambda: app.scored >= 400, 60, "v2 scores")
    versions = {sc.input_event_id: sc.model_version for sc in scores(s, expect=400)}
    assert {versions[i] for i in first} == {v1.version}
    assert {versions[i] for i in second} == {v2.version}


def test_polling_catches_a_lost_notification(s: Settings) -> None:
    maker = ModelMaker(s)
    maker.publish()
    with running_scorer(s.with_overrides(scorer_poll_seconds=0.3), notifications=False) as app:
        wait_until(lambda: app.model is not None, 10, "v1")
        v2 = maker.publish()
        wait_until(lambda: app.model is not None and app.model.version == v2.version, 10, "poll")


def test_the_output_topics_are_looked_up_before_the_worker_is_ready(s: Settings) -> None:
    app = ScorerApp(s, HABITAT, verifier_from(s))
    app.start(30)
    try:
        assert app.publisher.warmed == set(app.output_topics)
        assert app.scores_topic in app.output_topics and len(app.output_topics) == 3
    finally:
        app.stop()


def test_without_a_snapshot_the_worker_waits_and_scores_nothing(s: Settings) -> None:
    send_sensors(s, 100)
    with running_scorer(s) as app:
        wait_until(lambda: app.stats()["serving"] == "waiting for a snapshot", 5, "waiting state")
        time.sleep(1.0)  # a window in which an eager scorer would have scored
        assert app.scored == 0
        ModelMaker(s).publish()
        wait_until(
            lambda: app.scored >= 100,
            60,
            f"scores after the first snapshot ({app.stats()}, {app.watcher.stats}, alive={app.watcher.is_alive()})",
        )


class Evil:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {MARKER}",))


@pytest.mark.parametrize("case", ["flipped_bytes", "wrong_key", "malicious_pickle"])
def test_a_tampered_snapshot_is_refused_and_the_old_model_keeps_serving(
    s: Settings, case: str
) -> None:
    MARKER.unlink(missing_ok=True)
    maker = ModelMaker(s)
    v1 = maker.publish()
    with running_scorer(s) as app:
        wait_until(lambda: app.model is not None, 10, "v1")
        sealed, version = maker.sealed_next()
        if case == "flipped_bytes":
            flipped = bytearray(sealed.model)
            flipped[len(flipped) // 3] ^= 0x40
            sealed = replace(sealed, model=bytes(flipped))
        elif case == "wrong_key":
            thief = parse_private(generate()[0])
            sealed, _ = seal(
                maker.learner.state,
                maker.publisher._fields(maker.learner),
                thief,
                serving=maker.learner.state.model,
            )
        else:
            sealed = replace(sealed, model=pickle.dumps(Evil()))
        maker.force(sealed, version)  # `current` now points at the bad version
        wait_until(lambda: app.watcher.stats.refused == 1, 10, "refusal")
        refused_at = app.stats()["last_refused_at"]  # health: "refused in the last 10 min"
        assert isinstance(refused_at, float) and abs(time.time() - refused_at) < 60
        ids = send_sensors(s, 100)
        wait_until(lambda: app.scored >= 100, 60, "scores")
        assert app.model is not None and app.model.version == v1.version
        good = maker.publish()  # the next good version is taken
        wait_until(lambda: app.model is not None and app.model.version == good.version, 10, "v3")
    assert {sc.model_version for sc in scores(s, expect=100) if sc.input_event_id in set(ids)} == {
        v1.version
    }
    assert not MARKER.exists()


def test_redis_down_keeps_scoring_and_picks_up_versions_when_it_returns(s: Settings) -> None:
    url = redis.connection.parse_url(s.redis_url_value)
    proxy = Proxy(free_port(), (url.get("host", "127.0.0.1"), int(url.get("port", 6379))))
    proxy.start()
    db = url.get("db", 0)
    proxied = s.with_overrides(
        redis_url=f"redis://127.0.0.1:{proxy.port}/{db}", scorer_poll_seconds=0.3
    )
    maker = ModelMaker(s)  # the trainer's side talks to Redis directly
    v1 = maker.publish()
    try:
        with running_scorer(proxied) as app:
            wait_until(lambda: app.model is not None, 10, "v1")
            proxy.cut()
            wait_until(lambda: not app.watcher.stats.redis_up, 10, "the outage noticed")
            send_sensors(s, 200)
            wait_until(lambda: app.scored >= 200, 60, "scores during the outage")
            v2 = maker.publish()
            time.sleep(1.0)  # the announcement is lost; polls fail
            assert app.model is not None and app.model.version == v1.version
            proxy.restore()
            wait_until(
                lambda: app.model is not None and app.model.version == v2.version,
                20,
                "v2 after Redis returned",
            )
    finally:
        proxy.cut()


def test_a_restarted_worker_resumes_after_what_it_delivered(s: Settings) -> None:
    ModelMaker(s).publish()
    send_sensors(s, 300)
    with running_scorer(s) as app:
        wait_until(lambda: app.scored >= 300, 60, "scores")
    send_sensors(s, 100, seed=99)
    with running_scorer(s) as again:
        wait_until(lambda: again.scored >= 100, 60, "scores after the restart")
    out = scores(s, expect=400)
    assert len(out) == 400 and again.scored == 100  # nothing before the commit was scored twice
    assert len({sc.event_id for sc in out}) == 400
