"""No version that has learned too little becomes the one scorers serve (ModelSpec.min_learned,
`lazarus train --min-learned`), yet every version is stored, so a trainer killed before it has
learned anything resumes with its join buffer."""

from __future__ import annotations

import itertools
import signal
import subprocess

from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas.scores import Score
from lazarus.schemas.topics import HABITAT_OUTCOMES, HABITAT_SCORES, SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus, lazarus_bg
from tests.integration.kafkatools import read_all
from tests.integration.scorerkit import running_scorer, wait_until
from tests.integration.trainerkit import START, latest_manifest, store_of, with_keys

Message = tuple[str, str | bytes | None, bytes]


def readings_and_labels(s: Settings, count: int, seed: int) -> tuple[list[Message], list[Message]]:
    """`count` readings and, apart, the outcomes that label them (to be sent later)."""
    stream = SensorNetwork(SimConfig(seed=seed, fault_rate=0.0, label_delay_s=0), START)
    readings: list[Message] = []
    labels: list[Message] = []
    for key, raw, outcome in itertools.islice(stream, count):
        readings.append((SENSOR_READINGS.full(s.topic_prefix), key, raw))
        if outcome is not None:
            labels.append((HABITAT_OUTCOMES.full(s.topic_prefix), key, outcome))
    return readings, labels


def send(s: Settings, messages: list[Message]) -> None:
    publisher = Publisher(producer_config(s)).start(10)
    publisher.publish_many(messages)
    assert publisher.close(30).failed == 0


def trainer(s: Settings, *args: str) -> subprocess.Popen[str]:
    return lazarus_bg("train", "habitat", "--snapshot-seconds", "0.2", *args, env=cli_env(s))


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(30)


def test_nothing_learned_is_stored_not_served_and_survives_a_kill_9(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings).with_overrides(scorer_poll_seconds=0.3)
    store = store_of(s)
    readings, labels = readings_and_labels(s, 200, seed=3)
    send(s, readings)  # their labels come days later
    first = trainer(s)
    try:
        with running_scorer(s) as app:

            def buffered() -> bool:
                m = latest_manifest(store)
                return m is not None and m.join.pending == len(readings)

            wait_until(buffered, 60, "a snapshot holding every reading in the join buffer")
            m = latest_manifest(store)
            assert m is not None and m.n_learned == 0
            assert store.current("habitat") is None  # stored for restarts, not served
            assert app.model is None and app.scored == 0
            shown = lazarus("models", "show", "habitat", env=cli_env(s))
            assert shown.returncode == 0 and "not served" in shown.stdout, shown.stderr
            assert "none yet" in lazarus("models", "list", env=cli_env(s)).stdout
            assert stop(first, signal.SIGKILL) == -signal.SIGKILL
            # defence in depth: a version that learned nothing is refused, made current by hand...
            done = lazarus(
                "models", "promote", "habitat", str(m.version), "--reason", "x", env=cli_env(s)
            )
            assert done.returncode == 1 and "min_learned" in done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
            # ...or by anything else that sets the pointer: the scorer refuses it and says why
            store.client.set(f"{store.base('habitat')}:current", m.version)
            wait_until(lambda: m.version in app.watcher.stats.refused_versions, 10, "refusal")
            assert "learned 0 events" in app.watcher.stats.refused_versions[m.version]
            assert app.model is None
            # the restarted trainer resumes from the stored buffer: the late labels find it
            second = trainer(s)
            send(s, labels)

            def learned_all() -> bool:
                current = store.current("habitat")
                served = store.manifest("habitat", current) if current else None
                return served is not None and served.n_learned == len(labels)

            wait_until(learned_all, 60, "the labels learned against the restored readings")
            wait_until(lambda: app.scored == len(readings), 60, "the readings scored")
            assert stop(second) == 0
        out = [
            Score.model_validate_json(m.value() or b"")
            for m in read_all(s, HABITAT_SCORES.full(s.topic_prefix), expect=len(readings))
        ]
        assert len(out) == len(readings)
        for version in {sc.model_version for sc in out}:  # each one that learned enough
            manifest = store.manifest("habitat", version)
            assert manifest is not None and manifest.n_learned >= 1
        assert all(sc.probabilities != {"False": 0.5, "True": 0.5} for sc in out)
    finally:
        stop(first, signal.SIGKILL)


def test_min_learned_holds_current_back_until_a_version_has_learned_that_many(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    env = cli_env(s)
    bad = lazarus("train", "habitat", "--min-learned", "0", env=env)
    assert bad.returncode == 2 and "--min-learned" in bad.stderr
    store = store_of(s)
    readings, labels = readings_and_labels(s, 300, seed=5)
    half = 100
    proc = trainer(s, "--min-learned", "150", "--snapshot-every", "50")
    try:
        send(s, readings[:half] + labels[:half])

        def learned(n: int) -> bool:
            m = latest_manifest(store)
            return m is not None and m.n_learned == n

        wait_until(lambda: learned(half), 60, f"{half} learned")
        assert store.current("habitat") is None  # 100 < 150: stored only
        send(s, readings[half:] + labels[half:])
        wait_until(lambda: store.current("habitat") is not None, 60, "a servable version")
        current = store.current("habitat")
        assert current is not None
        served = store.manifest("habitat", current)
        assert served is not None and served.n_learned >= 150
        for v in store.versions("habitat"):  # every earlier version learned fewer
            m = store.manifest("habitat", v)
            assert m is not None and (v >= current or m.n_learned < 150)
        assert stop(proc) == 0
    finally:
        stop(proc, signal.SIGKILL)
    history = store.history("habitat")
    assert [h["action"] for h in history] == ["publish"] * len(history)
    assert int(history[-1]["version"]) == current and history[-1]["previous"] == "0"
