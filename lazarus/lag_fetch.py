"""Reading records for lag: log ends behind the high watermark and the timestamps of oldest
unconsumed records, for many partitions at once, in one assignment, bounded in time.

Every partition read is assigned once; a partition that needs several places (the log end and
one or more groups' committed offsets) is read from the lowest and `seek`s ahead only over gaps
wider than `SEEK_GAP`. Whatever is not read by the deadline is left out of `Reads`: the caller
says "age unknown" (or falls back to the high watermark), never waits longer.

A read is `Plan`-driven: `ends` (partition -> high watermark - 1: read from there to the end of
the partition) and `stamps` (partition -> offsets whose first record's timestamp is wanted).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from lazarus.kafka.config import KafkaConfig
from lazarus.kafka.consumer import assigned_consumer
from lazarus.lag_memo import NO_TIMESTAMP, Position

log = logging.getLogger(__name__)

TP = tuple[str, int]
SEEK_GAP = 1000
"""Offsets ahead beyond which a partition seeks instead of reading on."""
CONSUME_BATCH = 1000
FETCH_OPTIONS: dict[str, object] = {
    "enable.auto.commit": False,
    "enable.partition.eof": True,
    "auto.offset.reset": "earliest",  # a place retention deleted: its oldest record instead
    "fetch.wait.max.ms": 10,  # the end of a partition shows as soon as a fetch comes back empty
    "fetch.error.backoff.ms": 50,
    "max.partition.fetch.bytes": 262_144,
    "queued.max.messages.kbytes": 4096,
    "check.crcs": False,
}


def reader_config(conf: KafkaConfig) -> KafkaConfig:
    """`conf` for a consumer that only reads for lag (assigned, never committing)."""
    return {**conf, "group.id": "lazarus-lag-reader", **FETCH_OPTIONS}


@dataclass
class Plan:
    """What to read: `ends` maps a partition to where its last batch starts (high watermark
    - 1); `stamps` maps a partition to the offsets whose record timestamps are wanted."""

    ends: dict[TP, int] = field(default_factory=dict)
    stamps: dict[TP, set[int]] = field(default_factory=dict)

    def partitions(self) -> set[TP]:
        return set(self.ends) | {tp for tp, offsets in self.stamps.items() if offsets}


@dataclass
class Reads:
    """What was read in time: `ends` (partition -> offset after its last record), `seen`
    (partition -> offset after the furthest record read, where its end was not reached in
    time) and `stamps` ((topic, partition, offset) -> epoch ms of the first record at or after
    it)."""

    ends: dict[TP, int] = field(default_factory=dict)
    seen: dict[TP, int] = field(default_factory=dict)
    late: int = 0
    """Partitions not read to the end of what was planned in time."""
    stamps: dict[Position, int] = field(default_factory=dict)


class PartitionRead:
    """One partition's reading: the offsets still wanted, in order, and whether the end is."""

    def __init__(self, tp: TP, end_from: int | None, offsets: Sequence[int]) -> None:
        self.tp = tp
        self.end_from = end_from
        self.targets = sorted(set(offsets))
        self.seen_end = -1
        self.position = self.next_place()

    def next_place(self) -> int:
        places = self.targets[:1] + ([self.end_from] if self.end_from is not None else [])
        return min(places)

    @property
    def done(self) -> bool:
        return not self.targets and self.end_from is None

    def record(self, offset: int, stamp: int, reads: Reads) -> int | None:
        """Take one record; the offset to seek to next, if far ahead."""
        if offset < self.position:
            return None  # fetched before a seek
        while self.targets and self.targets[0] <= offset:
            reads.stamps[(*self.tp, self.targets.pop(0))] = stamp
        self.seen_end = max(self.seen_end, offset + 1)
        if self.done:
            return None
        ahead = self.next_place()
        if ahead > offset + 1 + SEEK_GAP:
            self.position = ahead
            return ahead
        return None

    def reached(self, end: int, reads: Reads) -> None:
        """The partition ends at `end` (nothing at or after it yet)."""
        if self.end_from is not None and end >= self.end_from:
            reads.ends[self.tp] = max(end, self.seen_end)
            self.end_from = None
        self.targets = [t for t in self.targets if t < end]


def read_logs(conf: KafkaConfig, plan: Plan, budget_s: float) -> Reads:
    """Read `plan` with one consumer for at most `budget_s` seconds; what was read in time.

    Raises KafkaException when the broker fails under the read (callers wrap it in
    `lazarus.kafka.admin.broker_calls`)."""
    reads = Reads()
    if not plan.partitions():
        return reads
    consumer = assigned_consumer(reader_config(conf))
    try:
        read_with(consumer, plan, reads, time.monotonic() + budget_s)
    finally:
        consumer.close()
    return reads


def read_with(consumer: Consumer, plan: Plan, reads: Reads, deadline: float) -> None:
    """`read_logs` with a consumer of the caller's (assigned, then unassigned again)."""
    parts = {
        tp: PartitionRead(tp, plan.ends.get(tp), sorted(plan.stamps.get(tp, ())))
        for tp in sorted(plan.partitions())
    }
    consumer.assign([TopicPartition(t, p, part.position) for (t, p), part in parts.items()])
    try:
        while any(not p.done for p in parts.values()) and time.monotonic() < deadline:
            wait = max(0.0, min(0.1, deadline - time.monotonic()))
            for msg in consumer.consume(CONSUME_BATCH, wait):
                _take(consumer, msg, parts, reads)
    finally:
        consumer.unassign()
    late = [tp for tp, p in parts.items() if not p.done]
    reads.late = len(late)
    if late:
        log.debug("lag: %d partitions not read in time: %s", len(late), late[:5])
    for part in parts.values():  # no end-of-partition event in time: the furthest record seen
        if part.end_from is not None and part.seen_end > part.end_from:
            reads.seen[part.tp] = part.seen_end


def _take(
    consumer: Consumer, msg: Message, parts: Mapping[TP, PartitionRead], reads: Reads
) -> None:
    end = reached_end(msg)  # raises on any other error, also one of no partition
    part = parts.get((msg.topic() or "", msg.partition() or 0))
    if part is None:
        return
    if end:
        part.reached(msg.offset() or 0, reads)
        seek = None
    else:
        kind, stamp = msg.timestamp()
        seek = part.record(msg.offset() or 0, stamp if kind and stamp >= 0 else NO_TIMESTAMP, reads)
    if seek is not None:
        consumer.seek(TopicPartition(part.tp[0], part.tp[1], seek))


def reached_end(msg: Message) -> bool:
    """True for the end-of-partition event, False for a record. Any other error event means the
    broker failed under the read: KafkaException, so a reader never takes it for the end."""
    err = msg.error()
    if err is None:
        return False
    if err.code() == KafkaError._PARTITION_EOF:
        return True
    raise KafkaException(err)
