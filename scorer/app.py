"""The scorer worker: Kafka in, verified model, scores with lineage out, at least once.

One worker is one member of the consumer group `lazarus.scorer.<model>` (after the topic prefix); Kafka
spreads the input partitions over however many workers (on however many hosts)
join it. An input offset is stored only after its score (or its dead letter)
is acknowledged by the broker, and stored offsets are committed every second,
on partition revoke and on stop (`scorer.checkpoint`): a crash re-scores, never skips.
A score's id is one per (model, input event), whichever version made it, so consumers keep
the first and drop the duplicates a crash can cause.

The shell only: the group consumer is `lazarus.kafka.consumer.GroupConsumer`, scoring one
batch is `scorer.scoring`, the metrics and heartbeat fields are `scorer.metrics_view`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Message

from lazarus import redisconn
from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.errors import ConfigError
from lazarus.gctune import tune_for_streaming
from lazarus.groups import group_name
from lazarus.kafka.config import client_config, consumer_config, producer_config
from lazarus.kafka.consumer import GroupConsumer
from lazarus.kafka.ledger import Ledger
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, Publisher, wait_with_backoff
from lazarus.kafka.transactional import TransactionalConsumer
from lazarus.kafka.txn_probe import require_transactions
from lazarus.metrics import LATENCY_BUCKETS, STATS_INTERVAL_MS, KafkaStats, RoleMetrics
from lazarus.registry.follower import Follower
from lazarus.registry.signing import Verifier
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.topics import DEAD_LETTERS, SHADOW_SCORES, Topic
from lazarus.scorer import delivery, metrics_view
from lazarus.scorer.batching import SMALLEST, AdaptiveBatch
from lazarus.scorer.checkpoint import COMMIT_INTERVAL_MS, ScorerCheckpoint
from lazarus.scorer.scoring import BatchScorer
from lazarus.scorer.serving import ServingModel, SnapshotWatcher, describe_swap
from lazarus.scorer.shadow import Shadows, ShadowWatcher, listed
from lazarus.settings import Settings

log = logging.getLogger(__name__)

BATCH = 1000
POLL_S = 0.01
FETCH_WAIT_MS = 20
WAIT_LOG_EVERY_S = 30.0
WARM_TIMEOUT_S = 10.0
"""How long `start()` waits for the output topics' metadata (a broker that answered)."""


