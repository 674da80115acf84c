"""Sharded trainers of a per-key model: a consumer group whose members own shards.

Every trainer of a per-key model joins one consumer group (`lazarus.trainer.M`) on its input
and outcome topics, with the range assignor, which gives a member the same partition numbers
of every topic (they must have as many partitions each). A member owns shard p when it holds
partition p of every topic; it never reads through its group consumer (it pauses what it is
assigned) but runs a `ShardTrainer` per shard, which reads its partitions with a consumer of
its own from the shard's trained-through offsets.

- Assigned: the shard's newest version is loaded and its feed starts from its offsets.
- Revoked: the shard publishes a final version, then stops, before the group moves on.
- Lost (the member was fenced), or another process published the shard (`TrainerConflict`):
  the shard is dropped unpublished, or reloaded from the newest version when it is still ours.
  A `kill -9` loses only what the next owner learns again from the last version.

So 1 -> 2 -> 1 trainers, rebalances and crashes end with the same shard versions (digests) as
one uninterrupted trainer. Group offsets are committed after each version, for lag only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.errors import ConfigError
from lazarus.gctune import tune_for_streaming
from lazarus.groups import group_name
from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.consumer import membership_consumer, metadata_consumer
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, Publisher, wait_with_backoff
from lazarus.metrics import RoleMetrics
from lazarus.registry.rebuilds import Rebuilds
from lazarus.registry.retention import Retention
from lazarus.registry.signing import Signer
from lazarus.registry.store import SnapshotStore
from lazarus.schemas.topics import DEAD_LETTERS, DRIFT, PREQUENTIAL, Topic
from lazarus.settings import Settings
from lazarus.trainer import sharded_view
from lazarus.trainer.app import BATCH, FEED_START_S, POLL_S, trainer_consumer_config
from lazarus.trainer.checkpoint import Cadence
from lazarus.trainer.feed import Feed, FeedPlan, InlineFeed
from lazarus.trainer.metrics_view import LastGrowth
from lazarus.trainer.partitions import commit_for_lag, discover
from lazarus.trainer.publishing import TrainerConflict
from lazarus.trainer.rows import RowMaker
from lazarus.trainer.shard import ShardTrainer
from lazarus.trainer.shard_assignment import (
    member_config,
    partition_counts,
    shard_numbers,
)
from lazarus.trainer.specs import ModelSpec

log = logging.getLogger("lazarus.trainer.sharded")

REBUILD_CHECK_S = 1.0
"""How often an owner looks for a rebuild asked for its shards."""


class ShardedTrainerApp:
    """`start()`, `step()` until told to stop, `stop()`: one member of a per-key model's
    trainers. Collaborators as `TrainerApp`'s: `store`, `signer`, `publisher`, `feed`."""

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
        feed: Callable[[FeedPlan], Feed] = InlineFeed,
        rebuilds: Rebuilds | None = None,
    ) -> None:
        """`rebuilds`: where `from_beginning` asks for every shard to be rebuilt, once, by
        whichever trainer owns it (None: this process rebuilds the shards it first opens)."""
        if spec.per_key is None:
            raise ConfigError(f"{spec.name} is not a per-key model: train it with one trainer")
        self.settings, self.spec, self.cadence = settings, spec, cadence
        self._store, self._signer = store, signer
        self._from_beginning = from_beginning
        self._rebuilds = rebuilds
        prefix = settings.topic_prefix
        self.inputs = [t.full(prefix) for t in spec.inputs]
        self.outcomes = spec.outcomes.full(prefix)
        self.topics: dict[str, Topic[Any]] = {t.full(prefix): t for t in spec.inputs}
        self.topics[self.outcomes] = spec.outcomes
        self.group = group_name(prefix, "trainer", spec.name)
        self.role = f"trainer:{spec.name}"
        self._publisher = publisher or Publisher(producer_config(settings))
        self.dead_letters = DeadLetterSink(self._publisher, DEAD_LETTERS.full(prefix), "trainer")
        self._new_feed = feed
        self._retention = Retention.of_settings(settings)
        self.shards: dict[int, ShardTrainer] = {}
        self._parked: dict[int, ShardTrainer] = {}
        """Shards revoked by an eager rebalance, published and stopped, kept until the
        assignment that follows says whether they come back."""
        self._rebuild_check_at = 0.0
        """When owned shards are next checked for a rebuild request (monotonic s)."""
        self._opened: set[int] = set()
        """Shards opened before: `--from-beginning` rebuilds a shard the first time only."""
        self._owned: set[tuple[str, int]] = set()
        self._consumer: Consumer | None = None
        self.partitions = 0
        self.rebalances = 0
        self.final_versions: list[tuple[int, int | None]] = []
        """(shard, version) published by `stop()`."""
        self._incremental = settings.kafka_group_protocol == "consumer"
        """KIP-848 groups assign incrementally; classic ones with the range assignor eagerly."""
        self.closed_shards = sharded_view.ClosedTotals()
        """What shards that moved away had consumed and learned, so totals never fall."""
        self.learned_growth, self.read_growth = LastGrowth(), LastGrowth()
        self.metrics = RoleMetrics(self.role)
        self.metrics.collect_with(lambda: sharded_view.samples(self))

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 120.0, stopped: Callable[[], bool] | None = None) -> None:
        """Wait for Kafka, check the topics are co-partitioned, join the group. Raises
        ServiceUnavailable (no broker, no topics) or ConfigError (partition counts differ)."""
        wait_with_backoff(client_config(self.settings, quiet=True), timeout, stopped)
        self._publisher.start(timeout, stopped)
        probe = metadata_consumer({**self._feed_conf(), "statistics.interval.ms": 0})
        try:
            counts = partition_counts(discover(probe, [*self.inputs, self.outcomes], timeout))
        finally:
            probe.close()
        if len(set(counts.values())) > 1:
            raise ConfigError(
                f"per-key model {self.spec.name}: its topics must have as many partitions each "
                f"(a key's features and outcomes share a partition number): "
                + ", ".join(f"{t} {n}" for t, n in counts.items())
            )
        self.partitions = next(iter(counts.values()))
        if self._from_beginning and self._rebuilds is not None:
            self._rebuilds.request(self.spec.name, range(self.partitions))
            log.info(
                "--from-beginning: each shard of %s is rebuilt once, by its owner; rebuilt "
                "versions are served once they learned as much as the ones they replace",
                self.spec.name,
            )
        consumer = membership_consumer(member_config(self.settings, self.group))
        consumer.subscribe(
            [*self.inputs, self.outcomes],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self._consumer = consumer
        tune_for_streaming()
        log.info(
            "training %s per %s in shards: member of %s over %d partitions",
            self.spec.name,
            self.spec.per_key.field if self.spec.per_key else "?",
            self.group,
            self.partitions,
        )

    def step(self) -> int:
        """Serve the group (rebalances), then one batch of each owned shard. Returns messages."""
        assert self._consumer is not None, "start() first"
        self._consumer.poll(0)  # rebalance callbacks; paused partitions deliver nothing
        if not self.shards:
            self._consumer.poll(POLL_S)
            return 0
        self._take_rebuild_requests()
        n = 0
        wait = POLL_S / len(self.shards)
        for number, shard in list(self.shards.items()):
            if self.shards.get(number) is not shard:
                continue  # closed by a rebalance served meanwhile (commit_for_lag polls the group)
            try:
                n += shard.step(wait)
            except TrainerConflict as exc:
                self._retake(number, exc)
        self._publisher.poll(0)
        self.dead_letters.settle()
        return n

    def stop(self) -> int:
        """Publish every owned shard's final version, leave the group, flush. Exit code 0, or
        1 when a final version could not be published (its next owner learns it again)."""
        code = 0
        for number, shard in sorted(self.shards.items()):
            if not self._close_shard(number, publish=True):
                code = 1
            self.final_versions.append((number, shard.snapshots.current_version))
        if self._consumer is not None:
            self._consumer.close()  # leaves the group: the others take the shards at once
            self._consumer = None
        self._publisher.close(SHUTDOWN_FLUSH_S)
        return code

    # -- the group -----------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.rebalances += 1
        if self._incremental:
            consumer.incremental_assign(partitions)
        else:
            consumer.assign(partitions)
            self._owned = set()
        consumer.pause(partitions)
        self._owned |= {(tp.topic, tp.partition) for tp in partitions}
        for number in sorted(shard_numbers(self._owned, list(self.topics)) - set(self.shards)):
            if not self._unpark(number):
                self._open_shard(number)
        for number in list(self._parked):  # parked at the revoke, not given back
            self.closed_shards.add(self._parked.pop(number))
        log.info(
            "%s owns shards %s of %d",
            self.role,
            ",".join(map(str, sorted(self.shards))) or "none",
            self.partitions,
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._release(consumer, partitions, publish=True)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning(
            "%s lost its partitions (fenced): dropping their shards unpublished", self.group
        )
        self._release(consumer, partitions, publish=False)

    def _release(
        self, consumer: Consumer, partitions: list[TopicPartition], *, publish: bool
    ) -> None:
        self._owned -= {(tp.topic, tp.partition) for tp in partitions}
        keep = shard_numbers(self._owned, list(self.topics))
        for number in sorted(set(self.shards) - keep):
            self._close_shard(number, publish=publish, park=publish and not self._incremental)
        if self._incremental:
            consumer.incremental_unassign(partitions)
        else:
            consumer.unassign()

    # -- shards --------------------------------------------------------------------------------

    def _open_shard(self, number: int) -> None:
        shard = ShardTrainer(
            self.spec,
            number,
            self._store,
            self._signer,
            topics=self.topics,
            inputs=self.inputs,
            outcomes=self.outcomes,
            cadence=self.cadence,
            retention=self._retention,
            publisher=self._publisher,
            dead_letters=self.dead_letters,
            prequential_topic=PREQUENTIAL.full(self.settings.topic_prefix),
            drift_topic=DRIFT.full(self.settings.topic_prefix),
            role=self.role,
            feed_plan=self._plan,
            new_feed=self._new_feed,
            commit_offsets=self._commit_for_lag,
            modules=self.settings.snapshot_modules,
            from_beginning=self._rebuilding(number),
            rebuilt=lambda: (
                self._rebuilds.done(self.spec.name, number) if self._rebuilds is not None else None
            ),
        )
        self._opened.add(number)
        shard.start(FEED_START_S)
        self.shards[number] = shard

    def _unpark(self, number: int) -> bool:
        """Go on with parked shard `number` if no one published it since it was parked and
        no rebuild of it is asked for."""
        shard = self._parked.pop(number, None)
        if shard is None:
            return False
        moved = self._store.latest(shard.line) != (shard.snapshots.current_version or 0)
        if moved or self._rebuilding(number):
            self.closed_shards.add(shard)  # another owner moved it on: load the newest
            return False
        shard.reopen(FEED_START_S)
        self.shards[number] = shard
        return True

    def _commit_for_lag(self, offsets: dict[str, int]) -> None:
        """A shard version's offsets to the group, for `lazarus lag` only without a poll,
        which would serve a rebalance in the middle of a step)."""
        commit_for_lag(self._consumer, offsets, poll=False)

    def _take_rebuild_requests(self) -> None:
        """A rebuild asked for while this process holds a shard (`--from-beginning` started
        elsewhere; a cooperative rebalance never revokes the shards that stay): published,
        then opened again from offset 0. Checked every `REBUILD_CHECK_S`."""
        now = time.monotonic()
        if self._rebuilds is None or now < self._rebuild_check_at:
            return
        self._rebuild_check_at = now + REBUILD_CHECK_S
        for number, shard in list(self.shards.items()):
            if not shard.rebuilding and self._rebuilding(number):
                self._close_shard(number, publish=True)
                self._open_shard(number)

    def _rebuilding(self, number: int) -> bool:
        """Whether shard `number` is to be learned again from offset 0 now."""
        if self._rebuilds is not None:
            return self._rebuilds.pending(self.spec.name, number)
        return self._from_beginning and number not in self._opened

    def _close_shard(self, number: int, *, publish: bool, park: bool = False) -> bool:
        """Stop shard `number` (publishing its final version first when `publish`). `park`:
        an eager rebalance revokes every shard, and gives most back at once: a parked shard
        given back unchanged in the store goes on from memory (`_unpark`), not from Redis."""
        shard = self.shards.pop(number)
        try:
            done = shard.close(publish=publish)
        except TrainerConflict as exc:
            log.warning("%s: %s; its newer owner has it", shard.line, exc)
            done, park = True, False
        if park and done:
            self._parked[number] = shard
            return done
        self.closed_shards.add(shard)
        log.info(
            "shard %s closed (%s) at v%s",
            shard.line,
            "published" if publish else "unpublished: its next owner goes on from its last version",
            shard.snapshots.current_version,
        )
        return done

    def _retake(self, number: int, exc: TrainerConflict) -> None:
        """Another process published shard `number` while this one held it (it was fenced
        and came back, or a slow revoke published late): start again from the newest."""
        log.warning("%s; reloading the shard from its newest version", exc)
        self._close_shard(number, publish=False)
        self._open_shard(number)

    def _plan(self, assignments: list[tuple[str, int, int]], rows: RowMaker) -> FeedPlan:
        topics = list(self.topics)
        return FeedPlan(
            conf=self._feed_conf(),
            assignments=assignments,
            topics=self.topics,
            outcomes=self.outcomes,
            rank={t: i for i, t in enumerate(topics)},
            rows=rows,
            role=self.role,
            log_level=self.settings.log_level,
            batch=BATCH,
            poll_s=POLL_S,
        )

    def _feed_conf(self) -> dict[str, Any]:
        conf = trainer_consumer_config(self.settings, self.group)
        return {k: v for k, v in conf.items() if k != "logger"}

    def summary(self) -> str:
        """One line on what this trainer did, for the end of its run (after `stop()`)."""
        versions = ", ".join(f"shard{p} v{v}" for p, v in self.final_versions) or "none"
        return (
            f"{self.spec.name}: learned {sharded_view.learned(self)} here; published at stop: "
            f"{versions}; dead-lettered {self.dead_letters.count}"
        )

    def stats(self) -> dict[str, object]:
        """The heartbeat's fields (`trainer.sharded_view.heartbeat`)."""
        return sharded_view.heartbeat(self)
