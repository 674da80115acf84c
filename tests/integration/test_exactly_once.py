"""Exactly-once scores (`LAZARUS_SCORER_DELIVERY=exactly-once`) on Apache Kafka.

Scorer workers run as processes. A `read_committed` reader of the scores topic must see each
input scored exactly once (duplicates 0, lost 0) across `kill -9` of workers mid-stream,
repeated, and scaling 1 -> 2 -> 1. On Tansu, which shows aborted records to read_committed
readers, the setting is refused at start with one line. Broker loss is in tests/cluster/.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port
from lazarus.kafka.admin import admin_client, delete_topics, ensure_topics
from lazarus.kafka.config import client_config
from lazarus.kafka.transactional import TransactionalConsumer
from lazarus.schemas.deadletter import DeadLetter
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import DEAD_LETTERS, HABITAT_SCORES, SENSOR_READINGS, topic_names
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.integration.conftest import isolated_settings
from tests.integration.kafkatools import read_all
from tests.integration.scorerkit import ModelMaker, running_scorer, send_sensors, wait_until
from tests.integration.test_scorer_workers import assigned, serving
from tests.integration.trainerkit import START, with_keys

EXACTLY_ONCE = {"LAZARUS_SCORER_DELIVERY": "exactly-once"}


@pytest.fixture
def s(apache_bootstrap: str, redis_url: str) -> Iterator[Settings]:
    for base in isolated_settings(apache_bootstrap, redis_url):
        s4 = with_keys(base).with_overrides(topic_partitions=4)
        ensure_topics(client_config(s4, quiet=True), topic_names(s4.topic_prefix), 4)
        ModelMaker(s4).publish()
        yield s4


class Workers:
    """Scorer worker processes with exactly-once delivery; each one's output in its own file."""

    def __init__(self, s: Settings, logs: Path) -> None:
        self.s = s
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        out = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "lazarus", "score", "habitat"],
            env=cli_env(self.s, **EXACTLY_ONCE),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        out.close()
        self.procs.append(proc)
        return proc

    def live(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(self.logs.glob("worker-*.log"))
        )

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)


