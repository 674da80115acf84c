"""The trainer process: Kafka in, test-then-train, signed snapshots out.

It trusts its snapshots, not committed group offsets: on start it restores the
latest snapshot and has every partition read from the offsets that snapshot was
trained through, so a crash at any moment replays exactly what the model has
not yet seen. Offsets are committed to the group only so ops can watch lag.

Consuming, validating, featurizing and ordering are a feed (`trainer.feed`):
in this process, or in a second one overlapped with learning
(`LAZARUS_TRAINER_DECODER=process`). Either way this process holds all the
state a snapshot needs, so a feed can be restarted from its offsets at will.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from lazarus.deadletters import DeadLetterSink
from lazarus.errors import LazarusError, ServiceUnavailable
from lazarus.gctune import tune_for_streaming
from lazarus.groups import group_name
from lazarus.kafka.config import client_config, consumer_config, producer_config
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, Publisher, wait_with_backoff
from lazarus.lag import log_end
from lazarus.metrics import (
    LATENCY_BUCKETS,
    STATS_INTERVAL_MS,
    KafkaStats,
    RoleMetrics,
    Sample,
    counted,
)
from lazarus.schemas.topics import DEAD_LETTERS, PREQUENTIAL, Topic
from lazarus.settings import Settings
from lazarus.signing import Signer
from lazarus.snapshot_store import SnapshotStore
from lazarus.trainer.decoding import FEATURES, LABEL, Released
from lazarus.trainer.feed import Batch, Feed, FeedPlan, FeedStopped, InlineFeed
from lazarus.trainer.feed_process import ProcessFeed
from lazarus.trainer.join import Joined, pack_origin, unjoined, unpack_origin
from lazarus.trainer.learner import ModelFailure
from lazarus.trainer.prequential import PrequentialRenderer
from lazarus.trainer.rows import RowMaker
from lazarus.trainer.snapshots import SnapshotPublisher, restore
from lazarus.trainer.specs import ModelSpec

log = logging.getLogger(__name__)

BATCH = 2000
POLL_S = 0.1
FINAL_SNAPSHOT_S = 10.0
FEED_RESTART_S = 1.0
FEED_START_S = 30.0


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


class Rejected(Exception):
    """Why the decoding process refused a message (its reason, already one line)."""


class TopicsRecreated(LazarusError):
    """The snapshot's offsets are past the end of the logs it names."""


@dataclass(frozen=True)
class Cadence:
    every: int
    seconds: float


