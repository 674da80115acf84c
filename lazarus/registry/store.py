"""The `SnapshotStore` protocol, and the in-memory store that implements it for unit tests.

The Redis implementation is `lazarus.registry.redis_store.RedisSnapshotStore`;
the package docstring (`lazarus.registry`) tells the whole protocol in prose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from lazarus.registry.retention import Retention, dropped
from lazarus.registry.sealing import SealedSnapshot
from lazarus.schemas.manifest import SnapshotManifest

Outcome = Literal["ok", "exists", "conflict", "gap", "unstaged"]
"""What a publish did: see `SnapshotStore.publish`."""

Move = Literal["promote", "rollback"]
"""An explicit move of `current` by an operator."""

MoveOutcome = Literal["ok", "missing", "not_older"]
"""What a move did: see `SnapshotStore.move_current`."""


@dataclass(frozen=True)
class PublishResult:
    outcome: Outcome
    latest: int
    """The store's latest version after the call (the new version when `outcome` is 'ok')."""


class SnapshotStore(Protocol):
    """Immutable, numbered snapshot versions per model, and a `current` pointer scorers serve.

    Versions of a model are numbered 1, 2, 3, ... by their one writer (the
    model's trainer); a stored version never changes. `current` only moves
    forward on a publish; going back is an explicit `move_current(...,
    "rollback")`, which pins it. Every move of `current` is recorded
    (`history`) and announced (see `lazarus.registry.follow`).
    """

    def publish(
        self,
        model: str,
        version: int,
        sealed: SealedSnapshot,
        keep: Retention | int,
        *,
        servable: bool = True,
    ) -> PublishResult:
        """Store `sealed` as `version` of `model`, atomically.

        `version` must be `latest(model) + 1`. If `servable` (the version learned at
        least its model's `min_learned` events), it becomes `current` unless a rollback
        pinned `current`; a version that is not servable is stored (a trainer resumes
        from it) but never served. Then the versions the rotation `keep` does not keep
        are pruned (`retention.dropped`: never the current, pinned or newest one; a
        number n keeps the newest n), `keep` is recorded (`retention`), and followers
        are notified.

        Outcomes: 'ok'; 'exists' (this version is already stored with the same sha256:
        a retry after a lost reply, a success); 'conflict' (stored with other bytes) or
        'gap' (not latest + 1): another writer, see `TrainerConflict`; 'unstaged' (the
        store lost the bytes between two steps: retry with the same bytes).
        Raises the backend's connection errors (`redis.RedisError`, `OSError`).
        """
        ...

    def get(self, model: str, version: int) -> SealedSnapshot | None:
        """Every stored part of a version (manifest, signature, state, model), or None if it
        was never stored or has been trimmed. Unverified: see `sealing.verify`."""
        ...

    def get_model(self, model: str, version: int) -> SealedSnapshot | None:
        """Like `get` without the state part (`blob` is b""): what a scorer needs, kilobytes
        instead of the megabytes of a join buffer."""
        ...

    def manifest(self, model: str, version: int) -> SnapshotManifest | None:
        """A stored version's manifest, for display (unverified), or None."""
        ...

    def latest(self, model: str) -> int:
        """The highest version ever published (0 before the first); trimming never lowers it."""
        ...

    def current(self, model: str) -> int | None:
        """The version scorers serve; None until a servable version is published."""
        ...

    def versions(self, model: str) -> list[int]:
        """The versions still stored, oldest first."""
        ...

    def models(self) -> list[str]:
        """Every model that has published, sorted by name."""
        ...

    def created(self, model: str) -> dict[int, datetime]:
        """When each stored version was created (its manifest's `created_at`), by version."""
        ...

    def retention(self, model: str) -> Retention | None:
        """The rotation the latest publish pruned by; None before one recorded it."""
        ...

    def move_current(
        self, model: str, version: int, action: Move, reason: str, actor: str
    ) -> tuple[MoveOutcome, int]:
        """Point `current` at a stored version, explicitly (compare-and-set in one step).

        A 'rollback' must go back (`version` < current) and pins `current`: publishes
        stop moving it until the next 'promote', which moves it to `version` and
        unpins. Records the move in `history` with `reason` and `actor` (who asked)
        and notifies followers. Returns (outcome, current before the call): 'ok',
        'missing' (`version` is not stored) or 'not_older' (a rollback that does not
        go back; nothing changed).
        """
        ...

    def pinned(self, model: str) -> int | None:
        """The version a rollback pinned `current` to, or None when publishes move it."""
        ...

    def history(self, model: str, limit: int = 50) -> list[dict[str, str]]:
        """The newest `limit` moves of `current`, newest first, as text fields: id, action
        ('publish', 'promote', 'rollback'), version, previous, reason, actor, at (epoch s)."""
        ...


