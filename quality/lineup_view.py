"""What the quality monitor uses of a model's lineup (`lazarus.registry.lineup.Lineup`, or an
in-memory stand-in in unit tests), and the lineup as one cycle reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from lazarus.registry.lineup import Baseline

Part = Literal["drift", "action", "gate"]


class CurrentReader(Protocol):
    def current(self, model: str) -> int | None: ...


class LineupPort(Protocol):
    """`Lineup`'s methods the controller calls; each may raise the Redis client's errors."""

    @property
    def store(self) -> CurrentReader: ...
    def champion(self, model: str) -> str: ...
    def challengers(self, model: str) -> list[str]: ...
    def baseline(self, model: str) -> Baseline | None: ...
    def generations(self, model: str) -> dict[str, int]: ...
    def held(self, model: str) -> bool: ...
    def set_baseline(self, model: str, line: str, version: int) -> None: ...
    def write(self, model: str, part: Part, body: dict[str, Any]) -> None: ...
    def promote(
        self,
        model: str,
        line: str,
        version: int,
        reason: str,
        actor: str,
        evidence: dict[str, Any] | None = None,
    ) -> str: ...
    def rollback(
        self,
        model: str,
        to: Baseline,
        reason: str,
        actor: str,
        evidence: dict[str, Any] | None = None,
    ) -> str: ...


@dataclass(frozen=True)
class View:
    """A model's lineup as read at the start of a cycle; versions are each line's `current`
    (None: the line has none)."""

    champion: str
    served: int | None
    challengers: dict[str, int | None]
    baseline: Baseline | None
    held: bool
    generations: dict[str, int]
    """Line -> how often its model started afresh (`Lineup.generations`)."""

    @classmethod
    def read(cls, lineup: LineupPort, model: str) -> View:
        store = lineup.store
        champion = lineup.champion(model)
        return cls(
            champion=champion,
            served=store.current(champion),
            challengers={line: store.current(line) for line in lineup.challengers(model)},
            baseline=lineup.baseline(model),
            held=lineup.held(model),
            generations=lineup.generations(model),
        )
