"""Consumer lag: committed offset against log end, per group, topic and partition.

The log end is read from the data, not only from the broker's high watermark:
some Kafka-protocol brokers (Tansu 0.6) report the last batch's base offset + 1
as the high watermark. Reading the last batch and taking its last offset + 1 is
correct on every broker and costs one small fetch per partition.

A broker that fails during a probe, even in the middle of one, gives ServiceUnavailable naming
LAZARUS_KAFKA_BOOTSTRAP_SERVERS (`lazarus.kafka.admin.broker_calls`), never a KafkaException.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from lazarus.kafka.admin import broker_calls
from lazarus.kafka.config import KafkaConfig
from lazarus.kafka.consumer import metadata_consumer

LOG_END_PROBE_S = 2.0


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int
    lag_seconds: float | None = None
    """Age of the oldest unconsumed message (0 when caught up; None when not measured)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _probe_consumer(conf: KafkaConfig, group: str) -> Consumer:
    c = dict(conf)
    c.update({"group.id": group, "enable.auto.commit": False, "enable.partition.eof": True})
    return metadata_consumer(c)


def reached_end(msg: Message) -> bool:
    """True for the end-of-partition event, False for a record. Any other error event means the
    broker failed under the read: KafkaException, so a reader never takes it for the end."""
    err = msg.error()
    if err is None:
        return False
    if err.code() == KafkaError._PARTITION_EOF:
        return True
    raise KafkaException(err)


def log_end(consumer: Consumer, tp: TopicPartition, timeout: float = LOG_END_PROBE_S) -> int:
    """The offset after the last record of `tp`."""
    low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
    if high <= low:
        return int(high)
    consumer.assign([TopicPartition(tp.topic, tp.partition, high - 1)])
    end = int(high)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if reached_end(msg):
            break  # we have read what there is
        end = max(end, (msg.offset() or 0) + 1)
    consumer.unassign()
    return end


def oldest_age(
    consumer: Consumer,
    tp: TopicPartition,
    offset: int,
    now: float,
    timeout: float = LOG_END_PROBE_S,
) -> float | None:
    """Seconds since the message at `offset` of `tp` was produced (None if it cannot be read)."""
    consumer.assign([TopicPartition(tp.topic, tp.partition, offset)])
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if reached_end(msg):
                return None
            _, ms = msg.timestamp()
            return max(0.0, now - ms / 1000.0) if ms > 0 else None
        return None
    finally:
        consumer.unassign()


def group_lag(
    conf: KafkaConfig, group: str, topics: list[str], *, ages: bool = False
) -> list[PartitionLag]:
    """Lag of `group` on every partition of `topics` (committed None: the group never committed).
    With `ages`, also the age of the oldest unconsumed message of each lagging partition.

    Raises ServiceUnavailable naming the setting when the broker fails, also mid-probe."""
    with broker_calls(conf):
        consumer = _probe_consumer(conf, group)
        try:
            return _lag_rows(consumer, group, topics, ages)
        finally:
            consumer.close()


def _lag_rows(consumer: Consumer, group: str, topics: list[str], ages: bool) -> list[PartitionLag]:
    md = consumer.list_topics(timeout=5.0)
    tps = [
        TopicPartition(t, p)
        for t in topics
        if t in md.topics
        for p in sorted(md.topics[t].partitions)
    ]
    committed = consumer.committed(tps, timeout=5.0) if tps else []
    rows = []
    now = time.time()
    for tp in committed:
        end = log_end(consumer, tp)
        offset = None if tp.offset == OFFSET_INVALID or tp.offset < 0 else int(tp.offset)
        lag = max(0, end - (offset or 0))
        age: float | None = None
        if ages:
            age = 0.0 if lag == 0 else _oldest_unconsumed_age(consumer, tp, offset, now)
        rows.append(PartitionLag(group, tp.topic, tp.partition, offset, end, lag, age))
    return rows


def _oldest_unconsumed_age(
    consumer: Consumer, tp: TopicPartition, committed: int | None, now: float
) -> float | None:
    start = committed
    if start is None:
        start, _ = consumer.get_watermark_offsets(tp, timeout=5.0, cached=False)
    return oldest_age(consumer, tp, int(start), now)


def total_lag(rows: list[PartitionLag]) -> int:
    return sum(r.lag for r in rows)


def max_age(rows: list[PartitionLag]) -> float | None:
    ages = [r.lag_seconds for r in rows if r.lag_seconds is not None]
    return max(ages) if ages else None
