"""Helpers for trainer tests: fixed input on the broker, log ends, a signing pair."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import redis
from confluent_kafka import Consumer, TopicPartition

from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.producer import Publisher
from lazarus.lag import log_end
from lazarus.producers.feed import FeedLimits, run_feed
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.signing import generate
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.settings import Settings
from lazarus.trainer.app import TrainerApp

START = datetime(2026, 1, 1, tzinfo=UTC)


def with_keys(settings: Settings) -> Settings:
    private, public = generate()
    return settings.with_overrides(signing_private_key=private, signing_public_key=public)


def produce_sensors(
    settings: Settings, count: int, *, seed: int = 5, fault_rate: float = 0.002
) -> None:
    """`count` readings and their outcomes (label delay 0), all on the broker before this returns."""
    stream = iter(
        SensorNetwork(SimConfig(seed=seed, fault_rate=fault_rate, label_delay_s=0), START)
    )
    produce_next(settings, stream, count)


def produce_next(settings: Settings, stream: Iterator[Any], count: int) -> None:
    """The next `count` readings of a simulated `stream` and their outcomes, all acknowledged
    on return (a stream produced in phases continues where it was)."""
    publisher = Publisher(producer_config(settings)).start(10)
    p = settings.topic_prefix
    run_feed(
        itertools.islice(stream, count),
        publisher,
        topic=SENSOR_READINGS.full(p),
        outcome_topic=HABITAT_OUTCOMES.full(p),
        limits=FeedLimits(count=count),
        stopped=lambda: False,
    )
    counts = publisher.close(30)
    assert counts.failed == 0 and counts.acked == 2 * count


def log_ends(settings: Settings, topics: list[str]) -> dict[str, int]:
    conf = client_config(settings, quiet=True)
    consumer = Consumer({**conf, "group.id": "log-ends", "enable.partition.eof": True})
    try:
        md = consumer.list_topics(timeout=10)
        return {
            f"{t}:{p}": log_end(consumer, TopicPartition(t, p))
            for t in topics
            for p in md.topics[t].partitions
        }
    finally:
        consumer.close()


def store_of(settings: Settings) -> RedisSnapshotStore:
    return RedisSnapshotStore(
        redis.Redis.from_url(settings.redis_url_value), settings.redis_key_prefix
    )


def topics_of(s: Settings) -> list[str]:
    return [SENSOR_READINGS.full(s.topic_prefix), HABITAT_OUTCOMES.full(s.topic_prefix)]


def run_to_end(app: TrainerApp, ends: dict[str, int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while app.learner.state.offsets != ends:
        assert time.monotonic() < deadline, f"stuck at {app.learner.state.offsets} of {ends}"
        app.step()


def latest_manifest(store: RedisSnapshotStore) -> SnapshotManifest | None:
    v = store.latest("habitat")
    sealed = store.get("habitat", v) if v else None
    return SnapshotManifest.model_validate_json(sealed.manifest) if sealed else None
