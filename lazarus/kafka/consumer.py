"""Kafka consumers: the group-consumer wrapper, and a factory for the consumers that are not one.

`GroupConsumer` is a member of a consumer group whose input offsets are stored only once every
output made from them is acknowledged (store-after-ack, at-least-once). It owns the rebalance
hooks and commits on revoke, so a partition's next owner starts exactly after what was
delivered. It connects late: in `subscribe()`, never in `__init__`.

The other consumers (metadata and watermarks, explicit assignment) come from
`metadata_consumer()` and `assigned_consumer()`, so no module outside `lazarus.kafka` builds a
`confluent_kafka.Consumer` itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from lazarus.kafka.config import KafkaConfig
from lazarus.kafka.ledger import TP, Ledger, PendingBatch

log = logging.getLogger("lazarus.kafka")

REVOKE_FLUSH_S = 10.0
"""How long a revoke waits for outputs to be acknowledged before the partitions go."""
CLOSE_TIMEOUT_S = 15.0
"""How long `close()` waits for the final commit and the group leave. librdkafka's synchronous
commit has no timeout of its own: with the broker gone it would block a stopping worker
forever, deaf to SIGTERM."""
JOIN_WARN_S = 30.0
"""How long a member of a `group.protocol=consumer` group waits for partitions before it says
why it may have none (a broker without KIP-848 never assigns any, and never says so)."""


def metadata_consumer(conf: KafkaConfig) -> Consumer:
    """A consumer for metadata, watermarks and explicit commits: never subscribed.

    `conf` is a librdkafka configuration (`lazarus.kafka.config`); it connects on first use."""
    return Consumer(conf)


def membership_consumer(conf: KafkaConfig) -> Consumer:
    """A group member that only holds partitions: the caller subscribes with its own rebalance
    callbacks and pauses what it is assigned (sharded trainers read with assigned consumers)."""
    return Consumer(conf)


def assigned_consumer(conf: KafkaConfig) -> Consumer:
    """A consumer the caller `assign()`s partitions to (no group rebalancing)."""
    return Consumer(conf)


class Outputs(Protocol):
    """Where a group consumer's outputs go: the side that acknowledges them."""

    def flush(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for acknowledgements; the number still unacknowledged."""
        ...

    def settle_failures(self, failures: list[tuple[PendingBatch, Any]]) -> None:
        """Settle each (batch, message) whose delivery failed: send again, or dead-letter.
        Either way the message reports to `batch.ack` again, so no batch stalls."""
        ...


class GroupConsumer:
    """A consumer-group member that stores an input offset only once its outputs are acked.

    Use: `subscribe(topics)`, then `consume()`; `open()` a ledger batch per consumed batch and
    hand `batch.ack` as the delivery callback of its outputs; `checkpoint()` often; `close()`.
    Stored offsets are committed by librdkafka every `auto.commit.interval.ms`, and
    synchronously on revoke and on close.
    """

    def __init__(
        self, conf: KafkaConfig, outputs: Outputs, *, revoke_flush_s: float = REVOKE_FLUSH_S
    ) -> None:
        self.conf = conf
        self.outputs = outputs
        self.revoke_flush_s = revoke_flush_s
        self.ledger = Ledger()
        self.assigned: set[TP] = set()
        """(topic, partition) this member owns now."""
        self.rebalances = 0
        self.join_watch = JoinWatch(conf)
        self._consumer: Consumer | None = None

    @property
    def subscribed(self) -> bool:
        return self._consumer is not None

    def subscribe(self, topics: Sequence[str]) -> None:
        """Connect and join the group, reading `topics` (full names)."""
        consumer = Consumer(self.conf)
        consumer.subscribe(
            list(topics),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self._consumer = consumer
        self.join_watch.joined(time.monotonic())

    def consume(self, n: int, timeout: float) -> list[Message]:
        """Up to `n` messages (some may carry errors) within `timeout` seconds."""
        assert self._consumer is not None, "subscribe() first"
        messages: list[Message] = self._consumer.consume(n, timeout)
        self.join_watch.check(time.monotonic())
        return messages

    def open(self, offsets: dict[TP, int], expected: int) -> PendingBatch:
        """A ledger batch: `offsets` (next offset per partition) become storable after
        `expected` acknowledgements to `batch.ack`."""
        return self.ledger.open(offsets, expected)

    def hold(self, positions: dict[TP, int]) -> None:
        """Stop fetching these partitions and rewind each to its offset (`hold_at`)."""
        assert self._consumer is not None, "subscribe() first"
        hold_at(self._consumer, positions, self.assigned)

    def release(self, partitions: Iterable[TP]) -> None:
        """Fetch held partitions again, from where they were held (`release_all`)."""
        if self._consumer is not None:
            release_all(self._consumer, partitions, self.assigned)

    def checkpoint(self) -> None:
        """Move the offsets forward, in this order:

        1. settle failed deliveries (`Outputs.settle_failures`: resend or dead-letter);
        2. take the offsets of the leading batches whose every output is acknowledged;
        3. store those of partitions still assigned (a revoked one's new owner re-reads).
        The commit of stored offsets follows every `auto.commit.interval.ms` (librdkafka),
        or at once in `commit()` (on revoke and on close)."""
        self.outputs.settle_failures(self.ledger.failures())
        ready = self.ledger.ready()
        if not ready or self._consumer is None:
            return
        tps = [TopicPartition(t, p, o) for (t, p), o in ready.items() if (t, p) in self.assigned]
        if tps:
            try:
                self._consumer.store_offsets(offsets=tps)
            except KafkaException as exc:  # revoked in between: its new owner re-reads
                log.debug("store_offsets: %s", exc)

    def commit(self) -> None:
        """Commit the stored offsets now (synchronously); a failure is logged, not raised."""
        if self._consumer is not None:
            self._commit(self._consumer)

    @staticmethod
    def _commit(consumer: Consumer) -> None:
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning(
                    "offset commit failed (%s); the next owner re-reads from the last commit", exc
                )

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Checkpoint, commit, leave the group, within `timeout` seconds; False when the broker
        did not answer in time (logged: the inputs since the last commit are read again by
        the partitions' next owner, at least once). The caller flushes its outputs first."""
        consumer = self._consumer
        if consumer is None:
            return True
        self.checkpoint()
        self._consumer = None

        def finish() -> None:
            self._commit(consumer)
            consumer.close()

        closer = threading.Thread(target=finish, name="consumer-close", daemon=True)
        closer.start()
        closer.join(timeout)
        if closer.is_alive():
            log.error(
                "the broker did not take the final offset commit within %.0f s; the inputs "
                "since the last commit will be read again by their next owner",
                timeout,
            )
            return False
        return True

    # -- rebalance hooks (run inside consume()) ------------------------------------------------
    # Eager protocols (classic range, roundrobin) revoke everything, then assign the full set;
    # incremental ones (cooperative-sticky, and every KIP-848 group) pass only the partitions
    # added or taken away. A union on assign and a difference on revoke is right for both.

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned |= {(tp.topic, tp.partition) for tp in partitions}
        self.rebalances += 1
        self.join_watch.assigned()
        log.info("assigned %s", describe(partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Everything so far is flushed, acknowledged, stored and committed before the
        # partitions go, so their next owner starts exactly after what was delivered.
        left = self.outputs.flush(self.revoke_flush_s)
        self.checkpoint()
        if left:
            log.warning(
                "%d outputs unacknowledged at revoke: their inputs will be read again", left
            )
        self.commit()
        self.assigned -= {(tp.topic, tp.partition) for tp in partitions}
        log.info("revoked %s", describe(partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned -= {(tp.topic, tp.partition) for tp in partitions}
        log.warning("lost %s (session timed out); their new owner re-reads", describe(partitions))


def hold_at(consumer: Consumer, positions: dict[TP, int], assigned: set[TP]) -> None:
    """Pause each (topic, partition) of `positions` and seek it back to its offset, so the
    messages from there on, consumed but not used, are read again once it is released. A
    partition no longer `assigned` is left alone: its next owner reads from the committed
    offset. A rebalance that gives a partition back starts it unpaused, from that offset."""
    tps = [TopicPartition(t, p, o) for (t, p), o in positions.items() if (t, p) in assigned]
    if not tps:
        return
    consumer.pause(tps)
    for tp in tps:
        consumer.seek(tp)  # a failed seek raises: reading on would skip the held messages


def release_all(consumer: Consumer, partitions: Iterable[TP], assigned: set[TP]) -> None:
    """Resume each of `partitions` still `assigned` (one paused by `hold_at`)."""
    tps = [TopicPartition(t, p) for t, p in partitions if (t, p) in assigned]
    if tps:
        consumer.resume(tps)


class JoinWatch:
    """Says once, as a warning, when a member of a `group.protocol=consumer` group still has no
    partitions `after_s` seconds after joining: a broker without KIP-848 (Kafka before 4.0,
    Tansu) takes that join in silence and never assigns anything. A spare member (the group
    has more members than partitions) looks the same from inside, so the line names both.
    Classic groups are not watched: their members always hear of an assignment, if empty.

    `conf` is the member's librdkafka configuration; times are `time.monotonic()` seconds."""

    def __init__(self, conf: KafkaConfig, after_s: float = JOIN_WARN_S) -> None:
        self.group = str(conf.get("group.id", ""))
        self.watching = conf.get("group.protocol") == "consumer"
        self.after_s = after_s
        self._since: float | None = None

    def joined(self, now: float) -> None:
        """The member subscribed at `now`."""
        self._since = now if self.watching else None

    def assigned(self) -> None:
        """The member heard of its partitions (some or none): nothing to say."""
        self._since = None

    def check(self, now: float) -> None:
        """Warn (once) when `after_s` went by since `joined()` without `assigned()`."""
        if self._since is None or now - self._since < self.after_s:
            return
        waited, self._since = now - self._since, None
        log.warning(
            "no partitions assigned in group %s %.0f s after joining with group.protocol="
            "consumer (LAZARUS_KAFKA_GROUP_PROTOCOL): a broker without KIP-848 (Kafka before "
            "4.0, Tansu) never assigns any, so set LAZARUS_KAFKA_GROUP_PROTOCOL=classic for it; "
            "on Kafka 4.0+ this member may be spare (more members than partitions)",
            self.group,
            waited,
        )


def describe(partitions: list[TopicPartition]) -> str:
    """`topic[partition], ...` for a log line."""
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
