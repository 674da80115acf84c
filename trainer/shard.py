"""One shard of a per-key model: the partition number p of its inputs and outcomes.

A shard is a whole trainer in small: a `KeyedLearner` restored from the newest version of its
registry line (`shard_line(M, p)`), a feed over partition p of every input topic and of the
outcome topic (reading from that version's trained-through offsets), the dispatcher, and the
checkpoint that publishes the shard's versions. Its learning order depends on its own
partitions only (`trainer.merge`), so whichever process owns it, and however often it moves,
it learns the same sequence: the exactly-once training effect holds per partition.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING

from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.kafka.producer import Publisher
from lazarus.registry.retention import Retention
from lazarus.registry.signing import Signer
from lazarus.registry.store import SnapshotStore
from lazarus.schemas.per_key import shard_line
from lazarus.schemas.topics import Topic
from lazarus.trainer.checkpoint import Cadence, TrainerCheckpoint
from lazarus.trainer.dispatch import Dispatcher
from lazarus.trainer.drift_reports import DriftReporter
from lazarus.trainer.feed import Feed, FeedBatch, FeedPlan
from lazarus.trainer.publishing import SnapshotPublisher, restore
from lazarus.trainer.rows import RowMaker
from lazarus.trainer.specs import ModelSpec

log = logging.getLogger("lazarus.trainer.shard")

FINAL_SNAPSHOT_S = 10.0


class ShardTrainer:
    """Partition `partition` of `spec` (a per-key spec): `step()` until the shard moves away,
    then `close()`. Nothing connects before `start()`."""

    def __init__(
        self,
        spec: ModelSpec,
        partition: int,
        store: SnapshotStore,
        signer: Signer,
        *,
        topics: dict[str, Topic[Any]],
        inputs: list[str],
        outcomes: str,
        cadence: Cadence,
        retention: Retention,
        publisher: Publisher,
        dead_letters: DeadLetterSink,
        prequential_topic: str,
        drift_topic: str,
        role: str,
        feed_plan: Callable[[list[tuple[str, int, int]], RowMaker], FeedPlan],
        new_feed: Callable[[FeedPlan], Feed],
        commit_offsets: Callable[[dict[str, int]], None],
        modules: tuple[str, ...] = (),
        from_beginning: bool = False,
        rebuilt: Callable[[], None] | None = None,
    ) -> None:
        """`topics`: full topic name -> Topic (inputs and outcomes); `inputs` in the spec's
        order; `feed_plan(assignments, rows)` builds the plan of this shard's feed and
        `new_feed(plan)` the feed; `commit_offsets` tells the group (lag only)."""
        self.opened_at = time.monotonic()
        self.ready_after_s: float | None = None
        """Seconds from being opened (assigned) to learning its first event: a rebalance's cost."""
        self.partition = partition
        self.line = shard_line(spec.name, partition)
        self.spec = spec.replace(name=self.line)
        self.learner, next_version = restore(
            store, self.spec, signer, from_beginning=from_beginning, modules=modules
        )
        self.snapshots = SnapshotPublisher(
            store,
            self.spec,
            signer,
            next_version,
            retention,
            modules=modules,
            min_learned=_catch_up(store, self.line, self.spec.min_learned, from_beginning),
        )
        self._rebuilt = rebuilt if from_beginning else None
        """Called once the rebuilt shard's first version is published (the request is met)."""
        self.dispatch = Dispatcher(
            self.spec,
            self.learner,
            inputs,
            dead_letters,
            publisher,
            prequential_topic,
            record_as=spec.name,
        )
        self.checkpoint = TrainerCheckpoint(
            self.learner,
            self.snapshots,
            cadence,
            self.dispatch.reject_failures,
            commit_offsets,
            self.line,
        )
        self.drifts = DriftReporter(
            self.line, publisher, drift_topic, None, role, spec.lifecycle.drift.detector
        )
        self._partitions = [*inputs, outcomes]
        self._feed_plan = feed_plan
        self._new_feed = new_feed
        self._feed: Feed | None = None
        self.in_by_topic: dict[str, int] = dict.fromkeys(topics, 0)
        self._learned_at_open = self.learner.state.n_learned

    @property
    def learned_here(self) -> int:
        """Events this owner learned (the restored version's own are its earlier owners')."""
        return self.learner.state.n_learned - self._learned_at_open

    @property
    def assignments(self) -> list[tuple[str, int, int]]:
        """(topic, partition, next offset to read) of every partition the shard reads."""
        offsets = self.learner.state.offsets
        p = self.partition
        return [(t, p, offsets.get(f"{t}:{p}", OFFSET_BEGINNING)) for t in self._partitions]

    def start(self, timeout: float) -> None:
        """Start the feed from the restored version's trained-through offsets."""
        feed = self._new_feed(self._feed_plan(self.assignments, self.learner.rows))
        feed.start()
        try:
            feed.wait_ready(timeout)
        except Exception:
            feed.stop()
            raise
        self._feed = feed
        log.info(
            "shard %s: from v%s, %d learned, %d keys; reading %s",
            self.line,
            self.snapshots.current_version or 0,
            self.learner.state.n_learned,
            len(self.learner.state.model),
            ", ".join(f"{t}[{p}]@{_offset(o)}" for t, p, o in self.assignments),
        )

    def reopen(self, timeout: float) -> None:
        """Read again after `close()`, from where the learner is (a shard given back at once
        by an eager rebalance: its state is the version it just published)."""
        self.opened_at = time.monotonic()
        self.ready_after_s = None
        self.start(timeout)

    def step(self, timeout: float) -> int:
        """Learn from one batch of the shard's feed (waiting up to `timeout` s), then snapshot
        when due. Returns the messages consumed. Raises `TrainerConflict` when another
        process published this shard (it is no longer ours)."""
        assert self._feed is not None, "start() first"
        batch: FeedBatch | None = self._feed.receive(timeout)
        n = 0
        if batch is not None:
            learned = self.learner.state.n_learned
            self.dispatch.learn(batch.items)
            if self.ready_after_s is None and self.learner.state.n_learned > learned:
                self.ready_after_s = time.monotonic() - self.opened_at
            reports = self.learner.take_drift_reports()
            if reports:
                self.drifts.report(reports)
            for topic, count in batch.counts.items():
                self.in_by_topic[topic] = self.in_by_topic.get(topic, 0) + count
                n += count
        self.checkpoint.maybe_commit()
        self._check_rebuilt()
        return n

    @property
    def rebuilding(self) -> bool:
        """Learning again from offset 0, until its first version is published."""
        return self._rebuilt is not None

    def _check_rebuilt(self) -> None:
        if self._rebuilt is not None and self.snapshots.stats.published:
            self._rebuilt()
            self._rebuilt = None

    def close(self, *, publish: bool) -> bool:
        """Stop reading; with `publish`, publish the shard's final version first (retrying up
        to `FINAL_SNAPSHOT_S`). False when a final version was due and not published: the
        next owner then learns again from the last one (nothing is lost)."""
        if self._feed is not None:
            self._feed.stop()
            self._feed = None
        if not publish:
            return True
        if self.checkpoint.commit_final(FINAL_SNAPSHOT_S):
            self._check_rebuilt()
            return True
        log.error(
            "could not publish a final version of %s; its next owner learns again from v%s",
            self.line,
            self.snapshots.current_version,
        )
        return False


def _catch_up(store: SnapshotStore, line: str, min_learned: int, rebuilding: bool) -> int:
    """The events a version must have learned to be served: a rebuilt shard's versions are
    not served until they learned as many as the version it replaces (scorers keep serving
    that one meanwhile); otherwise the spec's `min_learned`."""
    latest = store.latest(line) if rebuilding else 0
    manifest = store.manifest(line, latest) if latest else None
    return max(min_learned, manifest.n_learned) if manifest is not None else min_learned


def _offset(offset: int) -> str:
    return "beginning" if offset == OFFSET_BEGINNING else str(offset)
