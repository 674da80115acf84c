"""Follow `current` of every shard line of a per-key model, and open each new version.

A per-key model (`lazarus.schemas.per_key`) is published as one registry line per input
partition, `shard_line(model, p)`, each with its own versions and `current`. `ShardFollower`
follows all of them at once, as `lazarus.registry.follow.CurrentFollower` follows one line:
a notification on a shard line's channel (or the model's) triggers a check, a poll every
`poll_s` seconds catches what pub/sub lost, and the lines are found by listing the registry
(at most once per `poll_s`) plus the partitions a caller `want`s (it listens to their channels
before their first version exists). Fetching, verifying and unpickling (the `open` function
given, built on `opening.open_model`) happen on this thread; the caller takes the versions
opened since it last looked (`take()`), shard by shard, so one shard swaps without the others.
A version `open` refuses is logged once and never retried; its shard keeps what it had.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

import redis

from lazarus.registry.follow import WHY, Opener
from lazarus.registry.follower import Follower, Offer
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.schemas.per_key import shard_line, shard_of

__all__ = ["ShardFollower"]

log = logging.getLogger("lazarus.registry.follow")

MAX_NOTES = 1000
"""Notifications remembered for the reason of a swap."""

T = TypeVar("T")


class ShardFollower(Follower, Generic[T]):
    """Follows `current` of each shard line of `model` and opens each new (line, version) with
    `open`; `poll_s` seconds between polls (and between listings of the registry's lines)."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        model: str,
        open: Opener[T],
        poll_s: float,
        *,
        notifications: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(
            redis_url,
            prefix,
            model,
            poll_s,
            notifications=notifications,
            name=name or f"shard-follower-{model}",
        )
        self._open = open
        self._partitions: set[int] = set()
        """Shards known: listed in the registry, or wanted by the caller."""
        self._listed_at = -float("inf")
        self._ready: dict[int, tuple[T, str]] = {}
        self._offered: dict[int, Offer] = {}
        """partition -> the (line, version) last handed to (or waiting for) the caller."""
        self._notes: dict[Offer, str] = {}

    # -- the caller's side -------------------------------------------------------------------

    def want(self, partitions: Iterable[int]) -> None:
        """Follow these partitions' shard lines too, even before they have a version (their
        notifications are heard from the next check on)."""
        with self._lock:
            self._partitions.update(partitions)

    def take(self) -> dict[int, tuple[T, str]]:
        """The versions opened since the last call, by partition, each with why it came
        ('published', 'promoted', 'rolled back', or '' when unknown); {} when nothing new."""
        with self._lock:
            ready, self._ready = self._ready, {}
        return ready

    @property
    def offered(self) -> dict[int, Offer]:
        """partition -> (line, version) of the newest version opened per shard."""
        with self._lock:
            return dict(self._offered)

    # -- follower thread ----------------------------------------------------------------------

    def channels(self) -> set[str]:
        with self._lock:
            partitions = sorted(self._partitions)
        return {self.channel(self._model)} | {
            self.channel(shard_line(self._model, p)) for p in partitions
        }

    def heard(self, note: dict[str, Any]) -> None:
        action, version, line = note.get("action"), note.get("version"), note.get("model")
        if isinstance(action, str) and isinstance(version, int) and isinstance(line, str):
            if len(self._notes) > MAX_NOTES:
                self._notes.clear()
            self._notes[(line, version)] = action

    def holding(self) -> str:
        offered = self.offered
        if not offered:
            return "waiting for a version of any shard"
        return "serving " + ", ".join(f"{line} v{v}" for line, v in offered.values())

    def check(self, client: redis.Redis) -> None:
        """Open the `current` of every known shard line that is new and not refused before."""
        store = RedisSnapshotStore(client, self._prefix)
        if time.monotonic() - self._listed_at >= self._poll_s:
            listed = {shard_of(line, self._model) for line in store.models()}
            self._listed_at = time.monotonic()
            with self._lock:
                self._partitions.update(p for p in listed if p is not None)
        with self._lock:
            partitions = sorted(self._partitions)
        for partition in partitions:
            self._check_shard(store, partition)

    def _check_shard(self, store: RedisSnapshotStore, partition: int) -> None:
        line = shard_line(self._model, partition)
        current = store.current(line)
        if current is None:
            return
        offer = (line, current)
        before = self._offered.get(partition)
        if offer == before or offer in self.stats.refused_lines:
            return
        keeps = f"Shard {line} still serves " + (f"v{before[1]}" if before else "nothing")
        opened = self.open_checked(
            store, offer, lambda sealed: self._open(sealed, line, current), keeps
        )
        if opened is None:
            return
        action = self._notes.pop(offer, None)
        why = WHY.get(action, action) if action is not None else ""
        with self._lock:
            self._ready[partition] = (opened, why)
            self._offered[partition] = offer
        self.wakeups.set()
