"""Exactly-once consume-score-produce: one Kafka transaction per consumed batch.

`TransactionalConsumer` is the exactly-once twin of `lazarus.kafka.consumer.GroupConsumer`
(same calls, so the scorer drives either): a batch's outputs and its input offsets
(`send_offsets_to_transaction`, with the consumer's group metadata, KIP-447) commit together
or not at all. A `read_committed` reader of the outputs sees each input's output once, across
worker crashes, rebalances and broker loss:

- a crash (even `kill -9`) leaves an open transaction, which the broker aborts after
  `transaction.timeout.ms` (`TRANSACTION_TIMEOUT_MS`); the partitions' next owner reads from
  the last committed offsets, and its offset fetch waits for that abort (KIP-447's stable
  offsets), so nothing is scored twice and nothing is skipped;
- a zombie (a member the group has moved on from) is fenced: its offsets carry a stale group
  generation, its transaction aborts;
- an abortable error (a delivery failed, the coordinator moved) aborts the transaction and
  rewinds each partition to the batch's first offset: the batch is scored again;
- a batch aborted because the broker refused an output for good is scored again one input per
  transaction, and the input whose output is refused is handed to `refused_reason()` callers
  (the scorer dead-letters it): one bad output cannot stall a partition.

Rebalances need no flush here: a transaction never stays open across `consume()`, where the
rebalance callbacks run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from lazarus.errors import ServiceUnavailable
from lazarus.kafka.config import KafkaConfig
from lazarus.kafka.consumer import CLOSE_TIMEOUT_S, JoinWatch, describe, hold_at, release_all
from lazarus.kafka.ledger import TP, Ledger, PendingBatch
from lazarus.kafka.txn_calls import TXN_CALL_TIMEOUT_S, TXN_RETRY_FOR_S, is_refusal, txn_call

log = logging.getLogger("lazarus.kafka")

TRANSACTION_TIMEOUT_MS = 10_000
"""`transaction.timeout.ms` of a scorer's producer: how long a crashed worker's open
transaction holds back read_committed readers (and the partitions' next owner) before the
broker aborts it. A transaction lives for one batch, well under a second."""
MIN_MAX_POLL_INTERVAL_MS = 60_000
"""`max.poll.interval.ms` of an exactly-once member, at least: a step includes the commit."""

Position = tuple[str, int, int]
"""(topic, partition, offset) of one input."""


class TransactionalConsumer:
    """A consumer-group member whose outputs and offsets commit in one transaction per batch.

    Use as `GroupConsumer`: `subscribe(topics)`; per step `consume()`, `open()` once per
    consumed batch (this begins the transaction), produce the outputs through `producer()`'s
    producer with `batch.ack` as their delivery callback, then `checkpoint()` (this commits);
    `close()`. `on_begin()` runs as a transaction begins, `on_abort()` after one aborted (so
    counters can be restored: its outputs were never seen by read_committed readers); it
    returns why an output was refused for good outside the ledger (a dead letter), or None.
    `renew()` replaces the producer with a new transactional one after a fatal error.
    """

    def __init__(
        self,
        conf: KafkaConfig,
        producer: Callable[[], Producer],
        *,
        on_begin: Callable[[], None] = lambda: None,
        on_abort: Callable[[], object | None] = lambda: None,
        renew: Callable[[], None] | None = None,
    ) -> None:
        self.conf = conf
        self._producer = producer
        self.on_begin = on_begin
        self.on_abort = on_abort
        self.renew = renew
        self.ledger = Ledger()
        self.assigned: set[TP] = set()
        self.rebalances = 0
        self.commits = 0
        self.aborts = 0
        self._consumer: Consumer | None = None
        self._in_txn = False
        self._starts: dict[TP, int] = {}
        """First offset of each partition in the open transaction: where an abort rewinds to."""
        self._nexts: dict[TP, int] = {}
        self._single_until: dict[TP, int] = {}
        """While set, batches are one input each, until these offsets are passed."""
        self._refused: dict[Position, tuple[str, int]] = {}
        """Inputs whose output was refused for good: why, and how many times so far."""
        self._refused_before: dict[Position, int] = {}
        self.join_watch = JoinWatch(conf)

    @property
    def subscribed(self) -> bool:
        return self._consumer is not None

    def subscribe(self, topics: Sequence[str]) -> None:
        """Register the transactional producer (fencing an older one with its id), then
        connect and join the group, reading `topics` (full names)."""
        failed = txn_call(lambda: self._producer().init_transactions(TXN_CALL_TIMEOUT_S), "init")
        if failed is not None:
            raise KafkaException(failed)
        conf = {
            **self.conf,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            # A commit waits out a transaction coordinator's failover (~10 s when a broker
            # dies); being dropped from the group meanwhile would abort the batch for nothing.
            "max.poll.interval.ms": max(
                int(self.conf.get("max.poll.interval.ms", 0)), MIN_MAX_POLL_INTERVAL_MS
            ),
        }
        self.join_watch = JoinWatch(conf)
        consumer = Consumer(conf)
        self.join_watch.joined(time.monotonic())
        consumer.subscribe(
            list(topics), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._lost
        )
        self._consumer = consumer

    def consume(self, n: int, timeout: float) -> list[Message]:
        """Up to `n` messages (one while a refused output is being isolated)."""
        assert self._consumer is not None, "subscribe() first"
        self.join_watch.check(time.monotonic())
        messages: list[Message] = self._consumer.consume(1 if self._single_until else n, timeout)
        for msg in messages:
            if msg.error() is None:
                tp = (msg.topic() or "", msg.partition() or 0)
                self._starts.setdefault(tp, msg.offset() or 0)
                until = self._single_until.get(tp)
                if until is not None and (msg.offset() or 0) + 1 >= until:
                    del self._single_until[tp]
        return messages

    def refused_reason(self, msg: Message) -> tuple[str, int] | None:
        """Why this input's output was refused for good in an earlier, aborted transaction, and
        how many times (its caller dead-letters the input instead of scoring it: without its
        payload from the second time, when the refused output was its full dead letter), or
        None."""
        return self._refused.pop((msg.topic() or "", msg.partition() or 0, msg.offset() or 0), None)

    def open(self, offsets: dict[TP, int], expected: int) -> PendingBatch:
        """Begin the batch's transaction (if not begun): `offsets` (next offset per partition)
        commit with the outputs that report to the returned batch's `ack`."""
        if not self._in_txn:
            self.on_begin()
            self._producer().begin_transaction()
            self._in_txn = True
        self._nexts.update(offsets)
        return self.ledger.open(offsets, expected)

    def hold(self, positions: dict[TP, int]) -> None:
        """Stop fetching these partitions and rewind each to its offset (`hold_at`), before
        the batch's transaction begins: they have no output in it, nothing to rewind on abort."""
        assert self._consumer is not None, "subscribe() first"
        for tp in positions:
            self._starts.pop(tp, None)
        hold_at(self._consumer, positions, self.assigned)

    def release(self, partitions: Iterable[TP]) -> None:
        """Fetch held partitions again, from where they were held (`release_all`)."""
        if self._consumer is not None:
            release_all(self._consumer, partitions, self.assigned)

    def checkpoint(self, retry_for: float = TXN_RETRY_FOR_S) -> None:
        """Commit the open transaction: its outputs and its input offsets, atomically. On an
        abortable failure, abort and rewind (the batch is read again); retriable failures are
        retried for `retry_for` seconds, then ServiceUnavailable; a fatal one (this producer
        was fenced) raises KafkaException."""
        if not self._in_txn or self._consumer is None:
            return
        consumer = self._consumer
        failures = [msg for _, msg in self.ledger.failures()]
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._nexts.items()]
        call = min(TXN_CALL_TIMEOUT_S, retry_for)
        try:
            if failures:  # refused at produce(): never in the transaction, so it cannot commit
                self._abort(failures[0].error(), failures, retry_for)
                return
            abortable = txn_call(
                lambda: self._producer().send_offsets_to_transaction(
                    offsets, consumer.consumer_group_metadata(), call
                ),
                "send offsets",
                retry_for,
            ) or txn_call(lambda: self._producer().commit_transaction(call), "commit", retry_for)
            if abortable is not None:
                self._abort(abortable, [], retry_for)
                return
        except KafkaException as exc:  # fatal: e.g. fenced after a coordinator's failover
            self._replace_producer(exc)
            return
        self.commits += 1
        self._finished()

    def _replace_producer(self, exc: KafkaException) -> None:
        """The transactional producer cannot go on (a fatal error: fenced, or its abort
        failed): a new one (`renew()`, a new transactional.id) takes over, and the batch is
        read again. Its open transaction never commits: the broker aborts it. Without
        `renew`, re-raises `exc` (the worker restarts)."""
        if self.renew is None:
            raise exc
        log.error(
            "the transactional producer cannot go on (%s): a new one takes over; "
            "%d inputs are read again",
            exc,
            sum(self._nexts[tp] - start for tp, start in self._starts.items() if tp in self._nexts),
        )
        self.renew()
        failed = txn_call(lambda: self._producer().init_transactions(TXN_CALL_TIMEOUT_S), "init")
        if failed is not None:
            raise KafkaException(failed)
        self.aborts += 1
        self.on_abort()
        self._rewind()
        self._finished()

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Commit what is open (the caller flushed) and leave the group, each within `timeout`
        seconds; never raises. False when the last transaction did not commit (the broker
        aborts it: its inputs are read again by their next owner, nothing is delivered twice)."""
        consumer = self._consumer
        if consumer is None:
            return True
        aborts = self.aborts
        try:
            self.checkpoint(retry_for=timeout)
            ok = self.aborts == aborts
        except (KafkaException, ServiceUnavailable) as exc:
            log.error("the last transaction did not commit (%s); its inputs are read again", exc)
            ok = False
        self._consumer = None
        leaving = threading.Thread(target=consumer.close, name="consumer-close", daemon=True)
        leaving.start()
        leaving.join(timeout)
        return ok and not leaving.is_alive()

    # -- aborting ---------------------------------------------------------------------------

    def _abort(self, err: KafkaError | None, failures: list[Message], retry_for: float) -> None:
        """Abort the open transaction and rewind each partition to its first offset in it.
        `failures` are outputs whose delivery failed (more are collected here)."""
        call = min(TXN_CALL_TIMEOUT_S, retry_for)
        self._producer().flush(call)
        failures = failures + [msg for _, msg in self.ledger.failures()]
        failed = txn_call(lambda: self._producer().abort_transaction(call), "abort", retry_for)
        if failed is not None:  # the producer cannot go on: the worker restarts
            raise KafkaException(failed)
        self.aborts += 1
        refused = [m for m in failures if is_refusal(m.error())]
        log.warning(
            "transaction aborted (%s); %d inputs are read again%s",
            err.str() if isinstance(err, KafkaError) else err,
            sum(self._nexts[tp] - start for tp, start in self._starts.items() if tp in self._nexts),
            f"; {len(refused)} outputs were refused for good" if refused else "",
        )
        refused_elsewhere = self.on_abort()
        if refused:
            self._isolate(refused[0].error())
        elif refused_elsewhere is not None:
            self._isolate(refused_elsewhere)
        self._rewind()
        self._finished()

    def _isolate(self, err: object) -> None:
        """A batch of one: its input's output is refused for good (`err`), remember why. A
        larger batch: read it again one input per transaction, to find the input."""
        starts, nexts = self._starts, self._nexts
        if sum(nexts[tp] - s for tp, s in starts.items() if tp in nexts) == 1:
            ((tp, start),) = starts.items()
            why = err.str() if isinstance(err, KafkaError) else str(err)
            position = (tp[0], tp[1], start)
            times = self._refused_before.get(position, 0) + 1
            self._refused_before[position] = times
            self._refused[position] = (f"the broker refused its output for good: {why}", times)
        else:
            self._single_until.update({tp: nexts[tp] for tp in starts if tp in nexts})

    def _rewind(self) -> None:
        assert self._consumer is not None
        for (topic, partition), offset in self._starts.items():
            if (topic, partition) not in self.assigned:
                continue  # revoked meanwhile: its next owner reads from the committed offset
            # A failed seek raises: reading on would commit offsets past the aborted batch.
            self._consumer.seek(TopicPartition(topic, partition, offset))

    def _finished(self) -> None:
        self._in_txn = False
        self._starts = {}
        self._nexts = {}
        self.ledger = Ledger()

    # -- rebalance hooks (run inside consume(), never inside a transaction) ---------------------

    def _let_go(self, partitions: list[TopicPartition]) -> None:
        """Forget partitions that went to another member, with their isolation state."""
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self.assigned -= gone
        for tp in gone:
            self._single_until.pop(tp, None)
        self._refused = {k: v for k, v in self._refused.items() if (k[0], k[1]) not in gone}
        self._refused_before = {
            k: v for k, v in self._refused_before.items() if (k[0], k[1]) not in gone
        }

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned |= {(tp.topic, tp.partition) for tp in partitions}
        self.join_watch.assigned()
        self.rebalances += 1
        log.info("assigned %s", describe(partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._let_go(partitions)
        log.info("revoked %s", describe(partitions))

    def _lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._let_go(partitions)
        log.warning("lost %s (session timed out); their new owner re-reads", describe(partitions))
