"""`lazarus.registry.lineup.Lineup` in memory, for unit tests of the quality monitor's
lifecycle decisions and of `lazarus models gate`."""

from __future__ import annotations

import json
from typing import Any

import redis

from lazarus.registry.lineup import Baseline


class MemoryStore:
    def __init__(self, currents: dict[str, int]) -> None:
        self.currents = currents

    def current(self, model: str) -> int | None:
        return self.currents.get(model)


class MemoryLineup:
    """`Lineup`'s behaviour in memory: a champion, challengers, a baseline, a hold, records
    (kept as JSON, as Redis keeps them) and an audit list. `down` makes every call fail as a
    Redis that went away; `writes_fail` only the records' writes."""

    def __init__(self, model: str, currents: dict[str, int], challengers: set[str]) -> None:
        self.model = model
        self._store = MemoryStore(currents)
        self.champ = model
        self.rivals = set(challengers)
        self.base: Baseline | None = None
        self.is_held = False
        self.records: dict[str, dict[str, Any]] = {}
        self.audit: list[dict[str, Any]] = []
        self.down = self.writes_fail = False
        self.rollback_says = "ok"
        self.gens: dict[str, int] = {}

    def _call(self) -> None:
        if self.down:
            raise redis.ConnectionError("Connection refused")

    @property
    def store(self) -> MemoryStore:
        self._call()
        return self._store

    def champion(self, model: str) -> str:
        self._call()
        return self.champ

    def challengers(self, model: str) -> list[str]:
        self._call()
        return sorted(self.rivals - {self.champ})

    def baseline(self, model: str) -> Baseline | None:
        self._call()
        return self.base

    def generations(self, model: str) -> dict[str, int]:
        self._call()
        return dict(self.gens)

    def held(self, model: str) -> bool:
        self._call()
        return self.is_held

    def record(self, model: str, part: str) -> dict[str, Any]:
        self._call()
        return self.records.get(part, {})

    def set_baseline(self, model: str, line: str, version: int) -> None:
        self._call()
        self.base = Baseline(line, version, 0.0)

    def write(self, model: str, part: str, body: dict[str, Any]) -> None:
        self._call()
        if self.writes_fail:
            raise redis.ConnectionError("Connection reset by peer")
        self.records[part] = json.loads(json.dumps(body, default=str))

    def promote(
        self, model: str, line: str, version: int, reason: str, actor: str, evidence: Any = None
    ) -> str:
        self._call()
        previous, self.champ = self.champ, line
        self.rivals = (self.rivals - {line}) | {previous}
        self.is_held = False
        self.audit.append({"action": "promote", "line": line, "version": version,
                           "reason": reason, "actor": actor, "evidence": evidence})  # fmt: skip
        return previous

    def rollback(
        self, model: str, to: Baseline, reason: str, actor: str, evidence: Any = None
    ) -> str:
        self._call()
        if self.rollback_says != "ok":
            return self.rollback_says
        if self._store.currents.get(to.line, 0) > to.version:
            self._store.currents[to.line] = to.version
        if to.line != self.champ:
            self.rivals = (self.rivals - {to.line}) | {self.champ}
            self.champ, self.is_held = to.line, True
        self.audit.append({"action": "rollback", "line": to.line, "version": to.version,
                           "reason": reason, "actor": actor, "evidence": evidence})  # fmt: skip
        return "ok"
