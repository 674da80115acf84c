"""When the trainer snapshots, and the steps of a snapshot commit, in the order they run.

The trainer trusts its snapshots, not committed group offsets: a snapshot holds the model and
the offsets it was trained through, and a restart reads every partition from those. So a
commit is the snapshot, and the group commit after it only feeds `lazarus lag`.
Modelled on quix-streams' `Checkpoint`: `expired()` by count or interval, `commit()` in steps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from lazarus.trainer.join import unjoined
from lazarus.trainer.learner import Learner
from lazarus.trainer.publishing import SnapshotPublisher

log = logging.getLogger("lazarus.trainer.app")


@dataclass(frozen=True)
class Cadence:
    """Snapshot after `every` learned events or `seconds` seconds, whichever comes first."""

    every: int
    seconds: float


class TrainerCheckpoint:
    """The learner's state since the last published snapshot, and how to publish the next."""

    def __init__(
        self,
        learner: Learner,
        snapshots: SnapshotPublisher,
        cadence: Cadence,
        reject_failures: Callable[[], None],
        commit_offsets: Callable[[dict[str, int]], None],
        model: str,
    ) -> None:
        """`reject_failures()` dead-letters what the model check left out;
        `commit_offsets({"topic:partition": next offset})` tells the group (for lag only)."""
        self.learner = learner
        self.snapshots = snapshots
        self.cadence = cadence
        self._reject_failures = reject_failures
        self._commit_offsets = commit_offsets
        self._model = model
        self._learned_at = learner.state.n_learned
        self._offsets_at = dict(learner.state.offsets)
        self._at = time.monotonic()
        self._unjoined_logged = unjoined(learner.state.join.counters)

    def changed(self) -> bool:
        """Whether the learner moved past the offsets of the last snapshot."""
        return self.learner.state.offsets != self._offsets_at

    def expired(self, now: float | None = None) -> bool:
        """`cadence.every` events learned, or `cadence.seconds` passed, since the last one."""
        now = time.monotonic() if now is None else now
        learned = self.learner.state.n_learned - self._learned_at
        return learned >= self.cadence.every or now - self._at >= self.cadence.seconds

    def maybe_commit(self, force: bool = False) -> None:
        """Commit when expired (or `force`d), changed, and not backing off a failed publish."""
        now = time.monotonic()
        if not (force or self.expired(now)):
            return
        if not self.changed() or not self.snapshots.due_for_retry(now):
            return
        self.commit()

    def commit(self) -> bool:
        """Publish a snapshot of the learner; False if the store did not take it (retried later).

        The steps, in order:
        1. verify the model is finite (`Learner.checkpoint()`), repairing it from its last
           finite copy if not: a non-finite model is never published;
        2. dead-letter the events that repair left out;
        3. publish the snapshot (model and its next offsets to read) to the store;
        4. log what went unjoined since the last snapshot;
        5. commit the snapshot's offsets to the consumer group, for `lazarus lag` only."""
        self.learner.checkpoint()
        self._reject_failures()
        manifest = self.snapshots.publish(self.learner)
        if manifest is None:
            return False
        self._report_unjoined(manifest.version)
        self._learned_at = self.learner.state.n_learned
        self._offsets_at = dict(manifest.trained_through)
        self._at = time.monotonic()
        self._commit_offsets(manifest.trained_through)
        return True

    def commit_final(self, timeout: float, retry_s: float = 0.5) -> bool:
        """Commit until the learner's last change is published, retrying a failed publish for
        up to `timeout` seconds (an older unconfirmed snapshot may go out first). False when
        it could not: a restart then learns again from the last published one."""
        deadline = time.monotonic() + timeout
        while self.changed():
            if self.commit():
                continue
            if time.monotonic() > deadline:
                return False
            time.sleep(retry_s)
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
            self._model,
            version,
            grew["expired"],
            grew["evicted"],
            grew["unmatched"],
            grew["features_gone"],
            join.waiting_outcomes,
            ", ".join(f"{k} {v}" for k, v in now.items()),
        )