class ScorerApp:
    """`start()`, `wait_for_model()`, `subscribe()`, then `step()` until done, then `stop()`.

    `publisher` (scores and dead letters), `watcher` (verified versions of the champion line)
    and `shadow_watcher` (the challengers' and the baseline's, scored in shadow) are built from
    `settings` unless passed in; nothing connects before `start()`. A per-key model's scorer
    is `scorer.keyed_app.KeyedScorerApp` (`scorer_app` picks it)."""

    batch_scorer: type[BatchScorer] = BatchScorer
    serves_shards = False

    def __init__(
        self,
        settings: Settings,
        spec: ModelContract,
        verifier: Verifier,
        *,
        batch: int = BATCH,
        notifications: bool | None = None,
        publisher: Publisher | None = None,
        watcher: SnapshotWatcher | None = None,
        shadow_watcher: ShadowWatcher | None = None,
    ) -> None:
        if spec.scores is None:
            raise ConfigError(
                f"model spec {spec.name!r} names no scores topic: set ModelSpec.scores"
            )
        if spec.per_key is not None and not self.serves_shards:
            raise ConfigError(
                f"{spec.name} is a per-key model: score it with lazarus.scorer.keyed_app "
                "(`scorer_app` picks the scorer of a model)"
            )
        self.settings = settings
        self.spec = spec
        self.batch = batch
        self.sizes = AdaptiveBatch(SMALLEST, batch)
        """The next consume's size: up to `batch` under a backlog, fewer when caught up."""
        prefix = settings.topic_prefix
        self._inputs: dict[str, Topic[Any]] = {t.full(prefix): t for t in spec.inputs}
        self.scores_topic = spec.scores.full(prefix)
        self.group = group_name(prefix, "scorer", spec.name)
        follow: dict[str, Any] = {
            "notifications": settings.scorer_notifications
            if notifications is None
            else notifications,
            "modules": settings.snapshot_modules,
        }
        where = (settings.redis_url_value, settings.redis_key_prefix, spec, verifier)
        poll_s = settings.scorer_poll_seconds
        self.watcher = watcher or SnapshotWatcher(*where, poll_s, **follow)
        self.shadow_watcher = shadow_watcher or ShadowWatcher(*where, poll_s, **follow)
        self.shadow_topic = SHADOW_SCORES.full(prefix)
        self.exactly_once = settings.scorer_delivery == "exactly-once"
        # Every acknowledgement is needed: offsets are stored only after their output is acked.
        self._publisher = publisher or Publisher(
            producer_config(settings, **delivery.producer_options(settings, self.group)),
            on_delivery=_ignore,
        )
        self.dead_letters = DeadLetterSink(self._publisher, DEAD_LETTERS.full(prefix), "scorer")
        self.model: ServingModel | None = None
        self.shadows: Shadows = ()
        """The models scored in shadow now (challengers, then the baseline)."""
        self.scored = 0
        self.swaps = 0
        self.role = f"scorer:{spec.name}"
        self.metrics = RoleMetrics(self.role)
        self.metrics.collect_with(lambda: metrics_view.samples(self))
        latency = self.metrics.histogram(
            "processing_seconds", "consume to score, per batch", LATENCY_BUCKETS
        ).labels(role=self.role)
        self.kafka_stats = KafkaStats(self.group)
        self.scoring = self.batch_scorer(
            self._inputs,
            self.scores_topic,
            self._publisher,
            self.dead_letters,
            latency.observe,
            shadow_topic=self.shadow_topic,
        )
        self.checkpoint = ScorerCheckpoint(
            self._publisher,
            self.dead_letters,
            self._unscore,
            shadows=(self.shadow_topic, self.scoring.shadow.refused),
        )
        self.consumer: GroupConsumer | TransactionalConsumer
        if self.exactly_once:
            counts = delivery.Counters(self)
            self.consumer = TransactionalConsumer(
                self._consumer_config(),
                self._publisher.client,
                on_begin=counts.keep,
                on_abort=counts.restore,
                renew=lambda: self._publisher.renew(
                    **delivery.producer_options(settings, self.group)
                ),
            )
            self.scoring.refused_reason = self.consumer.refused_reason
        else:
            self.consumer = GroupConsumer(self._consumer_config(), self.checkpoint)

    def _consumer_config(self) -> dict[str, Any]:
        return consumer_config(
            self.settings,
            self.group,
            {  # defaults: LAZARUS_KAFKA_OPTIONS wins over these
                "auto.commit.interval.ms": COMMIT_INTERVAL_MS,
                # A scorer is latency-bound: do not let the broker hold a fetch for long.
                "fetch.wait.max.ms": FETCH_WAIT_MS,
                "statistics.interval.ms": STATS_INTERVAL_MS,
            },
            stats_cb=self.kafka_stats,
        )

    @property
    def publisher(self) -> Publisher:
        """The producer of scores, shadow scores and dead letters."""
        return self._publisher

    @property
    def output_topics(self) -> tuple[str, ...]:
        """Every topic this worker produces to (full names)."""
        return (self.scores_topic, self.dead_letters.topic, self.shadow_topic)

    @property
    def ledger(self) -> Ledger:
        """Which consumed batches still wait for acknowledgements (`len()` 0: all settled)."""
        return self.consumer.ledger

    @property
    def in_by_topic(self) -> dict[str, int]:
        return self.scoring.in_by_topic

    @property
    def events_in(self) -> int:
        return sum(self.in_by_topic.values())

    @property
    def rebalances(self) -> int:
        return self.consumer.rebalances

    @property
    def follower(self) -> Follower:
        """The registry follower of the served versions (its stats, its wakeups)."""
        return self.watcher

    @property
    def followers(self) -> tuple[Follower, ...]:
        """The registry followers started with the scorer and stopped with it."""
        return (self.watcher, self.shadow_watcher)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 120.0, stopped: Callable[[], bool] | None = None) -> None:
        """Check Redis answers (else ServiceUnavailable naming LAZARUS_REDIS_URL, within
        `redisconn.START_TIMEOUT_S`, as the trainer), wait for Kafka, look up the leaders of the
        output topics (`output_topics`, so no first score waits for them), start the watchers.
        Redis going away later is another matter: the watcher retries and scoring goes on."""
        redis_wait = min(timeout, redisconn.START_TIMEOUT_S)
        redisconn.require(self.settings.redis_url_value, timeout=redis_wait).close()
        wait_with_backoff(client_config(self.settings, quiet=True), timeout, stopped)
        if self.exactly_once:
            require_transactions(self.settings)
        self._publisher.start(timeout, stopped)
        # Looked up now, not on the first score: that lookup held the first scores ~1 s.
        self._publisher.warm(self.output_topics, min(timeout, WARM_TIMEOUT_S))
        for follower in self.followers:
            follower.start()

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
                self._log_waiting()
            self.follower.wakeups.wait(0.2)
            self.follower.wakeups.clear()
        return False

    def _log_waiting(self) -> None:
        refused = self.watcher.stats.refused_versions
        log.info(metrics_view.waiting(self.spec, {f"v{v}": why for v, why in refused.items()}))

    def subscribe(self) -> None:
        """Join the group (this connects the consumer). The configuration is read now, so a
        `group` set after construction (a benchmark's fresh group per round) is the one joined."""
        self.consumer.conf = self._consumer_config()
        self.consumer.subscribe(list(self._inputs))
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
        assert self.consumer.subscribed, "subscribe() first"
        self._maybe_swap()
        messages = self.consumer.consume(self.sizes.size, POLL_S)
        self.sizes.took(len(messages))
        if messages:
            self.scored += self._score(messages)
        self._publisher.poll(0)
        self._settle()
        return len(messages)

    def stop(self) -> int:
        """Flush scores, store and commit what was acknowledged, leave the group. Exit code."""
        code = 0
        left = self._publisher.flush(SHUTDOWN_FLUSH_S)
        if not self.exactly_once:  # a transaction commits in close(), which never raises
            self._settle()
        if left:
            log.error(
                "%d scores were not acknowledged within %.0fs; their inputs will be scored again",
                left,
                SHUTDOWN_FLUSH_S,
            )
            code = 1
        self.consumer.close()
        for follower in self.followers:
            follower.stop()
        self._publisher.close(1.0)
        return code

    def _score(self, messages: list[Message]) -> int:
        """Score one consumed batch; the scores published."""
        assert self.model is not None
        return self.scoring.score(self.model, messages, self.consumer.open, self.shadows)

    def _settle(self) -> None:
        """Settle failed deliveries, then store the offsets whose outputs are all settled."""
        self.consumer.checkpoint()

    def _unscore(self) -> None:
        self.scored -= 1  # its input is dead-lettered instead: in = scored + dead-lettered

    def _maybe_swap(self) -> bool:
        """Take new shadows and a new champion version if either is ready (True: a version)."""
        shadows = self.shadow_watcher.take()
        if shadows is not None:
            self.shadows = shadows
            log.info("scoring in shadow of %s: %s", self.spec.name, listed(shadows) or "nothing")
        taken = self.watcher.take_why()
        if taken is None:
            return False
        new, why = taken
        old, self.model = self.model, new
        self.swaps += 1
        log.info(describe_swap(new, old, why, self.watcher.stats.last_load_ms))
        return True

    def stats(self) -> dict[str, object]:
        """The heartbeat's fields (`scorer.metrics_view.heartbeat`)."""
        return metrics_view.heartbeat(self)


def _ignore(err: KafkaError | None, msg: Message) -> None:
    """Default report for messages produced without their own callback (none, in practice)."""
