"""Rollback reach: which versions of a model are stored, since when, and why each stays.

Read through the `SnapshotStore` protocol, for `lazarus models list|history` (and any other
reader). The reasons come from `retention.kept`, with the rotation the model's latest
publish recorded, so a terminal whose own settings differ from the trainer's still says
what the trainer keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lazarus.registry.retention import Retention, kept
from lazarus.registry.store import SnapshotStore

GOES = "goes at the next publish"
"""The reason shown for a stored version the rotation no longer keeps (it was current or
pinned until an operator's move): the trainer's next publish prunes it."""


@dataclass(frozen=True)
class Reach:
    """What a model keeps: `policy`, and each stored version's creation time and reasons."""

    policy: Retention
    created: dict[int, datetime]
    """Every stored version -> its creation time (timezone-aware)."""
    why: dict[int, tuple[str, ...]]
    """Every stored version -> why it stays (`retention.kept`'s reasons, or `GOES`)."""

    @property
    def oldest(self) -> int | None:
        """The oldest version a rollback can reach; None when nothing is stored."""
        return min(self.created, default=None)

    def age_s(self, version: int, now: datetime) -> int:
        """Whole seconds from `version`'s creation to `now` (aware), never below 0."""
        return max(0, int((now - self.created[version]).total_seconds()))

    def as_json(self, now: datetime) -> dict[str, Any]:
        """`models list --json`'s reach fields: `kept` (count), `oldest_kept` (version),
        `oldest_kept_at` (ISO 8601 UTC), `oldest_kept_age_s` (int), `retention` (the four
        counts) and `kept_versions` (version, created_at, age_s, why; oldest first)."""
        oldest = self.oldest
        return {
            "kept": len(self.created),
            "oldest_kept": oldest,
            "oldest_kept_at": None if oldest is None else _iso(self.created[oldest]),
            "oldest_kept_age_s": None if oldest is None else self.age_s(oldest, now),
            "retention": self.policy.as_dict(),
            "kept_versions": [
                {
                    "version": v,
                    "created_at": _iso(at),
                    "age_s": self.age_s(v, now),
                    "why": list(self.why[v]),
                }
                for v, at in sorted(self.created.items())
            ],
        }


def read_reach(store: SnapshotStore, model: str, default: Retention) -> Reach:
    """`model`'s reach in `store`: its rotation is the one its latest publish recorded, else
    `default` (this process's settings). Raises the store's connection errors."""
    created = store.created(model)
    policy = store.retention(model) or default
    why = kept(
        created,
        policy,
        current=store.current(model),
        pinned=store.pinned(model),
        newest=store.latest(model),
    )
    return Reach(policy, created, {v: why.get(v, (GOES,)) for v in created})


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()
