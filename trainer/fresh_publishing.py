"""Publish the drift-born challenger (`trainer.lifecycle.FreshLine`) as the line `M.fresh`.

Its versions are signed and verified like the main line's: the same manifest (the line's name,
its own version sequence, the fresh model's learned count for `min_learned`, the main learner's
trained-through offsets: the fresh model has read everything the main one has, and learned
every labelled event since its start), the same servability check. What it seals as state is
the fresh model alone: a restart resumes the fresh line from the main line's snapshot, which
holds it, never from these versions.
"""

from __future__ import annotations

import logging

from lazarus.registry.retention import Retention
from lazarus.registry.signing import Signer
from lazarus.registry.store import SnapshotStore
from lazarus.schemas.lifecycle import fresh_line
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.trainer.learner import Learner, LearnerState
from lazarus.trainer.publishing import SnapshotPublisher
from lazarus.trainer.specs import ModelSpec

log = logging.getLogger("lazarus.trainer.app")


class FreshPublisher:
    """`publish(main)` stores the main learner's fresh line as the next version of `M.fresh`;
    None when there is no fresh line, nothing new, or the store did not take it (retried at
    the next snapshot). Raises what `SnapshotPublisher.publish` raises."""

    def __init__(
        self,
        store: SnapshotStore,
        spec: ModelSpec,
        signer: Signer,
        keep: Retention | int,
        modules: tuple[str, ...] = (),
    ) -> None:
        self.line = fresh_line(spec.name)
        self.spec = spec.replace(name=self.line)
        self._store = store
        self._publisher = SnapshotPublisher(
            store, self.spec, signer, store.latest(self.line) + 1, keep, modules=modules
        )
        self._view: Learner | None = None
        self._published_at: tuple[int, int] | None = None
        """(generation, learned) of the last version stored."""

    @property
    def stats(self) -> object:
        return self._publisher.stats

    def publish(self, main: Learner) -> SnapshotManifest | None:
        fresh = main.state.fresh
        if fresh is None or fresh.n_learned == 0:
            return None
        if self._published_at == (fresh.generation, fresh.n_learned):
            return None
        view = self._view
        if view is None:
            view = self._view = Learner(self.spec)
        s: LearnerState = view.state
        s.model, s.n_learned, s.offsets = fresh.model, fresh.n_learned, dict(main.state.offsets)
        manifest = self._publisher.publish(view)
        if manifest is not None:
            if self._published_at is None or self._published_at[0] != fresh.generation:
                log.info(
                    "%s: published the fresh challenger %s v%d (generation %d, learned %d since "
                    "the drift at %s)",
                    main.spec.name,
                    self.line,
                    manifest.version,
                    fresh.generation,
                    fresh.n_learned,
                    fresh.started_at,
                )
            self._published_at = (fresh.generation, fresh.n_learned)
        return manifest
