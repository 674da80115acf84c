"""The trainer's side of the registry: restore the newest version on start, publish, retry.

It depends only on the `SnapshotStore` protocol (`lazarus.registry.store`);
when to publish is the trainer app's cadence.

The version sequence never skips or repeats: a failed publish is retried with
the same version number (and fresher state); only a stored version advances it.
Every version is stored, so a restart resumes from the newest one (its join
buffer included); only a version that has learned at least `min_learned`
events becomes `current`, the one scorers serve. Before a version is stored its model
is test-loaded as scorers load it (`lazarus.trainer.servable`): one they would refuse is
never published.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from lazarus.errors import LazarusError, SnapshotRejected
from lazarus.registry.retention import Retention
from lazarus.registry.sealing import SealedSnapshot, environment, seal, unseal
from lazarus.registry.signing import Signer
from lazarus.registry.store import SnapshotStore
from lazarus.schemas.manifest import JoinReport, SnapshotManifest
from lazarus.trainer.keyed_learner import learner_of
from lazarus.trainer.learner import Learner, LearnerState
from lazarus.trainer.servable import check_model_bytes
from lazarus.trainer.specs import ModelSpec

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


class TrainerConflict(LazarusError):
    """Another writer published versions of this model: two trainers must not share a model."""


def restore(
    store: SnapshotStore,
    spec: ModelSpec,
    signer: Signer,
    *,
    from_beginning: bool,
    modules: Iterable[str] = (),
) -> tuple[Learner, int]:
    """The learner to continue from and the next version number: the newest stored snapshot,
    current or not (one that learned too little to be served still holds the join buffer),
    or a fresh learner. Its state loads with `modules` (LAZARUS_SNAPSHOT_MODULES)."""
    latest = store.latest(spec.name)
    if from_beginning or latest == 0:
        if latest:
            log.info(
                "--from-beginning: rebuilding %s from offset 0; versions continue after v%d",
                spec.name,
                latest,
            )
        return learner_of(spec)(spec), latest + 1
    sealed = store.get(spec.name, latest)
    if sealed is None:
        raise SnapshotRejected(f"{spec.name} v{latest} is recorded as latest but is not stored")
    try:
        manifest, state = unseal(
            sealed, signer.verifier, model=spec.name, version=latest, modules=modules
        )
    except SnapshotRejected as exc:
        raise SnapshotRejected(
            f"{spec.name} v{latest} cannot be resumed: {exc}. Rebuild with --from-beginning"
        ) from exc
    if manifest.schema_fingerprint != spec.fingerprint:
        raise SnapshotRejected(
            f"{spec.name} v{latest} was trained on other features (schema fingerprint differs); "
            "rebuild with --from-beginning"
        )
    if not isinstance(state, LearnerState):
        raise SnapshotRejected(f"{spec.name} v{latest} does not hold trainer state")
    log.info(
        "resuming %s from v%d: %d learned, %d pending, trained through %s",
        spec.name,
        latest,
        manifest.n_learned,
        manifest.join.pending,
        manifest.trained_through,
    )
    return learner_of(spec)(spec, state), latest + 1


@dataclass
class PublishStats:
    published: int = 0
    failures: int = 0
    last_seconds: float = 0.0


class SnapshotPublisher:
    """Publishes a model's versions `next_version`, `next_version` + 1, ... to `store`, signed with
    `signer`; each publish prunes by the rotation `keep` (a number n: the newest n); versions that learned fewer than `min_learned` (default: the spec's)
    events are stored but not servable. `modules` (LAZARUS_SNAPSHOT_MODULES) go into every
    manifest, and every model is test-loaded with them before it is stored."""

    def __init__(
        self,
        store: SnapshotStore,
        spec: ModelSpec,
        signer: Signer,
        next_version: int,
        keep: Retention | int,
        *,
        min_learned: int | None = None,
        modules: Iterable[str] = (),
    ) -> None:
        self._store = store
        self._modules = tuple(modules)
        self._spec = spec
        self.min_learned = spec.min_learned if min_learned is None else min_learned
        """A version that learned fewer events is stored but never made current."""
        self._servable: bool | None = None
        self._signer = signer
        self.next_version = next_version
        self._keep = Retention.of(keep)
        self._retry_at = 0.0
        self._delay = RETRY_FIRST_S
        self.stats = PublishStats()
        self.last_manifest: SnapshotManifest | None = None
        self._unconfirmed: tuple[SealedSnapshot, SnapshotManifest] | None = None

    @property
    def current_version(self) -> int | None:
        return self.next_version - 1 if self.next_version > 1 else None

    def due_for_retry(self, now: float) -> bool:
        return now >= self._retry_at

    def publish(self, learner: Learner) -> SnapshotManifest | None:
        """Seal and store the learner's state as the next version; None (and a retry later) if Redis fails.

        Until the store gives a definite answer, retries send the *same* sealed bytes: if a
        reply was lost after the write, the store recognises its own digest ("exists").
        The returned manifest's `trained_through` holds the stored state's next offsets to read.
        Raises TrainerConflict when the store holds this version with other bytes, or its
        latest is not the one before (another trainer publishes this model): fatal, as two
        writers of one model's sequence cannot both be right. Raises UnservableModel (nothing
        stored) when scorers would refuse the model: fatal too, until the setting changes.
        """
        started = time.perf_counter()
        if self._unconfirmed is None:
            sealed, manifest = seal(
                learner.state, self._fields(learner), self._signer, serving=learner.state.model
            )
            what = f"cannot publish {self._spec.name} v{self.next_version}"
            check_model_bytes(sealed.model, self._modules, what=what)
            self._unconfirmed = sealed, manifest
        sealed, manifest = self._unconfirmed
        try:
            result = self._store.publish(
                self._spec.name,
                self.next_version,
                sealed,
                self._keep,
                servable=manifest.n_learned >= self.min_learned,
            )
        except (redis.RedisError, OSError) as exc:
            self.stats.failures += 1
            self._retry_at = time.monotonic() + self._delay
            log.warning(
                "cannot publish %s v%d (%s); still learning, retrying in %.1fs",
                self._spec.name,
                self.next_version,
                exc,
                self._delay,
            )
            self._delay = min(self._delay * 2, RETRY_MAX_S)
            return None
        if result.outcome == "unstaged":  # the staged blob vanished (Redis restarted in between)
            self.stats.failures += 1
            self._retry_at = time.monotonic() + self._delay
            return None
        self._unconfirmed = None
        if result.outcome in ("conflict", "gap"):
            raise TrainerConflict(
                f"cannot publish {self._spec.name} v{self.next_version}: the store's latest is "
                f"v{result.latest} ({result.outcome}); is another trainer running for this model?"
            )
        if self.stats.failures and self._delay > RETRY_FIRST_S:
            log.info("Redis is back: published %s v%d", self._spec.name, self.next_version)
        self._delay = RETRY_FIRST_S
        self._retry_at = 0.0
        self._say_if_servable(manifest)
        self.next_version += 1
        self.stats.published += 1
        self.stats.last_seconds = time.perf_counter() - started
        self.last_manifest = manifest
        return manifest

    def _say_if_servable(self, manifest: SnapshotManifest) -> None:
        """Log when versions start (or stop) being ones scorers may serve; not every publish."""
        servable = manifest.n_learned >= self.min_learned
        if servable == self._servable:
            return
        self._servable = servable
        if servable:
            log.info(
                "%s v%d learned %d events (minimum %d): scorers may serve it",
                self._spec.name,
                manifest.version,
                manifest.n_learned,
                self.min_learned,
            )
        else:
            log.info(
                "stored %s v%d for restarts only: it learned %d of the %d events a served "
                "version needs (min_learned); scorers wait for one that has",
                self._spec.name,
                manifest.version,
                manifest.n_learned,
                self.min_learned,
            )

    def _fields(self, learner: Learner) -> dict[str, object]:
        state, join = learner.state, learner.state.join
        c = join.counters
        report = state.evaluation.report()
        return {
            "model": self._spec.name,
            "version": self.next_version,
            "created_at": datetime.now(UTC),
            "n_learned": learner.model_learned,
            "metrics": report["overall"],
            "rolling_metrics": report["rolling"],
            "segment_metrics": state.evaluation.segment_report(),
            "trained_through": dict(state.offsets),
            "join": JoinReport(
                pending=len(join.entries),
                joined=c.joined,
                expired=c.expired,
                evicted=c.evicted,
                unmatched=c.unmatched,
                features_gone=c.features_gone,
                waiting_outcomes=join.waiting_outcomes,
                early_joined=c.early_joined,
                duplicate_outcomes=c.duplicate_outcomes,
                duplicate_features=c.duplicate_features,
                label_latency_mean_s=join.label_latency_mean_s,
                label_latency_max_s=c.latency_max_s,
            ),
            "invalid_events": state.invalid_events,
            "model_failures": state.model_failures,
            "schema_fingerprint": self._spec.fingerprint,
            "environment": environment(),
            "pipeline": _describe(state.model),
            "snapshot_modules": self._modules,
        }


def _describe(model: object) -> str:
    text = " | ".join(type(step).__name__ for step in getattr(model, "steps", {}).values())
    return text or type(model).__name__
