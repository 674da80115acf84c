"""Follow a model line's `current` in Redis and open each new version off the caller's thread.

A *line* is a registry name with its own versions and `current` (`lazarus.registry.lineup`).
`CurrentFollower` follows one line's `current`: its model's own, or (scorers) the line a
function of Redis names on every check, `champion_line`: the model's champion, so a promotion
moves serving to another line. It listens to the model's channel (`keys.events_channel`: the
registry's and the lineup's notes) and the followed line's: a notification triggers a check at
once, a poll every `poll_s` seconds catches the ones pub/sub loses while a connection is down
(`lazarus.registry.follower.Follower`). Fetching (`get_model`: no state part), verifying and
unpickling (the `open` function given, typically built on `opening.open_model`) happen on this
thread; the caller takes the opened version when it suits it (`take()`), so a scorer swaps
between batches and never waits on Redis. Redis being down never takes away what was already
opened. A version `open` refuses (SnapshotRejected) is logged once and never retried: the
follower waits for the next `current`. The models a scorer scores in shadow are followed by
`lazarus.registry.lineup_follow.LineupFollower`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import redis

from lazarus.registry.follower import Follower, FollowStats, Offer
from lazarus.registry.lineup import Lineup
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.sealing import SealedSnapshot

__all__ = ["CurrentFollower", "FollowStats", "LineOf", "Offer", "Opener", "champion_line"]

log = logging.getLogger(__name__)

MAX_NOTES = 1000
"""Notifications remembered for the reason of a swap (`CurrentFollower.take_why`)."""

T = TypeVar("T")

Opener = Callable[[SealedSnapshot, str, int], T]
"""Verify and unpickle a fetched version (sealed, line, version); SnapshotRejected to refuse."""
LineOf = Callable[[redis.Redis], str]
"""Which line to follow, read with the follower's client on every check."""

WHY = {"promote": "promoted", "rollback": "rolled back", "publish": "published"}
"""A notification's action, as a swap's reason."""


def champion_line(prefix: str, model: str) -> LineOf:
    """`model`'s champion line (`Lineup.champion`: `model` itself unless a challenger won)."""
    return lambda client: Lineup(client, prefix).champion(model)


class CurrentFollower(Follower, Generic[T]):
    """Follows `current` of `model`'s line, or of the line `line(client)` names on every check
    (`champion_line`), and opens each new (line, version) with `open`; `poll_s` seconds between
    polls. It listens to `model`'s channel (the lineup's notes) and the followed line's."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        model: str,
        open: Opener[T],
        poll_s: float,
        *,
        line: LineOf | None = None,
        notifications: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(
            redis_url,
            prefix,
            model,
            poll_s,
            notifications=notifications,
            name=name or f"current-follower-{model}",
        )
        self._open = open
        self._line_of = line
        self._ready: tuple[T, str] | None = None
        self._offered: Offer | None = None
        """The (line, version) last handed to (or waiting for) the scoring loop."""
        self._notes: dict[tuple[str, int | None], str] = {}
        """(line, version) -> the action of its last notification; (line, None): the lineup's."""

    # -- the caller's side -------------------------------------------------------------------

    def take(self) -> T | None:
        """The newly opened version, once; None when there is nothing new."""
        taken = self.take_why()
        return None if taken is None else taken[0]

    def take_why(self) -> tuple[T, str] | None:
        """The newly opened version and why it came ('promoted', 'rolled back', 'published',
        'champion changed' or '' when unknown), once; None when there is nothing new."""
        with self._lock:
            ready, self._ready = self._ready, None
        return ready

    # -- follower thread ----------------------------------------------------------------------

    def channels(self) -> set[str]:
        return {self.channel(self._model), self.channel(self.stats.line)}

    def heard(self, note: dict[str, Any]) -> None:
        action, version = note.get("action"), note.get("version")
        line = note.get("line", note.get("model"))
        if not (isinstance(action, str) and isinstance(version, int) and isinstance(line, str)):
            return
        if len(self._notes) > MAX_NOTES:
            self._notes.clear()
        self._notes[(line, version)] = action
        if "line" in note:  # the lineup's: a change of line
            self._notes[(line, None)] = action

    def holding(self) -> str:
        offered = self._offered
        return f"serving {offered[0]} v{offered[1]}" if offered else "waiting for a version"

    def check(self, client: redis.Redis) -> None:
        """Open the followed line's `current` if it is new and not refused before."""
        store = RedisSnapshotStore(client, self._prefix)
        line = self._model if self._line_of is None else self._line_of(client)
        self.stats.line = line
        current = store.current(line)
        if current is None:
            if line != self._model and (line, 0) not in self._missing:
                self._missing.add((line, 0))
                log.warning(
                    "%s's champion line %s has no current version; %s",
                    self._model,
                    line,
                    self.holding(),
                )
            return
        offer = (line, current)
        if offer == self._offered or offer in self.stats.refused_lines:
            return
        opened = self.open_checked(
            store,
            offer,
            lambda sealed: self._open(sealed, line, current),
            "Still " + (self.holding() if self._offered else "serving nothing"),
        )
        if opened is None:
            return
        why = self._why(offer)
        with self._lock:
            self._ready = (opened, why)
            self._offered = offer
        self.wakeups.set()

    def _why(self, offer: Offer) -> str:
        line = offer[0]
        action = self._notes.pop(offer, None)
        changed = self._offered is not None and self._offered[0] != line
        if changed:
            action = self._notes.pop((line, None), action)
        if action is not None:
            return WHY.get(action, action)
        return "champion changed" if changed else ""