@pytest.fixture
def workers(s: Settings, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(s, tmp_path)
    yield pool
    pool.stop_all()


class Feed:
    """Readings sent in chunks from a background thread until `stop()`; `ids` are theirs."""

    def __init__(self, s: Settings, size: int = 200) -> None:
        self.ids: list[str] = []
        self._stopped = threading.Event()

        def feed() -> None:
            for i in itertools.count():
                if self._stopped.is_set():
                    return
                start = START.replace(month=1 + i % 12)
                self.ids.extend(send_sensors(s, size, seed=100 + i, start=start))
                self._stopped.wait(0.3)

        self._thread = threading.Thread(target=feed, daemon=True)
        self._thread.start()

    def stop(self) -> list[str]:
        self._stopped.set()
        self._thread.join(60)
        assert not self._thread.is_alive(), "the feed did not stop"
        return self.ids


def scoring_live(s: Settings, workers: Workers) -> bool:
    """Every live worker process reports running, with at least one score of its own."""
    rows = {int(r.get("pid") or 0): r for r in serving(s)}
    live = [p.pid for p in workers.live()]
    return all(int(rows.get(pid, {}).get("scored") or 0) > 0 for pid in live)


def committed_counts(s: Settings, ids: list[str], timeout: float = 120.0) -> Counter[str]:
    """How often each input was scored, as a read_committed reader sees it, once every input
    in `ids` shows (or the timeout: the assertion then names how many are missing)."""
    wanted = set(ids)
    topic = HABITAT_SCORES.full(s.topic_prefix)
    got: Counter[str] = Counter()

    def all_there() -> bool:
        got.clear()
        for msg in read_all(s, topic, timeout=20, idle=1.0, read_committed=True):
            score = Score.model_validate_json(msg.value() or b"")
            assert score.event_id == score_id(score.input_event_id, "habitat")
            got[score.input_event_id] += 1
        return wanted <= set(got)

    wait_until(all_there, timeout, f"every one of {len(wanted)} inputs scored")
    return got


def test_killing_workers_mid_stream_again_and_again_scores_each_input_once(
    s: Settings, workers: Workers
) -> None:
    for _ in range(2):
        workers.start()
    wait_until(lambda: assigned(s, 2), 90, "two workers sharing 4 partitions")
    feed = Feed(s)
    kills = 0
    for _round in range(4):  # a fault loop: kill -9 one scoring worker, start a new one
        wait_until(lambda: scoring_live(s, workers), 90, f"two workers scoring\n{workers.tail()}")
        victim = workers.live()[kills % 2]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        kills += 1
        workers.start()
    wait_until(lambda: scoring_live(s, workers), 90, f"two workers scoring\n{workers.tail()}")
    ids = feed.stop()
    got = committed_counts(s, ids)
    duplicates = sum(n - 1 for n in got.values())
    lost = len(set(ids) - set(got))
    print(
        f"\nexactly-once, {kills} x kill -9 mid-stream: {len(ids)} inputs, "
        f"{len(got)} scored once or more, duplicates {duplicates}, lost {lost}"
    )
    assert (duplicates, lost) == (0, 0), workers.tail()
    for proc in workers.live():
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, workers.tail()


def test_scaling_one_two_one_scores_each_input_once(s: Settings, workers: Workers) -> None:
    a = workers.start()
    wait_until(lambda: assigned(s, 1), 90, "one worker with every partition")
    feed = Feed(s)
    wait_until(lambda: scoring_live(s, workers), 90, f"the worker scoring\n{workers.tail()}")
    b = workers.start()
    wait_until(lambda: assigned(s, 2), 90, f"the second worker taking partitions\n{workers.tail()}")
    wait_until(lambda: scoring_live(s, workers), 90, f"two workers scoring\n{workers.tail()}")
    a.send_signal(signal.SIGTERM)
    assert a.wait(30) == 0, workers.tail()
    wait_until(lambda: assigned(s, 1), 90, "the remaining worker taking every partition")
    ids = feed.stop() + send_sensors(s, 300, seed=77)
    got = committed_counts(s, ids)
    duplicates = sum(n - 1 for n in got.values())
    lost = len(set(ids) - set(got))
    print(
        f"\nexactly-once, scale 1 -> 2 -> 1: {len(ids)} inputs, duplicates {duplicates}, "
        f"lost {lost}"
    )
    assert (duplicates, lost) == (0, 0), workers.tail()
    b.send_signal(signal.SIGTERM)
    assert b.wait(30) == 0, workers.tail()


def test_scores_the_broker_refuses_for_good_are_dead_lettered_one_by_one(s: Settings) -> None:
    # A scores topic whose records may be at most 100 bytes: the broker refuses every score,
    # which aborts the batch's transaction. The batch is read again one input per transaction,
    # and each input whose score is refused is dead-lettered instead; nothing stalls.
    scores_topic = HABITAT_SCORES.full(s.topic_prefix)
    delete_topics(client_config(s, quiet=True), [scores_topic])
    admin = admin_client(client_config(s, quiet=True))
    small = NewTopic(scores_topic, num_partitions=4, config={"max.message.bytes": "100"})
    admin.create_topics([small])[scores_topic].result(30)
    ids = send_sensors(s, 12, seed=5)
    with running_scorer(s.with_overrides(scorer_delivery="exactly-once")) as app:
        wait_until(lambda: app.dead_letters.count == len(ids), 120, "every input dead-lettered")
        assert app.events_in == app.scored + app.dead_letters.count
        assert app.scored == 0
        assert isinstance(app.consumer, TransactionalConsumer) and app.consumer.aborts > 0
    letters = [
        DeadLetter.model_validate_json(m.value() or b"")
        for m in read_all(s, DEAD_LETTERS.full(s.topic_prefix), read_committed=True, idle=2.0)
    ]
    assert len(letters) == len(ids), [letter.reason for letter in letters]
    origins = {(letter.origin_partition, letter.origin_offset) for letter in letters}
    assert len(origins) == len(ids), "each input dead-lettered once, in committed transactions"
    assert all("the broker refused its output for good" in letter.reason for letter in letters)
    assert {letter.origin_topic for letter in letters} == {SENSOR_READINGS.full(s.topic_prefix)}


def test_exactly_once_is_refused_on_a_broker_that_shows_aborted_records(
    redis_url: str,
) -> None:
    tansu = EmbeddedBroker(free_port())
    tansu.start()
    try:
        for s in isolated_settings(tansu.bootstrap, redis_url):
            done = lazarus("score", "habitat", env=cli_env(with_keys(s), **EXACTLY_ONCE))
    finally:
        tansu.stop()
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert "LAZARUS_SCORER_DELIVERY=exactly-once is refused" in lines[-1], done.stderr
    assert "aborted transactional records" in lines[-1]