class TrainerApp:
    """`app.start()`, then `app.step()` until done, then `app.stop()`; `run()` does all three."""

    def __init__(
        self,
        settings: Settings,
        spec: ModelSpec,
        store: SnapshotStore,
        signer: Signer,
        *,
        cadence: Cadence,
        from_beginning: bool = False,
    ) -> None:
        self.settings = settings
        self.spec = spec
        self.cadence = cadence
        prefix = settings.topic_prefix
        self._inputs = [t.full(prefix) for t in spec.inputs]
        self._outcomes = spec.outcomes.full(prefix)
        self.group = group_name(prefix, "trainer", spec.name)
        self._prequential_topic = PREQUENTIAL.full(prefix)
        self._prequential_render = PrequentialRenderer(spec.name, spec.segment_fields).render
        self._batch_time = ""
        self._topics: dict[str, Topic[Any]] = {t.full(prefix): t for t in spec.inputs}
        self._topics[self._outcomes] = spec.outcomes
        self.learner, next_version = restore(store, spec, signer, from_beginning=from_beginning)
        self.snapshots = SnapshotPublisher(
            store, spec, signer, next_version, settings.snapshot_keep
        )
        self._consumer: Consumer | None = None
        """Metadata and group commits only: the feed does the consuming."""
        self._feed: Feed | None = None
        self.decoder_process = settings.trainer_decoder == "process"
        self._feed_retry_at = 0.0
        self._assignment: list[tuple[str, int]] = []
        self._source = {topic: i for i, topic in enumerate(self._inputs)}
        self._dlq_publisher = Publisher(producer_config(settings))
        self.dead_letters = DeadLetterSink(
            self._dlq_publisher, DEAD_LETTERS.full(prefix), "trainer"
        )
        self._learned_at_snapshot = self.learner.state.n_learned
        self._offsets_at_snapshot = dict(self.learner.state.offsets)
        self._snapshot_at = time.monotonic()
        self._unjoined_logged = unjoined(self.learner.state.join.counters)
        self.prequential_unrenderable = 0
        self.in_by_topic: dict[str, int] = {}
        self.role = f"trainer:{spec.name}"
        self.metrics = RoleMetrics(self.role)
        self.metrics.collect_with(self._samples)
        self._step_seconds = self.metrics.histogram(
            "processing_seconds", "one consumed batch: validate, join, learn", LATENCY_BUCKETS
        ).labels(role=self.role)
        self.kafka_stats = KafkaStats(self.group)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 120.0, stopped: Callable[[], bool] | None = None) -> None:
        wait_with_backoff(client_config(self.settings, quiet=True), timeout, stopped)
        self._dlq_publisher.start(timeout, stopped)
        # Metadata, watermarks and commits only: never polled for messages, so no statistics
        # (they would queue up unread; the feed's consumer reports them).
        consumer = Consumer({**self._consumer_config(), "statistics.interval.ms": 0})
        self._assignment = self._partitions(consumer, timeout)
        self._check_offsets(consumer, self._assignment)
        self._consumer = consumer
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
        feed: Feed = ProcessFeed(plan) if self.decoder_process else InlineFeed(plan)
        feed.start()
        try:
            feed.wait_ready(FEED_START_S)
        except FeedStopped:
            feed.stop()
            raise
        self._feed = feed

    def _check_offsets(self, consumer: Consumer, partitions: list[tuple[str, int]]) -> None:
        """A snapshot trained past the end of a log belongs to another incarnation of the topics."""
        for topic, partition in partitions:
            wanted = self.learner.state.offsets.get(f"{topic}:{partition}")
            if wanted is None:
                continue
            tp = TopicPartition(topic, partition)
            low, _ = consumer.get_watermark_offsets(tp, timeout=5.0, cached=False)
            if wanted < low:
                log.error(
                    "%s[%d]: offsets %d..%d were deleted (retention) before %s learned them; "
                    "continuing from %d. Lengthen the topic's retention beyond the trainer's downtime.",
                    topic,
                    partition,
                    wanted,
                    low - 1,
                    self.spec.name,
                    low,
                )
            end = log_end(consumer, tp)
            if wanted > end:
                raise TopicsRecreated(
                    f"{self.spec.name} v{self.snapshots.current_version} was trained through offset "
                    f"{wanted} of {topic}[{partition}], but that log ends at {end}: the topics were "
                    "recreated or truncated. Rebuild with `lazarus train "
                    f"{self.spec.name} --from-beginning`, or point LAZARUS_REDIS_KEY_PREFIX elsewhere"
                )

    def _partitions(self, consumer: Consumer, timeout: float) -> list[tuple[str, int]]:
        deadline = time.monotonic() + timeout
        wanted = [*self._inputs, self._outcomes]
        while True:
            topics = consumer.list_topics(timeout=5).topics
            missing = [t for t in wanted if t not in topics or not topics[t].partitions]
            if not missing:
                return [(t, p) for t in wanted for p in sorted(topics[t].partitions)]
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"topics {missing} do not exist; create them with `lazarus topics create`"
                )
            log.warning("waiting for topics %s to exist (`lazarus topics create`)", missing)
            time.sleep(1.0)

    def step(self) -> int:
        """Learn from one decoded batch, snapshot when due. Returns the messages it covered."""
        batch = self._receive()
        n = 0
        if batch is not None:
            started = time.perf_counter()
            self._learn(batch.items)
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

    def _receive(self) -> Batch | None:
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
        deadline = time.monotonic() + FINAL_SNAPSHOT_S
        while self._changed_since_snapshot():  # an older unconfirmed snapshot may go out first
            if not self._publish():
                if time.monotonic() > deadline:
                    log.error(
                        "could not publish a final snapshot of %s; on restart it replays from v%s",
                        self.spec.name,
                        self.snapshots.current_version,
                    )
                    code = 1
                    break
                time.sleep(0.5)
        self._dlq_publisher.close(SHUTDOWN_FLUSH_S)
        if self._consumer is not None:
            self._consumer.close()
        return code

    # -- the loop ----------------------------------------------------------------------------

    def _learn(self, items: list[Released]) -> None:
        """Items in the merge's order: hold features, learn from labels, dead-letter the rest."""
        learner = self.learner
        hold, label, advance = learner.hold, learner.label, learner.advance
        source = self._source
        self._batch_time = datetime.now(UTC).isoformat()  # when these predictions were made
        for item in items:
            if item[0] == FEATURES:
                _, topic, partition, offset, join_key, subject, at_ms, x, segment = item
                early = hold(
                    join_key,
                    subject,
                    at_ms,
                    x,
                    segment,
                    pack_origin(source[topic], partition, offset),
                )
                if early is not None and isinstance(early[0], Joined):
                    self._prequential(early[0], early[1])
            elif item[0] == LABEL:
                _, topic, partition, offset, kind, ref, subject, at_ms, y = item
                result = label(kind, ref, subject, at_ms, y)
                if isinstance(result, Joined):
                    self._prequential(result, y)
            else:
                learner.state.invalid_events += 1
                _, topic, partition, offset, key, raw, reason, error_class, ref = item
                if ref is not None:
                    learner.state.join.forget(ref)
                self.dead_letters.send(
                    topic, partition, offset, key, raw, Rejected(reason), error_class=error_class
                )
            advance(topic, partition, offset)
        for failure in learner.failures:
            self._reject_features(failure)
        learner.failures.clear()

    def _prequential(self, joined: Joined, label: Any) -> None:
        """Publish the prediction test-then-train just made, for served-quality monitoring."""
        pred, proba = self.learner.last_prediction
        try:
            value = self._prequential_render(
                joined.event_id,
                self._batch_time,
                self.learner.state.n_learned - 1,
                label,
                pred,
                proba,
                joined.segment,
            )
        except ValueError as exc:  # JSON cannot carry it (the learner checks, so never yet)
            self.prequential_unrenderable += 1
            log.error("no prequential record for %s: %s", joined.event_id, exc)
            return
        self._dlq_publisher.publish(self._prequential_topic, joined.event_id, value)

    def _reject_features(self, failure: ModelFailure) -> None:
        source, partition, offset = unpack_origin(failure.joined.origin)
        payload = json.dumps(
            {"event_id": failure.joined.event_id, "features": failure.joined.x}
        ).encode()
        self.dead_letters.send(
            self._inputs[source], partition, offset, None, payload, failure.error
        )

    # -- snapshots ---------------------------------------------------------------------------

    def _changed_since_snapshot(self) -> bool:
        return self.learner.state.offsets != self._offsets_at_snapshot

    def maybe_snapshot(self, force: bool = False) -> None:
        now = time.monotonic()
        learned = self.learner.state.n_learned - self._learned_at_snapshot
        due = (
            force
            or learned >= self.cadence.every
            or now - self._snapshot_at >= self.cadence.seconds
        )
        if not due or not self._changed_since_snapshot() or not self.snapshots.due_for_retry(now):
            return
        self._publish()

    def _publish(self) -> bool:
        self.learner.checkpoint()  # never publish a non-finite model: repair first
        for failure in self.learner.failures:
            self._reject_features(failure)
        self.learner.failures.clear()
        manifest = self.snapshots.publish(self.learner)
        if manifest is None:
            return False
        self._report_unjoined(manifest.version)
        self._learned_at_snapshot = manifest.n_learned
        self._offsets_at_snapshot = dict(manifest.trained_through)
        self._snapshot_at = time.monotonic()
        self._commit(manifest.trained_through)
        return True

    def _report_unjoined(self, version: int) -> None:
        """One log line per snapshot when more went unjoined since the last one."""
        join = self.learner.state.join
        now = unjoined(join.counters)
        grew = {why: n - self._unjoined_logged.get(why, 0) for why, n in now.items()}
        self._unjoined_logged = now
        if not any(grew.values()):
            return
        log.warning(
            "%s, up to v%d: %d features expired and %d were evicted without an outcome; "
            "%d outcomes never found their features (%d after their features had gone); "
            "%d outcomes wait for features (totals %s)",
            self.spec.name,
            version,
            grew["expired"],
            grew["evicted"],
            grew["unmatched"],
            grew["features_gone"],
            join.waiting_outcomes,
            ", ".join(f"{k} {v}" for k, v in now.items()),
        )

    def _commit(self, offsets: dict[str, int]) -> None:
        """Offsets to the group, for `lazarus lag` only: restarts use the snapshot's offsets."""
        if self._consumer is None or not offsets:
            return
        tps = []
        for key, offset in offsets.items():
            topic, partition = key.rsplit(":", 1)
            tps.append(TopicPartition(topic, int(partition), offset))
        try:
            self._consumer.commit(offsets=tps, asynchronous=True)
            self._consumer.poll(0)  # serve commit replies; it has no partitions to read
        except Exception as exc:  # lag reporting must never stop training
            log.debug("offset commit failed: %s", exc)

    @property
    def events_in(self) -> int:
        return sum(self.in_by_topic.values())

    def _samples(self) -> list[Sample]:
        role, name = self.role, self.spec.name
        s = self.learner.state
        join = s.join
        ids = {"role": role, "model": name}
        out = [
            *counted("events_in", "messages consumed", role, self.in_by_topic),
            *counted(
                "events_out",
                "messages published",
                role,
                {self.dead_letters.topic: self.dead_letters.count},
            ),
            *counted(
                "dead_letters", "inputs dead-lettered, by origin", role, self.dead_letters.by_origin
            ),
            Sample(
                "dead_letters_lost",
                "counter",
                "dead letters never acknowledged (refused even shrunk, or timed out); logged at ERROR",
                {"role": role},
                self.dead_letters.lost,
            ),
            *self.kafka_stats.samples(),
            Sample("learned", "counter", "labelled events learned from", ids, s.n_learned),
            Sample(
                "pending_joins",
                "gauge",
                "features waiting for their outcome",
                ids,
                len(join.entries),
            ),
            Sample(
                "waiting_outcomes",
                "gauge",
                "outcomes that came before their features, waiting for them",
                ids,
                join.waiting_outcomes,
            ),
            *(
                Sample("unjoined", "counter", "what never joined, by why", {**ids, "why": why}, n)
                for why, n in unjoined(join.counters).items()
                if why != "features_gone"  # a part of `unmatched`: summing `why` must not double
            ),
            Sample(
                "outcomes_features_gone",
                "counter",
                "of unmatched outcomes: those whose features had expired, been evicted or dead-lettered",
                ids,
                join.counters.features_gone,
            ),
            Sample(
                "model_repairs",
                "counter",
                "times the model was found non-finite and rebuilt from its last checkpoint",
                ids,
                self.learner.repairs,
            ),
            Sample(
                "outcomes_joined_early",
                "counter",
                "outcomes that came before their features and were joined when they came",
                ids,
                join.counters.early_joined,
            ),
            Sample(
                "model_failures",
                "counter",
                "events left out: the model raised on them or they made it non-finite",
                ids,
                s.model_failures,
            ),
            Sample(
                "snapshots_published",
                "counter",
                "snapshots stored",
                ids,
                self.snapshots.stats.published,
            ),
            Sample(
                "snapshot_failures",
                "counter",
                "snapshot publishes that failed (retried)",
                ids,
                self.snapshots.stats.failures,
            ),
        ]
        mean = join.label_latency_mean_s
        if mean is not None:
            out.append(
                Sample(
                    "label_latency_seconds",
                    "gauge",
                    "outcome time minus feature time",
                    {**ids, "stat": "mean"},
                    mean,
                )
            )
        if join.counters.latency_max_s is not None:
            out.append(
                Sample(
                    "label_latency_seconds",
                    "gauge",
                    "outcome time minus feature time",
                    {**ids, "stat": "max"},
                    join.counters.latency_max_s,
                )
            )
        m = self.snapshots.last_manifest
        if m is not None:
            out.append(
                Sample("model_version", "gauge", "the last version published", ids, m.version)
            )
            out.append(
                Sample(
                    "snapshot_age_seconds",
                    "gauge",
                    "seconds since the last snapshot was created",
                    ids,
                    max(0.0, time.time() - m.created_at.timestamp()),
                )
            )
            for metric, value in m.metrics.items():
                if value is not None:
                    out.append(
                        Sample(
                            "prequential_metric",
                            "gauge",
                            "the trainer's test-then-train metric, as of each published version",
                            {**ids, "version": str(m.version), "metric": metric},
                            value,
                        )
                    )
        return out

    def stats(self) -> dict[str, object]:
        s = self.learner.state
        return {
            "events_in": self.events_in,
            "n_learned": s.n_learned,
            "pending": len(s.join.entries),
            "waiting_outcomes": s.join.waiting_outcomes,
            **{f"unjoined_{why}": n for why, n in unjoined(s.join.counters).items()},
            "model_failures": s.model_failures,
            "dead_lettered": self.dead_letters.count,
            "model_version": self.snapshots.current_version or "",
            "group": self.group,
        }
