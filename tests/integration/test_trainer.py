"""The trainer against the real broker and Redis: learning, dead letters, crashes, outages."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import redis

from lazarus.embedded.ports import free_port
from lazarus.heartbeat import read_heartbeats
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.sealing import unseal
from lazarus.registry.signing import signer_from
from lazarus.schemas import DeadLetter
from lazarus.schemas.topics import DEAD_LETTERS, SENSOR_READINGS
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.specs import habitat
from tests.integration.cli import cli_env, lazarus
from tests.integration.kafkatools import read_all, value_of
from tests.integration.tcpproxy import Proxy
from tests.integration.trainerkit import (
    latest_manifest,
    log_ends,
    produce_sensors,
    run_to_end,
    store_of,
    topics_of,
    with_keys,
)

N = 3000


def _trained_through(store: RedisSnapshotStore) -> dict[str, int] | None:
    m = latest_manifest(store)
    return m.trained_through if m else None


def test_learns_every_labelled_event_and_dead_letters_bad_ones(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    produce_sensors(s, N, fault_rate=0.01)
    ends = log_ends(s, topics_of(s))
    store = store_of(s)
    app = TrainerApp(s, habitat(), store, signer_from(s), cadence=Cadence(1000, 60))
    app.start(30)
    run_to_end(app, ends)
    assert app.stop() == 0
    m = latest_manifest(store)
    assert m is not None and m.trained_through == ends
    invalid = m.invalid_events
    assert 10 <= invalid <= 60  # about 1 % faulty readings
    assert m.n_learned == N - invalid and m.join.unmatched == invalid and m.join.pending == 0
    assert m.metrics["Accuracy"] is not None and m.metrics["Accuracy"] > 0.6
    assert set(m.segment_metrics["site_id"]) == {f"site-{i:03d}" for i in range(12)}
    assert [int(v) for v in store.versions("habitat")] == list(
        range(1, store.latest("habitat") + 1)
    )
    dead = [
        DeadLetter.model_validate_json(value_of(x))
        for x in read_all(s, DEAD_LETTERS.full(s.topic_prefix), expect=invalid)
    ]
    assert len(dead) == invalid
    assert all(
        d.stage == "trainer"
        and d.origin_topic == SENSOR_READINGS.full(s.topic_prefix)
        and d.origin_offset is not None
        and "outside" in d.reason
        for d in dead
    )


def test_kill_9_at_any_moment_ends_with_the_same_model(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    produce_sensors(s, N)
    ends = log_ends(s, topics_of(s))
    # The reference: one uninterrupted run.
    ref_settings = s.with_overrides(redis_key_prefix=f"{s.redis_key_prefix}:ref")
    ref_store = store_of(ref_settings)
    ref = TrainerApp(ref_settings, habitat(), ref_store, signer_from(s), cadence=Cadence(250, 60))
    ref.start(30)
    run_to_end(ref, ends)
    assert ref.stop() == 0
    # The victim: killed with SIGKILL at random moments, restarted each time.
    store = store_of(s)
    env = cli_env(s)
    argv = [
        sys.executable,
        "-m",
        "trainer",
        "habitat",
        "--snapshot-every",
        "150",
        "--snapshot-seconds",
        "0.2",
    ]
    rng = random.Random(1)
    kills = 0
    for _ in range(4):
        victim = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        before = store.latest("habitat")
        deadline = time.monotonic() + 60
        while (
            store.latest("habitat") == before
            and victim.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))  # somewhere in the next stretch of work
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kills += 1
        m = latest_manifest(store)
        if m is not None and m.trained_through == ends:
            break
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    client = redis.Redis.from_url(s.redis_url_value)

    def beating() -> bool:  # its SIGTERM handler is in place once it reports
        return any(
            b.get("pid") == str(proc.pid) for b in read_heartbeats(client, s.redis_key_prefix)
        )

    while not beating() or _trained_through(store) != ends:
        assert time.monotonic() < deadline and proc.poll() is None, (
            "the restarted trainer did not finish"
        )
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert kills >= 1
    mine, theirs = latest_manifest(store), latest_manifest(ref_store)
    assert mine is not None and theirs is not None
    assert mine.n_learned == theirs.n_learned == N - mine.invalid_events
    assert mine.trained_through == theirs.trained_through == ends
    assert mine.metrics == theirs.metrics and mine.rolling_metrics == theirs.rolling_metrics
    assert mine.segment_metrics == theirs.segment_metrics and mine.join == theirs.join
    # The same events give the same model bytes (issue #13: canonical pickles), and the same model.
    assert mine.model_sha256 == theirs.model_sha256
    verifier = signer_from(s).verifier
    _, a = unseal(store.get("habitat", store.latest("habitat")), verifier)  # type: ignore[arg-type]
    _, b = unseal(ref_store.get("habitat", ref_store.latest("habitat")), verifier)  # type: ignore[arg-type]
    probe = [{"temperature_c": t, "kind_climate": 1.0, "hour_sin": 0.3} for t in range(-5, 35, 3)]
    assert [a.model.predict_proba_one(x) for x in probe] == [
        b.model.predict_proba_one(x) for x in probe
    ]
    assert dict(a.model["LogisticRegression"].weights) == dict(
        b.model["LogisticRegression"].weights
    )


def test_redis_outage_keeps_learning_and_never_skips_a_version(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    produce_sensors(s, N)
    ends = log_ends(s, topics_of(s))
    host, port = s.redis_url_value.split("//")[1].split("/")[0].split(":")
    proxy = Proxy(free_port(), (host, int(port)))
    proxy.start()
    client = redis.Redis(
        host="127.0.0.1", port=proxy.port, socket_timeout=1, socket_connect_timeout=1
    )
    store = RedisSnapshotStore(client, s.redis_key_prefix)
    app = TrainerApp(s, habitat(), store, signer_from(s), cadence=Cadence(100, 60))
    app.start(30)
    try:
        while app.snapshots.stats.published < 1:
            app.step()
        proxy.cut()
        learned_when_cut = app.learner.state.n_learned
        assert app.stats()["last_learned_at"] is None  # the first beat sees where it starts
        run_to_end(app, ends)
        assert app.learner.state.n_learned > learned_when_cut, "learning stopped with Redis"
        beat = app.stats()  # health's "learned nothing for 15 min while reading" reads it
        assert isinstance(beat["last_learned_at"], float), beat
        app.maybe_snapshot(force=True)  # whatever the cadence said, a publish now meets no Redis
        assert app.snapshots.stats.failures >= 1
        proxy.restore()
        deadline = time.monotonic() + 30
        while (
            app.snapshots.last_manifest is None
            or app.snapshots.last_manifest.trained_through != ends
        ):
            assert time.monotonic() < deadline
            app.step()
            app.maybe_snapshot(force=True)
            time.sleep(0.05)
    finally:
        app.stop()
        proxy.cut()
    direct = store_of(s)
    versions = direct.versions("habitat")
    assert versions == list(range(1, direct.latest("habitat") + 1))
    last = latest_manifest(direct)
    assert last is not None and last.n_learned == app.learner.state.n_learned


def test_models_cli_lists_shows_and_verifies(settings: Settings, topics: list[str]) -> None:
    s = with_keys(settings)
    produce_sensors(s, 600)
    store = store_of(s)
    app = TrainerApp(s, habitat(), store, signer_from(s), cadence=Cadence(200, 60))
    app.start(30)
    run_to_end(app, log_ends(s, topics_of(s)))
    app.stop()
    env = cli_env(s)
    import json

    listed = json.loads(lazarus("models", "list", "--json", env=env).stdout)
    assert listed[0]["model"] == "habitat" and listed[0]["current"] == store.latest("habitat")
    shown = json.loads(
        lazarus("models", "show", "habitat", "--version", "1", "--json", env=env).stdout
    )
    assert shown["version"] == 1 and "trained_through" in shown and "Accuracy" in shown["metrics"]
    ok = lazarus("models", "verify", "habitat", env=env)
    assert ok.returncode == 0 and "FAILED" not in ok.stdout
    # Tamper with one stored blob: verify names it and fails.
    client = redis.Redis.from_url(s.redis_url_value)
    key = f"{store.base('habitat')}:v1"
    blob = bytearray(client.hget(key, "blob"))  # type: ignore[arg-type]
    blob[-3] ^= 0xFF
    client.hset(key, "blob", bytes(blob))
    bad = lazarus("models", "verify", "habitat", env=env)
    assert bad.returncode == 1 and "v1: FAILED" in bad.stdout and "digest" in bad.stdout
    other = cli_env(with_keys(s))
    del other["LAZARUS_SIGNING_PRIVATE_KEY"]
    wrong = lazarus("models", "verify", "habitat", env=other)
    assert wrong.returncode == 1 and "signature" in wrong.stdout


def test_a_snapshot_past_the_end_of_recreated_topics_is_refused(
    settings: Settings, topics: list[str]
) -> None:
    import pytest

    from lazarus.kafka.admin import delete_topics, ensure_topics
    from lazarus.kafka.config import client_config
    from lazarus.trainer.app import TopicsRecreated

    s = with_keys(settings)
    produce_sensors(s, 300)
    store = store_of(s)
    app = TrainerApp(s, habitat(), store, signer_from(s), cadence=Cadence(100, 60))
    app.start(30)
    run_to_end(app, log_ends(s, topics_of(s)))
    app.stop()
    conf = client_config(s, quiet=True)
    delete_topics(conf, topics_of(s))
    ensure_topics(conf, topics_of(s), s.topic_partitions)
    again = TrainerApp(s, habitat(), store, signer_from(s), cadence=Cadence(100, 60))
    with pytest.raises(TopicsRecreated, match="--from-beginning"):
        again.start(30)


def test_features_that_make_the_model_raise_are_dead_lettered(
    settings: Settings, topics: list[str]
) -> None:
    import json

    from lazarus.trainer.specs import load_spec

    # its model class is the test's own code: scorers (and so the trainer) load it only if listed
    s = with_keys(settings).with_overrides(snapshot_modules="tests.integration.flaky_spec")
    produce_sensors(s, 600, fault_rate=0.0)
    spec = load_spec("tests.integration.flaky_spec:make_spec")
    app = TrainerApp(s, spec, store_of(s), signer_from(s), cadence=Cadence(1000, 60))
    app.start(30)
    run_to_end(app, log_ends(s, topics_of(s)))
    assert app.stop() == 0
    failures = app.learner.state.model_failures
    assert failures > 50  # one sensor in five is eDNA
    assert app.learner.state.n_learned + failures == 600
    dead = [
        DeadLetter.model_validate_json(value_of(m))
        for m in read_all(s, DEAD_LETTERS.full(s.topic_prefix), expect=failures)
    ]
    assert len(dead) == failures
    assert all(
        d.stage == "trainer" and d.error_class == "ValueError" and "eDNA" in d.reason for d in dead
    )
    assert all("edna_copies_per_l" in json.loads(d.payload)["features"] for d in dead)
    assert all(
        d.origin_topic == SENSOR_READINGS.full(s.topic_prefix) and d.origin_offset is not None
        for d in dead
    )


def test_trainer_without_a_broker_retries_then_names_the_setting(settings: Settings) -> None:
    s = with_keys(settings).with_overrides(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    result = lazarus("train", "habitat", "--timeout", "3", env=cli_env(s))
    assert result.returncode == 1
    assert "retrying" in result.stderr and "LAZARUS_KAFKA_BOOTSTRAP_SERVERS" in result.stderr


def test_trainer_without_a_key_says_which_setting(settings: Settings) -> None:
    result = lazarus("train", "habitat", env=cli_env(settings))
    assert result.returncode == 2 and "LAZARUS_SIGNING_PRIVATE_KEY" in result.stderr
