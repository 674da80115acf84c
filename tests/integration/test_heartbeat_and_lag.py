"""Role heartbeats in Redis, and consumer lag read from the broker."""

from __future__ import annotations

import time
from pathlib import Path

import redis
from confluent_kafka import Consumer, Producer

from lazarus.embedded.ports import free_port
from lazarus.heartbeat import HeartbeatThread, read_heartbeats, running_heartbeat
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, consumer_config
from lazarus.lag import group_lag, total_lag
from lazarus.settings import Settings


def test_heartbeat_is_readable_and_touches_the_health_file(
    settings: Settings, tmp_path: Path
) -> None:
    health = tmp_path / "alive"
    s = settings.with_overrides(health_file=str(health))
    with running_heartbeat(s, "producer:sensors", lambda: {"events_out": 42}):
        client = redis.Redis.from_url(s.redis_url_value)
        deadline = time.monotonic() + 5
        beats: list[dict[str, str]] = []
        while not beats and time.monotonic() < deadline:
            beats = read_heartbeats(client, s.redis_key_prefix)
            time.sleep(0.05)
    assert beats and beats[0]["role"] == "producer:sensors" and beats[0]["events_out"] == "42"
    assert health.exists()
    final = read_heartbeats(client, s.redis_key_prefix)
    assert final[0]["state"] == "stopped"


def test_heartbeat_survives_redis_being_down(tmp_path: Path) -> None:
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    health = tmp_path / "alive"
    beat = HeartbeatThread(dead, "x", "scorer:habitat", "1", lambda: {}, 0.05, str(health))
    beat.beat()  # must not raise
    assert health.exists()


def test_lag_counts_every_unconsumed_record(settings: Settings) -> None:
    """Batched produce: the lag must count records, not batches (Tansu's high watermark does not)."""
    topic = f"{settings.topic_prefix}lag"
    conf = client_config(settings, quiet=True)
    ensure_topics(conf, [topic], 1)
    producer = Producer({**conf, "linger.ms": 50})
    for i in range(250):
        producer.produce(topic, str(i).encode())
    producer.flush(10)
    group = f"{settings.topic_prefix}group"
    assert total_lag(group_lag(conf, group, [topic])) == 250  # never committed: all of it
    consumer = Consumer({**consumer_config(settings, group), "enable.auto.commit": False})
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + 30
    while seen < 100 and time.monotonic() < deadline:
        for msg in consumer.consume(100 - seen, 0.5):
            if msg.error() is None:
                seen += 1
                last = msg
    consumer.commit(message=last, asynchronous=False)
    consumer.close()
    rows = group_lag(conf, group, [topic])
    assert [(r.committed, r.end, r.lag) for r in rows] == [(100, 250, 150)]
