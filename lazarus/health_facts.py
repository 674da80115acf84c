"""What `lazarus.health.assess` judges: consumer lag now, heartbeats, the current versions'
ages, whether each model's inputs flow, and the roles that should be alive. Plain values:
`lazarus.health_inputs` builds them from what `lazarus status` and the dashboard gather."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GroupLagFigure:
    """A consumer group's lag now: messages, the oldest unconsumed message's age (s, None:
    unknown), and whether it ever committed (a group that never did counts the whole log)."""

    group: str
    lag: int | None
    lag_seconds: float | None
    committed: bool = True


@dataclass(frozen=True)
class RoleBeat:
    """What health reads from one heartbeat (counts are totals since the role started)."""

    role: str
    instance: str = ""
    state: str = "running"
    beat_age_s: float | None = None
    events_in: int | None = None
    n_learned: int | None = None
    dead_lettered: int | None = None
    refused: int | None = None
    unjoined_expired: int | None = None
    unjoined_evicted: int | None = None
    model_version: int | None = None

    @classmethod
    def of(cls, beat: Mapping[str, Any], now: float) -> RoleBeat:
        """From a heartbeat (text fields as Redis holds them, or numbers), or a dashboard role
        row (`beat_age_s`, `details`). Producers' `events_out` counts as their input."""
        flat = {**(beat.get("details") or {}), **beat}
        updated = _number(flat.get("updated_at"))
        age = _number(flat.get("beat_age_s"))
        if age is None and updated is not None:
            age = max(0.0, now - updated)
        ints = {
            k: _int(flat.get(k))
            for k in (
                "n_learned",
                "dead_lettered",
                "refused",
                "unjoined_expired",
                "unjoined_evicted",
                "model_version",
            )
        }
        events = _int(flat.get("events_in"))
        if events is None:
            events = _int(flat.get("events_out")) or _int(flat.get("events"))
        return cls(
            role=str(flat.get("role") or "?"),
            instance=str(flat.get("instance") or ""),
            state=str(flat.get("state") or "running"),
            beat_age_s=age,
            events_in=events,
            **ints,
        )


@dataclass(frozen=True)
class HealthInput:
    """Everything `assess` judges. `lag_history`: group -> `(epoch s, lag)` oldest first
    (the dashboard's; empty for `status`); `model_ages`: model -> age of its current version
    (s); `flowing`: model -> its inputs flow (True), not (False) or unknown (None, not
    judged); `expected`: role names that should send heartbeats (those of `lazarus up`)."""

    groups: Sequence[GroupLagFigure] = ()
    lag_history: Mapping[str, Sequence[tuple[float, int | None]]] = field(default_factory=dict)
    roles: Sequence[RoleBeat] = ()
    model_ages: Mapping[str, float | None] = field(default_factory=dict)
    flowing: Mapping[str, bool | None] = field(default_factory=dict)
    expected: Sequence[str] = ()
    heartbeat_s: float = 1.0


def _number(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    f = _number(value)
    return None if f is None else int(f)