AUDIT_MAXLEN = 1000
"""About how many moves of `current` a store remembers per model."""


def created_at(sealed: SealedSnapshot) -> datetime:
    """The `created_at` of a sealed snapshot's manifest (read, not verified)."""
    return SnapshotManifest.model_validate_json(sealed.manifest).created_at


@dataclass
class MemorySnapshotStore:
    """The `SnapshotStore` contract in memory, for unit tests of pure logic."""

    snapshots: dict[tuple[str, int], SealedSnapshot] = field(default_factory=dict)
    latest_: dict[str, int] = field(default_factory=dict)
    current_: dict[str, int] = field(default_factory=dict)
    pinned_: dict[str, int] = field(default_factory=dict)
    retention_: dict[str, Retention] = field(default_factory=dict)
    audit: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    clock: float = 0.0
    """The `at` of audit rows (tests set it; memory has no wall clock to ask)."""

    def publish(
        self,
        model: str,
        version: int,
        sealed: SealedSnapshot,
        keep: Retention | int,
        *,
        servable: bool = True,
    ) -> PublishResult:
        latest = self.latest_.get(model, 0)
        existing = self.snapshots.get((model, version))
        if existing is not None:
            return PublishResult(
                "exists" if existing.sha256 == sealed.sha256 else "conflict", latest
            )
        if version != latest + 1:
            return PublishResult("gap", latest)
        self.snapshots[(model, version)] = sealed
        self.latest_[model] = version
        current = self.current_.get(model, 0)
        if servable and version > current and model not in self.pinned_:
            self.current_[model] = version
            self._record(model, "publish", version, current, "trainer published", "trainer")
        policy = self.retention_[model] = Retention.of(keep)
        serving, pinned = self.current_.get(model), self.pinned_.get(model)
        for old in dropped(
            self.created(model), policy, current=serving, pinned=pinned, newest=version
        ):
            del self.snapshots[(model, old)]
        return PublishResult("ok", version)

    def get(self, model: str, version: int) -> SealedSnapshot | None:
        return self.snapshots.get((model, version))

    def get_model(self, model: str, version: int) -> SealedSnapshot | None:
        sealed = self.snapshots.get((model, version))
        if sealed is None:
            return None
        return SealedSnapshot(sealed.manifest, sealed.signature, b"", model=sealed.model)

    def manifest(self, model: str, version: int) -> SnapshotManifest | None:
        sealed = self.snapshots.get((model, version))
        return None if sealed is None else SnapshotManifest.model_validate_json(sealed.manifest)

    def latest(self, model: str) -> int:
        return self.latest_.get(model, 0)

    def current(self, model: str) -> int | None:
        return self.current_.get(model)

    def versions(self, model: str) -> list[int]:
        return sorted(v for m, v in self.snapshots if m == model)

    def models(self) -> list[str]:
        return sorted(self.latest_)

    def created(self, model: str) -> dict[int, datetime]:
        return {v: created_at(s) for (m, v), s in self.snapshots.items() if m == model}

    def retention(self, model: str) -> Retention | None:
        return self.retention_.get(model)

    def move_current(
        self, model: str, version: int, action: Move, reason: str, actor: str
    ) -> tuple[MoveOutcome, int]:
        if (model, version) not in self.snapshots:
            return "missing", 0
        current = self.current_.get(model, 0)
        if action == "rollback" and version >= current:
            return "not_older", current
        self.current_[model] = version
        if action == "rollback":
            self.pinned_[model] = version
        else:
            self.pinned_.pop(model, None)
        self._record(model, action, version, current, reason, actor)
        return "ok", current

    def pinned(self, model: str) -> int | None:
        return self.pinned_.get(model)

    def history(self, model: str, limit: int = 50) -> list[dict[str, str]]:
        return self.audit.get(model, [])[::-1][:limit]

    def _record(
        self, model: str, action: str, version: int, previous: int, reason: str, actor: str
    ) -> None:
        rows = self.audit.setdefault(model, [])
        rows.append(
            {
                "id": f"{len(rows) + 1}-0",
                "action": action,
                "version": str(version),
                "previous": str(previous),
                "reason": reason,
                "actor": actor,
                "at": str(self.clock),
            }
        )
        del rows[:-AUDIT_MAXLEN]
