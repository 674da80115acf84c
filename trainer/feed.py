"""Where the learner's rows come from: a consumer, the decoding stage, and its flow control.

`Pump` is the consuming loop's body: consume a batch, decode it into the merge
(`trainer.decoding`), pause partitions that are far ahead of a blocked one,
and hand back what the merge releases. It holds nothing a snapshot needs: the
learner's offsets say where a new pump starts.

Two feeds run it:

- `InlineFeed`, in the learner's own process;
- `ProcessFeed` (`trainer.feed_process`), in a second process, so decoding
  overlaps with learning. It pays off where cores are free; on a 2-core machine
  that also runs the broker, pickling and the broker eat most of the gain.

`LAZARUS_TRAINER_DECODER` (`inline` or `process`) chooses.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from confluent_kafka import KafkaError, TopicPartition

from lazarus.errors import LazarusError
from lazarus.kafka.config import RDKAFKA_LOGGER, KafkaConfig
from lazarus.kafka.consumer import assigned_consumer
from lazarus.kafka.outage import OutageLog
from lazarus.schemas.topics import Topic
from lazarus.trainer.decoding import Decoder, Released, Throttle
from lazarus.trainer.rows import RowMaker

ConsumerFactory = Callable[[KafkaConfig], Any]
"""Builds a consumer (confluent-kafka's, or one shaped like it) from its configuration."""

THROTTLE_HIGH_BATCHES = 4
"""A partition with this many batches queued in the merge pauses while another blocks it."""


@dataclass(frozen=True)
class FeedPlan:
    """Everything a pump needs; no secrets beyond the consumer's own."""

    conf: KafkaConfig
    """Consumer configuration without callables (the pump adds its logger and stats_cb)."""
    assignments: list[tuple[str, int, int]]
    """(topic, partition, first offset or OFFSET_BEGINNING)"""
    topics: dict[str, Topic[Any]]
    outcomes: str
    rank: dict[str, int]
    rows: RowMaker
    """Rows of the trainer's spec (picklable: plain fields and attrgetters)."""
    role: str
    log_level: str = "INFO"
    batch: int = 2000
    poll_s: float = 0.1
    parent: int = field(default_factory=os.getpid)


@dataclass(frozen=True)
class FeedBatch:
    """What one receive from a feed gives the learner: the merge's released items, in
    learning order (`trainer.decoding` describes their tuples, invalid ones included)."""

    items: list[Released]
    counts: dict[str, int]
    """Messages consumed per topic (all of them, valid or not)."""
    stats: str | None
    """librdkafka's latest statistics JSON, if one came since the last batch."""


class FeedStopped(LazarusError):
    """The feed's consumer is gone (its process exited); the learner restarts it from its offsets."""


class Feed(Protocol):
    """The trainer's source of decoded, merged input: `InlineFeed` (in the learner's process)
    or `ProcessFeed` (a decoding process beside it). It reads the partitions and first
    offsets of its `FeedPlan` (the learner's next offsets to read); being stateless, it may
    be stopped and started again from the learner's offsets at any time."""

    def start(self) -> None:
        """Begin consuming (connect; start the process). Returns without waiting."""
        ...

    def wait_ready(self, timeout: float) -> None:
        """Block until the feed consumes, at most `timeout` seconds; raises `FeedStopped` if it
        did not start (its process exited or timed out)."""
        ...

    def receive(self, timeout: float) -> FeedBatch | None:
        """The next batch of released items, or None when none came within `timeout` seconds.
        Raises `FeedStopped` when the feed's consumer is gone (the learner restarts it)."""
        ...

    def stop(self) -> None:
        """Stop consuming and release the consumer (and the process); idempotent."""
        ...


class Pump:
    """Consumes the plan's partitions, decodes and merges: one `step()` per released batch.
    `consumer` builds the consumer from a configuration (an in-memory one in unit tests)."""

    def __init__(self, plan: FeedPlan, consumer: ConsumerFactory = assigned_consumer) -> None:
        self.plan = plan
        self._stats: list[str] = []
        self.consumer = consumer(
            {**plan.conf, "logger": RDKAFKA_LOGGER, "stats_cb": self._stats.append}
        )
        self.consumer.assign([TopicPartition(t, p, o) for t, p, o in plan.assignments])
        self.decoder = Decoder(
            plan.topics,
            plan.outcomes,
            [(t, p) for t, p, _ in plan.assignments],
            plan.rank,
            plan.rows,
        )
        self.throttle = Throttle(high=THROTTLE_HIGH_BATCHES * plan.batch, low=plan.batch)

    def step(self, timeout: float) -> tuple[FeedBatch, list[KafkaError]]:
        """One consume; what the merge released, and the broker errors seen."""
        decoder = self.decoder
        errors = decoder.add(self.consumer.consume(self.plan.batch, timeout))
        items = decoder.ready()
        pause, resume = self.throttle.update(
            decoder.merge.queued_by_partition(), decoder.merge.blocked_on
        )
        if pause:
            self.consumer.pause([TopicPartition(t, p) for t, p in pause])
        if resume:
            self.consumer.resume([TopicPartition(t, p) for t, p in resume])
        batch = FeedBatch(items, decoder.counts, self._stats[-1] if self._stats else None)
        decoder.counts = {}
        self._stats.clear()
        return batch, errors

    def close(self) -> None:
        self.consumer.close()


class InlineFeed:
    """The pump in the learner's process."""

    def __init__(self, plan: FeedPlan, consumer: ConsumerFactory = assigned_consumer) -> None:
        self.plan = plan
        self._consumer = consumer
        self._pump: Pump | None = None
        self._outage = OutageLog()

    def start(self) -> None:
        self._pump = Pump(self.plan, self._consumer)

    def wait_ready(self, timeout: float) -> None:
        return None

    def receive(self, timeout: float) -> FeedBatch | None:
        assert self._pump is not None, "start() first"
        batch, errors = self._pump.step(timeout)
        self._outage(errors)
        return batch

    def stop(self) -> None:
        if self._pump is not None:
            self._pump.close()
            self._pump = None
