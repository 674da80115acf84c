"""One scorer worker under a paced feed: how long each input takes to reach a `read_committed`
reader as a score. The latency half of `bench.delivery_cost` (run that).

An input's latency is the time the reader receives its score minus the input's Kafka timestamp
(set by the producing client as it sent the input; one host, one clock). The first `WARM_S`
seconds of the feed warm the worker, the broker and the reader up and are not counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.scorer_serving import Feed
from lazarus.errors import LazarusError
from lazarus.groups import group_name
from lazarus.heartbeat import read_heartbeats
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.schemas.models import HABITAT
from lazarus.schemas.topics import HABITAT_SCORES, SENSOR_READINGS, topic_names
from lazarus.settings import Settings
from tests.integration.cli import cli_env
from tests.integration.kafkatools import read_all, value_of

PARTITIONS = 4
WAIT_S = 120.0
"""How long any one wait may take: a group join, a backlog scored, the last scores read."""
WARM_S = 2.0
"""Seconds of paced input before the counted window (the first batches, fetch sessions)."""


class Failure(LazarusError):
    """The bench cannot go on: one line on stderr, exit 1."""


def until(
    done: Callable[[], bool], what: str, step: Callable[[], object], timeout: float = WAIT_S
) -> None:
    """Call `step()` until `done()`; Failure naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout:.0f} s waiting for {what}")
        step()


def pause() -> None:
    time.sleep(0.1)


class ScoreReader(threading.Thread):
    """Reads `topic` from its start as read_committed: (receive time, epoch s; value) per score."""

    def __init__(self, s: Settings, topic: str) -> None:
        super().__init__(daemon=True)
        self.conf = {
            **client_config(s, quiet=True),
            "group.id": f"bench-reader-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 5,  # the reader must not add its own wait to the latency
        }
        self.topic = topic
        self.received: list[tuple[float, bytes]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        consumer = Consumer(self.conf)
        try:
            consumer.assign(
                [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)]
            )
            while not self.stop_event.is_set():
                msg = consumer.poll(0.1)
                if msg is not None and msg.error() is None:
                    self.received.append((time.time(), msg.value() or b""))
        finally:
            consumer.close()


def start_worker(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`python -m lazarus.scorer habitat` with `s` (its delivery too) as its environment."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lazarus.scorer", HABITAT.name],
            env=cli_env(s), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip


def worker_assigned(s: Settings, proc: subprocess.Popen[bytes], log: Path) -> Callable[[], bool]:
    """Whether the worker's heartbeat says it owns every partition (Failure if it exited)."""
    group = group_name(s.topic_prefix, "scorer", HABITAT.name)
    client = redis.Redis.from_url(s.redis_url_value)

    def check() -> bool:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise Failure(f"the scorer worker exited with {proc.returncode}:\n{tail}")
        return any(
            r.get("group") == group
            and r.get("state") == "running"
            and r.get("partitions") == str(PARTITIONS)
            for r in read_heartbeats(client, s.redis_key_prefix)
        )

    return check


def paced_run(s: Settings, rate: float, seconds: float, log: Path) -> tuple[list[float], int]:
    """Readings at `rate`/s for `WARM_S` + `seconds` into `s`'s topics (created here), scored by
    one worker: the latency (ms) of each scored input sent after the warm-up, and how many
    inputs were sent after it. The worker's output goes to `log`."""
    ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), PARTITIONS)
    proc = start_worker(s, log)
    reader = ScoreReader(s, HABITAT_SCORES.full(s.topic_prefix))
    feed = Feed(s, rate, seed=int(time.time()))
    try:
        until(worker_assigned(s, proc, log), "the worker to own every partition", pause)
        reader.start()
        counted_from_ms = (time.time() + WARM_S) * 1000
        feed.start()
        time.sleep(WARM_S + seconds)
        feed.stop_event.set()
        feed.join(30)
        until(lambda: len(reader.received) >= feed.sent, "the last scores", pause)
    finally:
        feed.stop_event.set()
        reader.stop_event.set()
        proc.terminate()
        proc.wait(30)
    reader.join(10)
    inputs = read_all(s, SENSOR_READINGS.full(s.topic_prefix), expect=feed.sent, timeout=WAIT_S)
    sent_ms = {json.loads(value_of(m))["event_id"]: m.timestamp()[1] for m in inputs}
    counted = {i: t for i, t in sent_ms.items() if t >= counted_from_ms}
    received: dict[str, float] = {}
    for at, value in reader.received:
        received.setdefault(json.loads(value)["input_event_id"], at)
    return [at * 1000 - counted[i] for i, at in received.items() if i in counted], len(counted)
