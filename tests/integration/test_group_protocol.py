"""Consumer groups under both group protocols on Apache Kafka (`apache_bootstrap`: Tansu cannot
complete a KIP-848 join, so this runs on Apache Kafka in both CI passes).

Two `GroupConsumer` members share a 4-partition topic: the second joins, then leaves. Each
handoff settles (every partition owned by exactly one member, each member's idea of what it
owns equal to librdkafka's), nothing is lost, nothing is read twice (every handoff commits
what was read before the partitions go), and at the end the group's committed offsets are the
partitions' ends. Under KIP-848 the callbacks get only what changed: a member that kept its
partitions through a rebalance still stores their offsets.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import Producer, TopicPartition

from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, consumer_config, producer_config
from lazarus.kafka.consumer import GroupConsumer, metadata_consumer
from lazarus.kafka.ledger import TP
from lazarus.schemas.topics import topic_names
from lazarus.settings import Settings
from tests.integration.conftest import isolated_settings
from tests.integration.scorerkit import ModelMaker, running_scorer, scores, send_sensors, wait_until
from tests.integration.trainerkit import with_keys

PARTITIONS = 4
PER_PHASE = 200
SETTLE_S = 90.0
"""Generous: a KIP-848 join waits for the members' next heartbeats (5 s apart by default)."""


@pytest.fixture
def apache(apache_bootstrap: str, redis_url: str) -> Iterator[Settings]:
    yield from isolated_settings(apache_bootstrap, redis_url)


class NoOutputs:
    """A member that writes nothing: each batch's offsets are storable at once."""

    def flush(self, timeout: float) -> int:
        return 0

    def settle_failures(self, failures: list[Any]) -> None:
        pass


class Member:
    """A group member that counts every value it reads and stores each batch's offsets."""

    def __init__(self, conf: dict[str, Any], topic: str) -> None:
        self.group = GroupConsumer(conf, NoOutputs())
        self.group.subscribe([topic])
        self.seen: Counter[bytes] = Counter()

    def step(self) -> None:
        offsets: dict[TP, int] = {}
        for msg in self.group.consume(500, 0.1):
            if msg.error() is None:
                self.seen[msg.value() or b""] += 1
                offsets[(msg.topic() or "", msg.partition() or 0)] = (msg.offset() or 0) + 1
        if offsets:
            self.group.open(offsets, 0)
        self.group.checkpoint()

    def librdkafka_assignment(self) -> set[TP]:
        consumer = self.group._consumer
        assert consumer is not None
        return {(tp.topic, tp.partition) for tp in consumer.assignment()}


def poll_until(members: list[Member], done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_S
    while not done():
        if time.monotonic() > deadline:
            owned = [(sorted(m.group.assigned), sorted(m.librdkafka_assignment())) for m in members]
            pytest.fail(f"{what} not within {SETTLE_S:.0f} s; (ours, librdkafka's): {owned}")
        for member in members:
            member.step()


def settled(members: list[Member], topic: str) -> Callable[[], bool]:
    """Every partition owned by exactly one member, each owning some, each member's `assigned`
    equal to librdkafka's assignment."""
    everything = {(topic, p) for p in range(PARTITIONS)}

    def check() -> bool:
        owned = [m.group.assigned for m in members]
        return (
            all(owned)
            and sum(len(o) for o in owned) == PARTITIONS
            and set().union(*owned) == everything
            and all(m.group.assigned == m.librdkafka_assignment() for m in members)
        )

    return check


def produce(s: Settings, topic: str, phase: int) -> set[bytes]:
    producer = Producer(producer_config(s))
    values = {f"{phase}:{i}".encode() for i in range(PER_PHASE)}
    for value in values:
        producer.produce(topic, value, key=value)
    assert producer.flush(30) == 0
    return values


def read_everything(members: list[Member], expected: set[bytes]) -> Callable[[], bool]:
    return lambda: expected <= set().union(*(m.seen.keys() for m in members))


@pytest.mark.parametrize("protocol", ["consumer", "classic"])
def test_a_member_joins_and_leaves_and_nothing_is_lost_or_read_twice(
    apache: Settings, protocol: str
) -> None:
    s = apache.with_overrides(kafka_group_protocol=protocol)
    topic = f"{s.topic_prefix}rebalance"
    ensure_topics(client_config(s, quiet=True), [topic], PARTITIONS)
    group = f"{s.topic_prefix}lazarus.test.{uuid.uuid4().hex[:6]}"
    conf = consumer_config(s, group)
    expected = produce(s, topic, 1)
    a = Member(conf, topic)
    b: Member | None = None
    try:
        poll_until([a], settled([a], topic), "the first member's assignment")
        poll_until([a], read_everything([a], expected), "reading phase 1")
        b = Member(conf, topic)
        poll_until([a, b], settled([a, b], topic), "the handoff to the joining member")
        expected |= produce(s, topic, 2)
        poll_until([a, b], read_everything([a, b], expected), "reading phase 2")
        assert b.group.close()
        poll_until([a], settled([a], topic), "the handoff from the leaving member")
        expected |= produce(s, topic, 3)
        poll_until([a], read_everything([a, b], expected), "reading phase 3")
    finally:
        for member in (a, b):
            if member is not None:
                member.group.close()
    seen = a.seen + b.seen
    assert set(seen) == expected  # nothing lost, nothing else
    assert [v for v, n in seen.items() if n > 1] == []  # each handoff committed what was read
    assert committed(s, group, topic) == ends(s, topic)


def test_a_scorer_resumes_after_what_it_delivered_with_the_consumer_protocol(
    apache: Settings,
) -> None:
    s = with_keys(apache).with_overrides(kafka_group_protocol="consumer", scorer_poll_seconds=0.5)
    ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), s.topic_partitions)
    ModelMaker(s).publish()
    send_sensors(s, 300)
    with running_scorer(s) as app:
        wait_until(lambda: app.scored >= 300, SETTLE_S, "scores")
        assert len(app.consumer.assigned) == s.topic_partitions
    send_sensors(s, 100, seed=99)
    with running_scorer(s) as again:
        wait_until(lambda: again.scored >= 100, SETTLE_S, "scores after the restart")
    out = scores(s, expect=400)
    assert len(out) == 400 and again.scored == 100  # the close committed what was delivered
    assert len({sc.event_id for sc in out}) == 400


def committed(s: Settings, group: str, topic: str) -> dict[int, int]:
    consumer = metadata_consumer(consumer_config(s, group))
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=30)}
    finally:
        consumer.close()


def ends(s: Settings, topic: str) -> dict[int, int]:
    consumer = metadata_consumer(consumer_config(s, f"{s.topic_prefix}ends"))
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in range(PARTITIONS)
        }
    finally:
        consumer.close()
