"""The scorer worker: Kafka in, verified model, scores with lineage out, at least once.

One worker is one member of the consumer group `lazarus.scorer.<model>` (after the topic prefix); Kafka
spreads the input partitions over however many workers (on however many hosts)
join it. An input offset is stored only after its score (or its dead letter)
is acknowledged by the broker, and stored offsets are committed every second,
on partition revoke and on stop: a crash re-scores, never skips. A score's id is one per
(model, input event), whichever version made it, so consumers keep the first and drop
the duplicates a crash can cause.
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from pydantic import ValidationError

from lazarus import redisconn
from lazarus.deadletters import DeadLetterSink
from lazarus.errors import ConfigError
from lazarus.gctune import tune_for_streaming
from lazarus.groups import group_name
from lazarus.kafka.config import client_config, consumer_config, producer_config
from lazarus.kafka.outage import OutageLog
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, Publisher, retriable, wait_with_backoff
from lazarus.metrics import (
    LATENCY_BUCKETS,
    STATS_INTERVAL_MS,
    KafkaStats,
    RoleMetrics,
    Sample,
    counted,
)
from lazarus.schemas.base import Event, Features
from lazarus.schemas.topics import DEAD_LETTERS, Topic
from lazarus.scorer.fastpath import Prediction, describe, predict_checked
from lazarus.scorer.ledger import Ledger
from lazarus.scorer.serving import ServingModel
from lazarus.scorer.watcher import SnapshotWatcher
from lazarus.settings import Settings
from lazarus.signing import Verifier
from lazarus.trainer.rows import RowMaker
from lazarus.trainer.specs import ModelSpec

log = logging.getLogger(__name__)

BATCH = 1000
POLL_S = 0.01
REVOKE_FLUSH_S = 10.0
FETCH_WAIT_MS = 20
WAIT_LOG_EVERY_S = 30.0


class ScorerApp:
    """`start()`, `wait_for_model()`, `subscribe()`, then `step()` until done, then `stop()`."""

    def __init__(
        self,
        settings: Settings,
        spec: ModelSpec,
        verifier: Verifier,
        *,
        batch: int = BATCH,
        notifications: bool | None = None,
    ) -> None:
        if spec.scores is None:
            raise ConfigError(
                f"model spec {spec.name!r} names no scores topic: set ModelSpec.scores"
            )
        self.settings = settings
        self.spec = spec
        self.batch = batch
        prefix = settings.topic_prefix
        self._inputs: dict[str, Topic[Any]] = {t.full(prefix): t for t in spec.inputs}
        self._rows = RowMaker.for_spec(spec)
        self.scores_topic = spec.scores.full(prefix)
        self.group = group_name(prefix, "scorer", spec.name)
        self.watcher = SnapshotWatcher(
            settings.redis_url_value,
            settings.redis_key_prefix,
            spec,
            verifier,
            settings.scorer_poll_seconds,
            notifications=settings.scorer_notifications if notifications is None else notifications,
        )
        # Every acknowledgement is needed: offsets are stored only after their output is acked.
        self._publisher = Publisher(producer_config(settings), on_delivery=_ignore)
        self.dead_letters = DeadLetterSink(self._publisher, DEAD_LETTERS.full(prefix), "scorer")
        self.ledger = Ledger()
        self.model: ServingModel | None = None
        self._consumer: Consumer | None = None
        self._assigned: set[tuple[str, int]] = set()
        self.scored = 0
        self.swaps = 0
        self.rebalances = 0
        self._outage = OutageLog()
        self.in_by_topic: dict[str, int] = {}
        self.role = f"scorer:{spec.name}"
        self.metrics = RoleMetrics(self.role)
        self.metrics.collect_with(self._samples)
        self._latency = self.metrics.histogram(
            "processing_seconds", "consume to score, per batch", LATENCY_BUCKETS
        ).labels(role=self.role)
        self.kafka_stats = KafkaStats(self.group)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 120.0, stopped: Callable[[], bool] | None = None) -> None:
        """Check Redis answers (else ServiceUnavailable naming LAZARUS_REDIS_URL, within
        `redisconn.START_TIMEOUT_S`, as the trainer), wait for Kafka, start the model watcher.
        Redis going away later is another matter: the watcher retries and scoring goes on."""
        redis_wait = min(timeout, redisconn.START_TIMEOUT_S)
        redisconn.require(self.settings.redis_url_value, timeout=redis_wait).close()
        wait_with_backoff(client_config(self.settings, quiet=True), timeout, stopped)
        self._publisher.start(timeout, stopped)
        self.watcher.start()

    def wait_for_model(self, stopped: Callable[[], bool], timeout: float | None = None) -> bool:
        """Block until a verified model is loaded (True), or `stopped()` / `timeout` (False).
        Scoring with an untrained model would publish guesses: a model has no `current` until
        a version learned the spec's min_learned events, and a fewer-learned one is refused."""
        deadline = None if timeout is None else time.monotonic() + timeout
        logged = 0.0
        while not stopped():
            if self._maybe_swap():
                return True
            now = time.monotonic()
            if deadline is not None and now > deadline:
                return False
            if now - logged > WAIT_LOG_EVERY_S:
                logged = now
                refused = self.watcher.stats.refused_versions
                why = (
                    f"; refused: {', '.join(f'v{v} ({r})' for v, r in refused.items())}"
                    if refused
                    else ""
                )
                log.info(
                    "waiting for a verified snapshot of %s that learned %d or more events "
                    "(is `lazarus train %s` running, with labels?)%s",
                    self.spec.name,
                    self.spec.min_learned,
                    self.spec.name,
                    why,
                )
            self.watcher.wakeups.wait(0.2)
            self.watcher.wakeups.clear()
        return False

    def subscribe(self) -> None:
        conf = consumer_config(
            self.settings,
            self.group,
            **{
                "auto.commit.interval.ms": 1000,
                # A scorer is latency-bound: do not let the broker hold a fetch for long.
                "fetch.wait.max.ms": FETCH_WAIT_MS,
                "statistics.interval.ms": STATS_INTERVAL_MS,
                "stats_cb": self.kafka_stats,
            },
        )
        conf.update(self.settings.kafka_options)  # the operator's word wins
        consumer = Consumer(conf)
        consumer.subscribe(
            list(self._inputs),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self._consumer = consumer
        tune_for_streaming()
        log.info(
            "scoring %s from %s into %s as group %s",
            self.spec.name,
            ", ".join(self._inputs),
            self.scores_topic,
            self.group,
        )

    def step(self) -> int:
        """Swap in a newer model if one is ready, score one batch, settle acks. Returns messages."""
        assert self._consumer is not None, "subscribe() first"
        self._maybe_swap()
        messages = self._consumer.consume(self.batch, POLL_S)
        if messages:
            self._score(messages)
        self._publisher.poll(0)
        self._settle()
        return len(messages)

    def stop(self) -> int:
        """Flush scores, store and commit what was acknowledged, leave the group. Exit code."""
        code = 0
        left = self._publisher.flush(SHUTDOWN_FLUSH_S)
        self._settle()
        if left:
            log.error(
                "%d scores were not acknowledged within %.0fs; their inputs will be scored again",
                left,
                SHUTDOWN_FLUSH_S,
            )
            code = 1
        if self._consumer is not None:
            self._commit()
            self._consumer.close()
            self._consumer = None
        self.watcher.stop()
        self._publisher.close(1.0)
        return code

    # -- scoring -----------------------------------------------------------------------------

    def _maybe_swap(self) -> bool:
        new = self.watcher.take()
        if new is None:
            return False
        old = self.model
        self.model = new
        self.swaps += 1
        m = new.manifest
        log.info(
            "serving %s v%d (%s; learned %d, trained through %s; loaded in %.1f ms)%s",
            m.model,
            m.version,
            describe(new.predict),
            m.n_learned,
            m.trained_through,
            self.watcher.stats.last_load_ms,
            f", was v{old.version}" if old is not None else "",
        )
        return True

    def _score(self, messages: list[Message]) -> None:
        started = time.perf_counter()
        model = self.model
        assert model is not None
        by_topic: dict[str, list[Message]] = {}
        offsets: dict[tuple[str, int], int] = {}
        for msg in messages:
            err = msg.error()
            if err is None:
                topic = msg.topic() or ""
                by_topic.setdefault(topic, []).append(msg)
                offsets[(topic, msg.partition() or 0)] = (msg.offset() or 0) + 1
            else:
                self._outage((err,))
        n = sum(len(batch) for batch in by_topic.values())
        if not n:
            return
        for topic, msgs in by_topic.items():
            self.in_by_topic[topic] = self.in_by_topic.get(topic, 0) + len(msgs)
        batch = self.ledger.open(offsets, n)
        out: list[tuple[str, str | bytes | None, bytes]] = []
        for topic, msgs in by_topic.items():
            events = self._inputs[topic].decode_many([m.value() or b"" for m in msgs])
            keep: list[tuple[Message, Event]] = []
            feats: list[Features] = []
            features_of = self._rows.scoring_features
            for msg, event in zip(msgs, events, strict=True):
                if isinstance(event, ValidationError):
                    self._dead_letter(msg, event, batch.ack)
                    continue
                try:  # the trainer's check: finite numbers
                    feats.append(features_of(event))
                except Exception as exc:  # the shared feature code must not stop a worker
                    self._dead_letter(msg, exc, batch.ack)
                    continue
                keep.append((msg, event))
            predictions = self._predict(model, feats, keep, batch.ack)
            scored_at = datetime.now(UTC).isoformat()
            latency_ms = (time.perf_counter() - started) * 1000
            render = model.renderer.render
            topic_out = self.scores_topic
            subject_of = operator.attrgetter(self._inputs[topic].key_field)
            for (msg, event), pred in zip(keep, predictions, strict=True):
                if pred is None:
                    continue  # dead-lettered by _predict
                subject = subject_of(event)
                try:
                    _, value = render(
                        event.event_id, subject, pred[0], pred[1], scored_at, latency_ms
                    )
                except ValueError as exc:  # JSON cannot carry it: checked before, so defence
                    self._dead_letter(msg, exc, batch.ack)
                    continue
                out.append((topic_out, subject, value))
        self._publisher.publish_many(out, on_delivery=batch.ack)
        self.scored += len(out)
        self._latency.observe(time.perf_counter() - started)

    def _predict(
        self,
        model: ServingModel,
        feats: list[Features],
        keep: list[tuple[Message, Event]],
        ack: Callable[[Any, Any], None],
    ) -> list[Prediction | None]:
        """The batch's checked predictions, whatever the path (folded or river); an input whose
        prediction raises or is not finite is dead-lettered with the reason, and gets None."""
        out: list[Prediction | None] = []
        for result, (msg, _) in zip(predict_checked(model.predict, feats), keep, strict=True):
            if isinstance(result, Exception):
                self._dead_letter(msg, result, ack)
                out.append(None)
            else:
                out.append(result)
        return out

    def _dead_letter(
        self, msg: Message, exc: BaseException, ack: Callable[[Any, Any], None]
    ) -> None:
        self.dead_letters.send(
            msg.topic() or "",
            msg.partition() or 0,
            msg.offset() or 0,
            msg.key(),
            msg.value() or b"",
            exc,
            on_delivery=ack,
        )

    # -- offsets -----------------------------------------------------------------------------

    def _settle(self) -> None:
        """Settle failed deliveries, then store the offsets whose outputs are all settled.

        A timeout or an outage is sent again. A score the broker refused for good (too large,
        no such topic, not authorized) is dead-lettered instead: resending would fail forever.
        A dead letter goes back to its sink, which resends it shrunk once, or gives up (logs it
        and acknowledges its input). So no message stalls its batch or loops."""
        letters = self.dead_letters
        for batch, msg in self.ledger.failures():
            if msg.topic() == letters.topic:
                letters.redeliver(msg, batch.ack)
            elif retriable(msg.error()):
                log.warning("delivery to %s failed (%s); sending again", msg.topic(), msg.error())
                self._publisher.publish(
                    msg.topic(), msg.key(), msg.value() or b"", on_delivery=batch.ack
                )
            else:
                self.scored -= 1  # its input is dead-lettered instead: in = scored + dead-lettered
                letters.send_refused(msg, batch.ack)
        letters.settle()
        ready = self.ledger.ready()
        if not ready or self._consumer is None:
            return
        tps = [TopicPartition(t, p, o) for (t, p), o in ready.items() if (t, p) in self._assigned]
        if tps:
            try:
                self._consumer.store_offsets(offsets=tps)
            except KafkaException as exc:  # a partition revoked in between: its new owner re-scores
                log.debug("store_offsets: %s", exc)

    def _commit(self) -> None:
        assert self._consumer is not None
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning(
                    "offset commit failed (%s); the next owner re-scores from the last commit", exc
                )

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = {(tp.topic, tp.partition) for tp in partitions}
        self.rebalances += 1
        log.info("assigned %s", _describe(partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Everything scored so far is flushed, acknowledged, stored and committed before the
        # partitions go, so their next owner starts exactly after what we delivered.
        left = self._publisher.flush(REVOKE_FLUSH_S)
        self._settle()
        if left:
            log.warning(
                "%d scores unacknowledged at revoke: their inputs will be scored again", left
            )
        self._commit()
        self._assigned -= {(tp.topic, tp.partition) for tp in partitions}
        log.info("revoked %s", _describe(partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned -= {(tp.topic, tp.partition) for tp in partitions}
        log.warning("lost %s (session timed out); their new owner re-scores", _describe(partitions))

    @property
    def events_in(self) -> int:
        return sum(self.in_by_topic.values())

    def _samples(self) -> list[Sample]:
        role, name = self.role, self.spec.name
        out = [
            *counted("events_in", "messages consumed", role, self.in_by_topic),
            *counted(
                "events_out",
                "messages published",
                role,
                {self.scores_topic: self.scored, self.dead_letters.topic: self.dead_letters.count},
            ),
            *counted(
                "dead_letters", "inputs dead-lettered, by origin", role, self.dead_letters.by_origin
            ),
            Sample(
                "dead_letters_lost",
                "counter",
                "dead letters never acknowledged (refused even shrunk); logged at ERROR",
                {"role": role},
                self.dead_letters.lost,
            ),
            *self.kafka_stats.samples(),
            Sample(
                "snapshots_refused",
                "counter",
                "snapshots that failed verification",
                {"role": role, "model": name},
                self.watcher.stats.refused,
            ),
            Sample(
                "model_swaps",
                "counter",
                "model versions swapped in",
                {"role": role, "model": name},
                self.swaps,
            ),
        ]
        if self.model is not None:
            m = self.model.manifest
            out.append(
                Sample(
                    "model_version",
                    "gauge",
                    "the model version in use",
                    {"role": role, "model": name},
                    m.version,
                )
            )
            out.append(
                Sample(
                    "snapshot_age_seconds",
                    "gauge",
                    "staleness: seconds since the served version was created",
                    {"role": role, "model": name},
                    max(0.0, time.time() - m.created_at.timestamp()),
                )
            )
        return out

    def stats(self) -> dict[str, object]:
        w = self.watcher.stats
        return {
            # not "state": the heartbeat's own field says whether the process runs
            "serving": "yes" if self.model is not None else "waiting for a snapshot",
            "events_in": self.events_in,
            "scored": self.scored,
            "dead_lettered": self.dead_letters.count,
            "model_version": self.model.version if self.model is not None else "",
            "swaps": self.swaps,
            "refused": w.refused,
            "redis_up": int(w.redis_up),
            "unacknowledged": self.ledger.unacknowledged,
            "partitions": len(self._assigned),
            "group": self.group,
        }


def _describe(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"


def _ignore(err: KafkaError | None, msg: Message) -> None:
    """Default report for messages produced without their own callback (none, in practice)."""
