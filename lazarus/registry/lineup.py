"""A model's lineup in Redis: the champion line scorers serve, the challenger lines they score
in shadow, the baseline the rollback guard compares against, and the lifecycle's records (the
last drift, the last automatic action, the gate report).

A *line* is a registry name with its own versions and `current` (`lazarus.schemas.lifecycle`):
model M's main line is M, its challengers other names. Serving follows `current` of the
champion line; promoting a challenger makes its line the champion (the old champion becomes a
challenger), as one compare-and-set on the champion key, recorded in M's audit stream (the same
stream as `lazarus models promote`, with the line and the evidence) and announced on M's events
channel, so scorers hot-swap. Rolling back within a line is the registry's `move_current(...,
"rollback")` (it pins); rolling back a promotion puts the previous champion back and *holds*
the lineup: no automatic promotion until an operator promotes.

Keys: `keys.lineup_key` (every one under `{prefix}:lineup:{model}:`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis

from lazarus.registry import keys
from lazarus.registry.redis_store import RedisSnapshotStore

LineMove = Literal["promote", "rollback"]


@dataclass(frozen=True)
class Baseline:
    line: str
    version: int
    since: float
    """When it became the baseline (epoch s)."""


class Lineup:
    """The lineup of every model under `prefix` in one Redis. Raises the client's errors
    (`redis.RedisError`, `OSError`) when Redis is away."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._r = client
        self._prefix = prefix
        self.store = RedisSnapshotStore(client, prefix)

    def _key(self, model: str, part: str) -> str:
        return keys.lineup_key(self._prefix, model, part)

    # -- reading ----------------------------------------------------------------------------

    def champion(self, model: str) -> str:
        """The line whose `current` is served on `model`'s score topic (`model` by default)."""
        raw = self._r.get(self._key(model, "champion"))
        return _text(raw) if raw is not None else model

    def challengers(self, model: str) -> list[str]:
        """The challenger lines, sorted, never the champion."""
        champion = self.champion(model)
        members = cast(set[bytes], self._r.smembers(self._key(model, "challengers")))
        return sorted(n for n in map(_text, members) if n != champion)

    def generations(self, model: str) -> dict[str, int]:
        """Line -> how often its model started afresh (a drift's fresh start or reset): a
        line's paired comparisons start again at each new generation."""
        raw = cast(dict[bytes, bytes], self._r.hgetall(self._key(model, "generations")))
        return {_text(k): int(v) for k, v in raw.items()}

    def baseline(self, model: str) -> Baseline | None:
        raw = self._r.get(self._key(model, "baseline"))
        if raw is None:
            return None
        data = json.loads(_text(raw))
        return Baseline(str(data["line"]), int(data["version"]), float(data["since"]))

    def held(self, model: str) -> bool:
        """True after an automatic rollback of a promotion, until an operator promotes."""
        return bool(self._r.exists(self._key(model, "held")))

    def record(self, model: str, part: Literal["drift", "action", "gate"]) -> dict[str, Any]:
        """The last drift, the last automatic action or the gate report ({} before any)."""
        raw = self._r.get(self._key(model, part))
        return {} if raw is None else cast(dict[str, Any], json.loads(_text(raw)))

    # -- writing ----------------------------------------------------------------------------

    def join(self, model: str, line: str) -> None:
        """Enter `line` as a challenger of `model` (a challenger's trainer does, at start)."""
        if line != model:
            self._r.sadd(self._key(model, "challengers"), line)

    def new_generation(self, model: str, line: str) -> int:
        """`line`'s model started afresh; returns its generation (1 the first time)."""
        return int(self._r.hincrby(self._key(model, "generations"), line, 1))

    def leave(self, model: str, line: str) -> None:
        self._r.srem(self._key(model, "challengers"), line)

    def set_baseline(self, model: str, line: str, version: int) -> None:
        """The version the rollback guard compares `current` against; the registry's rotation
        keeps it (`keys.keep_key`) while it is the baseline."""
        before = self.baseline(model)
        body = {"line": line, "version": version, "since": time.time()}
        with self._r.pipeline() as pipe:
            if before is not None and before.line != line:
                pipe.delete(keys.keep_key(self._prefix, before.line))
            pipe.set(keys.keep_key(self._prefix, line), version)
            pipe.set(self._key(model, "baseline"), json.dumps(body))
            pipe.execute()
        self._notify(model, "baseline", line, version)

    def write(
        self, model: str, part: Literal["drift", "action", "gate"], body: dict[str, Any]
    ) -> None:
        self._r.set(self._key(model, part), json.dumps(body, default=str))

    def promote(
        self,
        model: str,
        line: str,
        version: int,
        reason: str,
        actor: str,
        evidence: dict[str, Any] | None = None,
    ) -> str:
        """Make `line` (serving its `current`, `version` now) `model`'s champion, in one
        compare-and-set; the old champion becomes a challenger, the hold is lifted. Returns the
        previous champion line. Recorded in `model`'s audit stream (action 'promote')."""
        champion_key = self._key(model, "champion")
        with self._r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(champion_key)  # type: ignore[no-untyped-call]
                    raw = pipe.get(champion_key)
                    previous = _text(raw) if raw is not None else model
                    pipe.multi()
                    pipe.set(champion_key, line)
                    pipe.srem(self._key(model, "challengers"), line)
                    if previous != line:
                        pipe.sadd(self._key(model, "challengers"), previous)
                    pipe.delete(self._key(model, "held"))
                    pipe.execute()
                    break
                except redis.WatchError:
                    continue
        self._audit(model, "promote", line, version, previous, reason, actor, evidence)
        self._notify(model, "promote", line, version)
        return previous

    def rollback(
        self,
        model: str,
        to: Baseline,
        reason: str,
        actor: str,
        evidence: dict[str, Any] | None = None,
    ) -> str:
        """Serve `to` again and pin it: within the champion line, the registry's rollback of
        `current` (pinned until a promote); to another line (undoing a promotion), that line
        becomes the champion again and the lineup is held (no automatic promotion until an
        operator promotes). Returns what the registry's move said ('ok', 'missing',
        'not_older') or 'ok' for a change of line."""
        champion = self.champion(model)
        outcome = "ok"
        text = json.dumps(evidence or {}, default=str, sort_keys=True)
        current = self.store.current(to.line)
        moved_here = False
        if current is not None and current > to.version:
            outcome, _ = self.store.move_current(
                to.line, to.version, "rollback", reason, actor, evidence=text
            )
            moved_here = outcome == "ok" and to.line == model
        if to.line != champion:
            with self._r.pipeline() as pipe:
                pipe.set(self._key(model, "champion"), to.line)
                pipe.srem(self._key(model, "challengers"), to.line)
                pipe.sadd(self._key(model, "challengers"), champion)
                pipe.set(self._key(model, "held"), "1")
                pipe.execute()
        if not moved_here:  # the registry's move wrote `model`'s entry when it was its line
            self._audit(model, "rollback", to.line, to.version, champion, reason, actor, evidence)
        self._notify(model, "rollback", to.line, to.version)
        return outcome

    def audit(
        self,
        model: str,
        action: str,
        line: str,
        version: int,
        reason: str,
        actor: str,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        """An audit entry that moves nothing (a drift, a reset, an alert): `model`'s history."""
        self._audit(model, action, line, version, self.champion(model), reason, actor, evidence)

    def _audit(
        self,
        model: str,
        action: str,
        line: str,
        version: int,
        previous: str,
        reason: str,
        actor: str,
        evidence: dict[str, Any] | None,
    ) -> None:
        fields = {
            "action": action,
            "version": str(version),
            "previous": previous,
            "line": line,
            "reason": reason,
            "actor": actor,
            "at": f"{time.time():.3f}",
            "evidence": json.dumps(evidence or {}, default=str, sort_keys=True),
        }
        self._r.xadd(
            keys.audit_key(self._prefix, model),
            cast(Any, fields),
            maxlen=1000,
            approximate=True,
        )

    def _notify(self, model: str, action: str, line: str, version: int) -> None:
        note = {"model": model, "action": action, "line": line, "version": version}
        self._r.publish(keys.events_channel(self._prefix, model), json.dumps(note))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
