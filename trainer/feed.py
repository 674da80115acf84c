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
from dataclasses import dataclass, field
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, TopicPartition

from lazarus.errors import LazarusError
from lazarus.kafka.config import RDKAFKA_LOGGER, KafkaConfig
from lazarus.kafka.outage import OutageLog
from lazarus.schemas.topics import Topic
from lazarus.trainer.decoding import Decoder, Released, Throttle
from lazarus.trainer.rows import RowMaker

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
class Batch:
    items: list[Released]
    counts: dict[str, int]
    """Messages consumed per topic (all of them, valid or not)."""
    stats: str | None
    """librdkafka's latest statistics JSON, if one came since the last batch."""


class FeedStopped(LazarusError):
    """The feed's consumer is gone (its process exited); the learner restarts it from its offsets."""


class Feed(Protocol):
    def start(self) -> None: ...
    def wait_ready(self, timeout: float) -> None: ...
    def receive(self, timeout: float) -> Batch | None: ...
    def stop(self) -> None: ...


class Pump:
    def __init__(self, plan: FeedPlan) -> None:
        self.plan = plan
        self._stats: list[str] = []
        self.consumer = Consumer(
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

    def step(self, timeout: float) -> tuple[Batch, list[KafkaError]]:
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
        batch = Batch(items, decoder.counts, self._stats[-1] if self._stats else None)
        decoder.counts = {}
        self._stats.clear()
        return batch, errors

    def close(self) -> None:
        self.consumer.close()


class InlineFeed:
    """The pump in the learner's process."""

    def __init__(self, plan: FeedPlan) -> None:
        self.plan = plan
        self._pump: Pump | None = None
        self._outage = OutageLog()

    def start(self) -> None:
        self._pump = Pump(self.plan)

    def wait_ready(self, timeout: float) -> None:
        return None

    def receive(self, timeout: float) -> Batch | None:
        assert self._pump is not None, "start() first"
        batch, errors = self._pump.step(timeout)
        self._outage(errors)
        return batch

    def stop(self) -> None:
        if self._pump is not None:
            self._pump.close()
            self._pump = None
