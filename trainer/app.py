"""The trainer process: Kafka in, test-then-train, signed snapshots out.

It trusts its snapshots, not committed group offsets: on start it restores the
latest snapshot and has every partition read from the offsets that snapshot was
trained through, so a crash at any moment replays exactly what the model has
not yet seen. Offsets are committed to the group only so ops can watch lag.

Consuming, validating, featurizing and ordering are a feed (`trainer.feed`):
in this process, or in a second one overlapped with learning
(`LAZARUS_TRAINER_DECODER=process`). Either way this process holds all the
state a snapshot needs, so a feed can be restarted from its offsets at will.

The shell only: released items go to the learner in `trainer.dispatch`, snapshots follow
`trainer.checkpoint`, partitions are found and checked in `trainer.partitions`, metrics and
heartbeat fields are `trainer.metrics_view`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from confluent_kafka import OFFSET_BEGINNING, Consumer

from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.gctune import tune_for_streaming
from lazarus.groups import group_name
from lazarus.kafka.config import client_config, consumer_config, producer_config
from lazarus.kafka.consumer import metadata_consumer
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, Publisher, wait_with_backoff
from lazarus.metrics import LATENCY_BUCKETS, STATS_INTERVAL_MS, KafkaStats, RoleMetrics
from lazarus.registry.lineup import Lineup
from lazarus.registry.retention import Retention
from lazarus.registry.signing import Signer
from lazarus.registry.store import SnapshotStore
from lazarus.schemas.lifecycle import fresh_line
from lazarus.schemas.topics import DEAD_LETTERS, DRIFT, PREQUENTIAL, Topic
from lazarus.settings import Settings
from lazarus.trainer import metrics_view
from lazarus.trainer.checkpoint import Cadence, TrainerCheckpoint
from lazarus.trainer.dispatch import Dispatcher
from lazarus.trainer.drift_reports import DriftReporter
from lazarus.trainer.feed import Feed, FeedBatch, FeedPlan, FeedStopped, InlineFeed
from lazarus.trainer.feed_process import ProcessFeed
from lazarus.trainer.fresh_publishing import FreshPublisher
from lazarus.trainer.partitions import TopicsRecreated, check_offsets, commit_for_lag, discover
from lazarus.trainer.publishing import SnapshotPublisher, restore
from lazarus.trainer.rows import RowMaker
from lazarus.trainer.specs import ModelSpec

__all__ = ["Cadence", "TopicsRecreated", "TrainerApp", "trainer_consumer_config"]

log = logging.getLogger(__name__)

BATCH = 2000
POLL_S = 0.1
FINAL_SNAPSHOT_S = 10.0
FEED_RESTART_S = 1.0
FEED_START_S = 30.0

FeedFactory = Callable[[FeedPlan], Feed]
"""Builds an unstarted feed for a plan: `InlineFeed`, `ProcessFeed`, or an in-memory one."""


def trainer_consumer_config(settings: Settings, group: str) -> dict[str, Any]:
    """Assigned partitions, end-of-partition markers, no auto-commit, statistics for lag."""
    return consumer_config(
        settings,
        group,
        **{
            "enable.partition.eof": True,
            "enable.auto.commit": False,
            "statistics.interval.ms": STATS_INTERVAL_MS,
        },
    )


class TrainerApp:
    """`app.start()`, then `app.step()` until done, then `app.stop()`; `trainer.run.run()` does all three.

    Collaborators: `store` (snapshots), `publisher` (dead letters and prequential records;
    built from `settings` unless given) and `feed` (builds the feed of released items; by
    default inline or a second process, as `settings.trainer_decoder` says). Nothing connects
    before `start()`; `start_feeding(partitions)` is the part of `start()` that needs no broker.
    """

    def __init__(
        self,
        settings: Settings,
        spec: ModelSpec,
        store: SnapshotStore,
        signer: Signer,
        *,
        cadence: Cadence,
        from_beginning: bool = False,
        publisher: Publisher | None = None,
        feed: FeedFactory | None = None,
        lineup: Lineup | None = None,
    ) -> None:
        self.settings = settings
        self.lineup = lineup
        self.spec = spec
        self.cadence = cadence
        prefix = settings.topic_prefix
        self._inputs = [t.full(prefix) for t in spec.inputs]
        self._outcomes = spec.outcomes.full(prefix)
        self.group = group_name(prefix, "trainer", spec.name)
        self._topics: dict[str, Topic[Any]] = {t.full(prefix): t for t in spec.inputs}
        self._topics[self._outcomes] = spec.outcomes
        modules = settings.snapshot_modules
        self.learner, next_version = restore(
            store, spec, signer, from_beginning=from_beginning, modules=modules
        )
        self.snapshots = SnapshotPublisher(
            store,
            spec,
            signer,
            next_version,
            Retention.of_settings(settings),
            modules=modules,
        )
        self._consumer: Consumer | None = None
        """Metadata and group commits only: the feed does the consuming."""
        self._feed: Feed | None = None
        self.decoder_process = settings.trainer_decoder == "process"
        self._new_feed: FeedFactory = feed or (ProcessFeed if self.decoder_process else InlineFeed)
        self._feed_retry_at = 0.0
        self._assignment: list[tuple[str, int]] = []
        self._dlq_publisher = publisher or Publisher(producer_config(settings))
        self.dead_letters = DeadLetterSink(
            self._dlq_publisher, DEAD_LETTERS.full(prefix), "trainer"
        )
        self.dispatch = self._dispatcher()
        self.checkpoint = self._checkpoint()
        self.fresh = (
            FreshPublisher(store, spec, signer, Retention.of_settings(settings), modules)
            if spec.lifecycle.drift.action == "challenger"
            else None
        )
        self._joined: set[tuple[str, str]] = set()
        self.in_by_topic: dict[str, int] = {}
        self.learned_growth, self.read_growth = metrics_view.LastGrowth(), metrics_view.LastGrowth()
        self.role = f"trainer:{spec.name}"
        self.drifts = DriftReporter(
            spec.name,
            self._dlq_publisher,
            DRIFT.full(prefix),
            lineup,
            self.role,
            spec.lifecycle.drift.detector,
        )
        self.metrics = RoleMetrics(self.role)
        self.metrics.collect_with(lambda: metrics_view.samples(self))
        self._step_seconds = self.metrics.histogram(
            "processing_seconds", "one consumed batch: validate, join, learn", LATENCY_BUCKETS
        ).labels(role=self.role)
        self.kafka_stats = KafkaStats(self.group)

    def _dispatcher(self) -> Dispatcher:
        """Released items to the learner; prequential records and dead letters out."""
        return Dispatcher(
            self.spec,
            self.learner,
            self._inputs,
            self.dead_letters,
            self._dlq_publisher,
            PREQUENTIAL.full(self.settings.topic_prefix),
        )

    def _checkpoint(self) -> TrainerCheckpoint:
        """Snapshots on `self.cadence`; each published one's offsets committed for lag."""
        return TrainerCheckpoint(
            self.learner,
            self.snapshots,
            self.cadence,
            self.dispatch.reject_failures,
            lambda offsets: commit_for_lag(self._consumer, offsets),
            self.spec.name,
        )

    @property
    def prequential_unrenderable(self) -> int:
        return self.dispatch.prequential_unrenderable

    @property
    def events_in(self) -> int:
        return sum(self.in_by_topic.values())

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 120.0, stopped: Callable[[], bool] | None = None) -> None:
        """Wait for Kafka, find the partitions, check the snapshot fits them, start the feed.
        Raises ServiceUnavailable (no broker, no topics) or TopicsRecreated."""
        wait_with_backoff(client_config(self.settings, quiet=True), timeout, stopped)
        self._dlq_publisher.start(timeout, stopped)
        # Metadata, watermarks and commits only: never polled for messages, so no statistics
        # (they would queue up unread; the feed's consumer reports them).
        consumer = metadata_consumer({**self._consumer_config(), "statistics.interval.ms": 0})
        partitions = discover(consumer, [*self._inputs, self._outcomes], timeout)
        check_offsets(
            consumer,
            self.learner.state.offsets,
            partitions,
            self.spec.name,
            self.snapshots.current_version,
        )
        self._consumer = consumer
        self.start_feeding(partitions)

    def start_feeding(self, partitions: list[tuple[str, int]]) -> None:
        """Start the feed on `partitions` ((topic, partition), inputs and outcomes), each
        from the learner's offset. Needs no broker when the feed factory needs none."""
        self._assignment = partitions
        self._start_feed()
        tune_for_streaming()
        log.info(
            "training %s from %s, labels from %s (%d partitions), next version v%d; decoding %s",
            self.spec.name,
            ", ".join(self._inputs),
            self._outcomes,
            len(self._assignment),
            self.snapshots.next_version,
            "in a second process" if self.decoder_process else "in this process",
        )

    def _consumer_config(self) -> dict[str, Any]:
        return trainer_consumer_config(self.settings, self.group)

    def _start_feed(self) -> None:
        """Start the feed (inline or a process), reading from where the learner is."""
        offsets = self.learner.state.offsets
        conf = {k: v for k, v in self._consumer_config().items() if k != "logger"}
        plan = FeedPlan(
            conf=conf,
            assignments=[
                (t, p, offsets.get(f"{t}:{p}", OFFSET_BEGINNING)) for t, p in self._assignment
            ],
            topics=self._topics,
            outcomes=self._outcomes,
            rank={t: i for i, t in enumerate(self._inputs)} | {self._outcomes: len(self._inputs)},
            rows=RowMaker.for_spec(self.spec),
            role=self.role,
            log_level=self.settings.log_level,
            batch=BATCH,
            poll_s=POLL_S,
        )
        feed = self._new_feed(plan)
        feed.start()
        try:
            feed.wait_ready(FEED_START_S)
        except FeedStopped:
            feed.stop()
            raise
        self._feed = feed

    def step(self) -> int:
        """Learn from one decoded batch, snapshot when due. Returns the messages it covered."""
        batch = self._receive()
        n = 0
        if batch is not None:
            started = time.perf_counter()
            self.dispatch.learn(batch.items)
            reports = self.learner.take_drift_reports()
            if reports:
                self.drifts.report(reports)
            for topic, count in batch.counts.items():
                self.in_by_topic[topic] = self.in_by_topic.get(topic, 0) + count
                n += count
            if batch.stats is not None:
                self.kafka_stats(batch.stats)
            if batch.items:
                self._step_seconds.observe(time.perf_counter() - started)
        self._dlq_publisher.poll(0)
        self.dead_letters.settle()  # a letter the broker refused goes again, shrunk
        self.maybe_snapshot()
        return n

    def _receive(self) -> FeedBatch | None:
        try:
            if self._feed is None:
                if time.monotonic() < self._feed_retry_at:
                    time.sleep(POLL_S)
                    return None
                self._start_feed()
            assert self._feed is not None, "start() first"
            return self._feed.receive(POLL_S)
        except FeedStopped as exc:
            log.error(
                "the decoding process of %s stopped (%s); restarting it from the learner's "
                "offsets in %.0fs: nothing is lost or learned twice",
                self.spec.name,
                exc,
                FEED_RESTART_S,
            )
            self._stop_feed()
            self._feed_retry_at = time.monotonic() + FEED_RESTART_S
            return None

    def _stop_feed(self) -> None:
        if self._feed is not None:
            self._feed.stop()
            self._feed = None

    def stop(self) -> int:
        """Publish a final snapshot (retrying for a while), flush, close. Returns the exit code."""
        code = 0
        self._stop_feed()
        if not self.checkpoint.commit_final(FINAL_SNAPSHOT_S):
            log.error(
                "could not publish a final snapshot of %s; on restart it replays from v%s",
                self.spec.name,
                self.snapshots.current_version,
            )
            code = 1
        self._after_snapshot()
        self._dlq_publisher.close(SHUTDOWN_FLUSH_S)
        if self._consumer is not None:
            self._consumer.close()
        return code

    def maybe_snapshot(self, force: bool = False) -> None:
        """Publish a snapshot when the checkpoint is due (or `force`d) and the model moved."""
        before = self.snapshots.stats.published
        self.checkpoint.maybe_commit(force)
        if self.snapshots.stats.published != before:
            self._after_snapshot()

    def _after_snapshot(self) -> None:
        """The lifecycle after each snapshot: publish the fresh challenger line, enter the
        lineup (a declared challenger, the fresh line), learn which line is the champion."""
        name, lineup = self.spec.name, self.lineup
        fresh = self.fresh.publish(self.learner) if self.fresh is not None else None
        if lineup is None:
            return
        wanted = []
        if fresh is not None:
            wanted.append((name, fresh_line(name)))
        if self.spec.lifecycle.challenger_of:
            wanted.append((self.spec.lifecycle.challenger_of, name))
        try:
            for model, line in wanted:
                if (model, line) not in self._joined:
                    lineup.join(model, line)
                    self._joined.add((model, line))
            self.learner.fresh_is_champion = lineup.champion(name) == fresh_line(name)
        except (redis.RedisError, OSError) as exc:
            log.warning("cannot read or join the lineup of %s (%s); retrying", name, exc)

    def stats(self) -> dict[str, object]:
        """The heartbeat's fields (`trainer.metrics_view.heartbeat`)."""
        return metrics_view.heartbeat(self)

    def summary(self) -> str:
        """One line on what this trainer did, for the end of its run."""
        return (
            f"{self.spec.name}: learned {self.learner.state.n_learned}, "
            f"published up to v{self.snapshots.current_version}, "
            f"dead-lettered {self.dead_letters.count}"
        )
