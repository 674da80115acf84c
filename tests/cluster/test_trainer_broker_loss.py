"""Losing a broker loses no input (issue #16, item 3): a trainer.

Readings and their labels flow at a steady rate into a trainer process on the 3-node cluster;
mid-stream the leader of the readings partition is killed with SIGKILL and started again
later. The trainer resumes by itself and ends with the very model (same `n_learned`, same
digest) as an uninterrupted run over the same events, sent before it starts, under another
topic and Redis key prefix.

One partition per topic: a trainer that keeps up with a live stream learns the partitions'
events in the order they arrive (the merge releases past a partition at its end rather than
wait for it), which differs from run to run with several partitions even without a fault.
With one, the order is the stream's own, so any difference would be the fault's.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from lazarus.heartbeat import read_heartbeats
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.signing import signer_from
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS, topic_names
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.specs import habitat
from tests.cluster.clusterkit import NODES, Cluster, record
from tests.cluster.faultkit import RESUME_S, Fault, kill_and_restart
from tests.cluster.feedkit import Ack, AckedFeed, wait_until
from tests.integration.cli import cli_env
from tests.integration.trainerkit import (
    latest_manifest,
    log_ends,
    produce_sensors,
    run_to_end,
    store_of,
    topics_of,
    with_keys,
)

pytestmark = pytest.mark.integration

PARTITIONS = 1
RATE = 300.0
"""Readings per second, each with its label."""
BEFORE = 1500
"""Readings learned before the kill."""
SEED = 41


def trainer_pids(s: Settings) -> list[str]:
    client = redis.Redis.from_url(s.redis_url_value)
    try:
        rows = read_heartbeats(client, s.redis_key_prefix)
    finally:
        client.close()
    return [r["pid"] for r in rows if r.get("role") == "trainer:habitat" and r.get("state") == "running"]  # fmt: skip


def learned(store: RedisSnapshotStore) -> int:
    m = latest_manifest(store)
    return m.n_learned if m else 0


def learned_past(store: RedisSnapshotStore, readings: str, first: Ack) -> float | None:
    """Wall-clock time of the newest snapshot, if it learned the reading `first` (or later)."""
    m = latest_manifest(store)
    if m is None or m.trained_through.get(f"{readings}:{first.partition}", 0) <= first.offset:
        return None
    return m.created_at.timestamp()


def reference(s: Settings, events: int) -> SnapshotManifest:
    """The uninterrupted run: the same `events` (and labels) all sent first, under other
    prefixes, then one trainer run over them to their end."""
    ref = s.with_overrides(
        topic_prefix=f"{s.topic_prefix}ref.", redis_key_prefix=f"{s.redis_key_prefix}:ref"
    )
    ensure_topics(client_config(ref, quiet=True), topic_names(ref.topic_prefix), PARTITIONS, NODES)
    produce_sensors(ref, events, seed=SEED, fault_rate=0.0)
    store = store_of(ref)
    app = TrainerApp(ref, habitat(), store, signer_from(ref), cadence=Cadence(1000, 60))
    app.start(60)
    run_to_end(app, log_ends(ref, topics_of(ref)), timeout=300)
    assert app.stop() == 0
    m = latest_manifest(store)
    assert m is not None
    return m


def compared(s: Settings, mine: SnapshotManifest, theirs: SnapshotManifest) -> dict[str, Any]:
    """The two runs' models side by side; trained_through without the topic prefixes."""

    def offsets(m: SnapshotManifest, prefix: str) -> dict[str, int]:
        return {k.removeprefix(prefix): v for k, v in m.trained_through.items()}

    return {
        "n_learned": mine.n_learned,
        "reference_n_learned": theirs.n_learned,
        "model_sha256": mine.model_sha256,
        "reference_model_sha256": theirs.model_sha256,
        "same_offsets": offsets(mine, s.topic_prefix) == offsets(theirs, f"{s.topic_prefix}ref."),
        "same_metrics": (mine.metrics, mine.rolling_metrics, mine.segment_metrics)
        == (theirs.metrics, theirs.rolling_metrics, theirs.segment_metrics),
        "join_differences": {
            k: [v, theirs.join.model_dump()[k]]
            for k, v in mine.join.model_dump().items()
            if v != theirs.join.model_dump()[k]
        },
    }


def run_trainer(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lazarus", "train", "habitat",
             "--snapshot-every", "500", "--snapshot-seconds", "0.5"],
            env=cli_env(s), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip


@pytest.mark.timeout(900)
def test_killing_the_readings_leader_mid_stream_ends_with_the_uninterrupted_model(
    settings: Settings, cluster: Cluster, tmp_path: Path
) -> None:
    began = time.monotonic()
    s = with_keys(settings)
    readings = SENSOR_READINGS.full(s.topic_prefix)
    ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), PARTITIONS, NODES)
    store = store_of(s)
    log = tmp_path / "trainer.log"
    trainer = run_trainer(s, log)
    try:
        with AckedFeed(s, rate=RATE, seed=SEED, outcomes=True) as feed:
            wait_until(lambda: learned(store) >= BEFORE, 180, "the trainer learning")
            fault = Fault(cluster.leader(readings, 0), 0)
            led_outcomes = cluster.leader(HABITAT_OUTCOMES.full(s.topic_prefix), 0) == fault.node
            learned_at_kill = learned(store)
            kill_and_restart(
                cluster, feed, fault, topics_of(s), lambda a: learned_past(store, readings, a)
            )
            delivery = feed.stop()
        ends = log_ends(s, topics_of(s))
        wait_until(
            lambda: (m := latest_manifest(store)) is not None and m.trained_through == ends,
            RESUME_S,
            "the trainer to learn every event",
        )
        # The same process learned before, during and after the fault: it resumed by itself.
        assert trainer.poll() is None, log.read_text()[-3000:]
        assert trainer_pids(s) == [str(trainer.pid)]
        trainer.send_signal(signal.SIGTERM)
        assert trainer.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if trainer.poll() is None:
            trainer.kill()
            trainer.wait(30)
    mine = latest_manifest(store)
    assert mine is not None
    counts = {
        "test": "trainer: kill -9 of the readings partition's leader mid-stream, restarted later",
        "cluster": f"{NODES} nodes, RF {NODES}, min.insync.replicas 2, {PARTITIONS} partition",
        "killed_node": fault.node,
        "killed_node_led_the_outcomes_partition": led_outcomes,
        "readings_acknowledged": len(feed.acked()),
        "outcomes_acknowledged": feed.outcomes_acked,
        "delivery_failures": delivery.failed,
        "learned_at_kill": learned_at_kill,
        **compared(s, mine, reference(s, feed.sent)),
        **fault.times(),
        "trainer_pid_unchanged": True,
        "wall_s": round(time.monotonic() - began, 1),
    }
    record(tmp_path / "trainer_broker_loss.json", counts)
    assert delivery.failed == 0 and not feed.failed
    assert len(feed.acked()) == feed.outcomes_acked == feed.sent
    assert counts["n_learned"] == counts["reference_n_learned"] == feed.sent
    assert counts["same_offsets"] and counts["same_metrics"]
    # Only the order the two topics arrived in may differ: outcomes that came before their
    # readings while the readings partition had no leader, joined when the readings came.
    assert set(counts["join_differences"]) <= {"early_joined"}, counts["join_differences"]
    assert counts["model_sha256"] == counts["reference_model_sha256"]
