"""Helpers for sharded-trainer tests: one simulated stream produced in phases (`trainerkit.produce_next`),
shard versions, trainers and their heartbeats."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis

from lazarus.heartbeat import read_heartbeats
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.schemas.per_key import shard_line
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.cli import cli_env
from tests.integration.trainerkit import START, produce_next

__all__ = ["MODEL", "produce_next", "sensor_stream"]

MODEL = "habitat_sites"


def sensor_stream(seed: int = 11, sites: int = 24) -> Iterator[object]:
    """One simulated feed (label delay 0): produce it in phases with `produce_next`."""
    return iter(
        SensorNetwork(SimConfig(seed=seed, sites=sites, fault_rate=0.002, label_delay_s=0), START)
    )


def produce_phase(
    settings: Settings, stream: Iterator[Any], count: int, between: Callable[[], None]
) -> None:
    """The stream's next `count` readings, then `between()` (wait for the trainers to read
    them all), then their outcomes. The order a trainer's merge meets a reading and its
    outcome is then the one it meets them in data at rest: a live outcome fetched before its
    reading would be released first, as the merge cannot know the reading is in flight on
    another partition (docs/per-key.md, *What the guarantee covers*)."""
    items = list(itertools.islice(stream, count))
    p = settings.topic_prefix
    publisher = Publisher(producer_config(settings)).start(10)
    for key, reading, _ in items:
        publisher.publish(SENSOR_READINGS.full(p), key, reading)
    assert publisher.flush(30) == 0
    between()
    outcomes = [(key, outcome) for key, _, outcome in items if outcome is not None]
    for key, outcome in outcomes:
        publisher.publish(HABITAT_OUTCOMES.full(p), key, outcome)
    counts = publisher.close(30)
    assert counts.failed == 0 and counts.acked == len(items) + len(outcomes)


def inputs_read(store: RedisSnapshotStore, ends: dict[str, int], partitions: int) -> bool:
    """Every shard's newest version has read its input partitions to their `ends`."""
    for p in range(partitions):
        m = shard_manifest(store, p)
        wanted = {k: v for k, v in shard_ends(ends, p).items() if "sensor_readings" in k}
        if m is None or any(m.trained_through.get(k) != v for k, v in wanted.items()):
            return False
    return True


def shard_manifest(store: RedisSnapshotStore, p: int) -> SnapshotManifest | None:
    line = shard_line(MODEL, p)
    v = store.latest(line)
    sealed = store.get(line, v) if v else None
    return SnapshotManifest.model_validate_json(sealed.manifest) if sealed else None


def shard_ends(ends: dict[str, int], p: int) -> dict[str, int]:
    """The log ends of partition `p` of every topic in `ends` ("topic:partition" -> end)."""
    return {k: v for k, v in ends.items() if k.endswith(f":{p}")}


def all_trained_through(store: RedisSnapshotStore, ends: dict[str, int], partitions: int) -> bool:
    for p in range(partitions):
        m = shard_manifest(store, p)
        if m is None or m.trained_through != shard_ends(ends, p):
            return False
    return True


def spawn_trainer(settings: Settings, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "lazarus.trainer", MODEL, "--snapshot-every", "100"]
    argv += ["--snapshot-seconds", "0.2", *extra]
    return subprocess.Popen(
        argv, env=cli_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def owned_by(settings: Settings, proc: subprocess.Popen[str]) -> set[int]:
    """The shards `proc` says (in its heartbeat) it owns; empty before its first beat."""
    client = redis.Redis.from_url(settings.redis_url_value)
    for beat in read_heartbeats(client, settings.redis_key_prefix):
        if beat.get("pid") == str(proc.pid):
            return {int(p) for p in beat.get("owned", "").split(",") if p}
    return set()


def wait_for(
    what: str, done: Callable[[], bool], timeout: float, *procs: subprocess.Popen[str]
) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(
                    f"{what}: trainer {proc.pid} exited: {proc.stderr.read() if proc.stderr else ''}"
                )
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
