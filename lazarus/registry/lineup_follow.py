"""Follow what a model's scorers score in shadow: each challenger line's `current`, and the
baseline's version (`lazarus.registry.lineup`).

`LineupFollower` re-reads the lineup on every check (a note on the model's channel: a promotion,
a rollback, a new baseline; a new version on a challenger line's channel; or the poll, which
also catches a line that joined: joining announces nothing) and opens each (line, version) it
has not opened, off the caller's thread (`lazarus.registry.follow.Follower`). The caller takes
the whole set when it changed (`take()`). A challenger's new version that is refused leaves its
previous one in place; a baseline refused (or trimmed) is dropped: the guard compares against
that version only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Generic, Literal, TypeVar

import redis

from lazarus.registry.follower import Follower, Offer
from lazarus.registry.lineup import Lineup
from lazarus.registry.sealing import SealedSnapshot

T = TypeVar("T")

ShadowRole = Literal["challenger", "baseline"]
Slot = tuple[str, ShadowRole]
"""(line, role): one model scored in shadow."""
ShadowOpener = Callable[[SealedSnapshot, str, int, ShadowRole], T]
"""Verify and unpickle a fetched version (sealed, line, version, role); SnapshotRejected to
refuse."""


@dataclass(frozen=True)
class Shadow(Generic[T]):
    """One model scored in shadow: `line` v`version` as `role`, opened."""

    line: str
    role: ShadowRole
    version: int
    opened: T

    @property
    def offer(self) -> Offer:
        return (self.line, self.version)


class LineupFollower(Follower, Generic[T]):
    """Follows `model`'s challengers (each line's `current`) and baseline, opening each with
    `open(sealed, line, version, role)`; `poll_s` seconds between polls."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        model: str,
        open: ShadowOpener[T],
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
            name=name or f"lineup-follower-{model}",
        )
        self._open = open
        self._lines: set[str] = set()
        self._held: dict[Slot, Shadow[T]] = {}
        """What is opened now, by slot (this thread's)."""
        self._ready: tuple[Shadow[T], ...] | None = None

    def take(self) -> tuple[Shadow[T], ...] | None:
        """Every model to score in shadow now, challengers first (by line), when the set
        changed since the last call; None when it did not."""
        with self._lock:
            ready, self._ready = self._ready, None
        return ready

    def channels(self) -> set[str]:
        return {self.channel(self._model), *map(self.channel, self._lines)}

    def holding(self) -> str:
        held = ", ".join(f"{s.line} v{s.version}" for s in self._held.values())
        return f"scoring {held} in shadow" if held else "no shadow models"

    def check(self, client: redis.Redis) -> None:
        """Open what the lineup wants scored in shadow and is new; drop what it no longer wants."""
        lineup = Lineup(client, self._prefix)
        wanted = self.wanted(lineup)
        held = {slot: s for slot, s in self._held.items() if slot in wanted}
        changed = len(held) != len(self._held)
        for slot, version in wanted.items():
            have = held.get(slot)
            if have is not None and have.version == version:
                continue
            line, role = slot
            offer = (line, version)
            opened = None
            if offer not in self.stats.refused_lines:
                opened = self.open_checked(
                    lineup.store,
                    offer,
                    partial(_opening, self._open, line, version, role),
                    f"Not scored in shadow as {self._model}'s {role}",
                )
            if opened is not None:
                held[slot] = Shadow(line, role, version, opened)
                changed = True
            elif role == "baseline" and held.pop(slot, None) is not None:
                changed = True
        if changed:
            self._held = held
            ordered = sorted(held.values(), key=lambda s: (s.role != "challenger", s.line))
            with self._lock:
                self._ready = tuple(ordered)
            self.wakeups.set()

    def wanted(self, lineup: Lineup) -> dict[Slot, int]:
        """The version each slot should score now: every challenger line with a `current`, and
        the baseline if set."""
        lines = lineup.challengers(self._model)
        self._lines = set(lines)
        out: dict[Slot, int] = {}
        for line in lines:
            current = lineup.store.current(line)
            if current is not None:
                out[(line, "challenger")] = current
        baseline = lineup.baseline(self._model)
        if baseline is not None:
            out[(baseline.line, "baseline")] = baseline.version
        return out


def _opening(
    open: ShadowOpener[T], line: str, version: int, role: ShadowRole, sealed: SealedSnapshot
) -> T:
    return open(sealed, line, version, role)
