"""What `lazarus.health.assess` judges: consumer lag now, heartbeats, the current versions'
ages, whether each model's inputs flow, and the roles that should be alive. Plain values:
`lazarus.health_inputs` builds them from what `lazarus status` and the dashboard gather."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
class CountWindow:
    """A role's inputs and dead letters over its last `span_s` seconds (the dashboard's
    history of its heartbeats)."""

    span_s: float
    events_in: int
    dead_lettered: int


@dataclass(frozen=True)
class RoleBeat:
    """What health reads from one heartbeat. Counts are totals since the role started; the
    `*_age_s` are seconds before now (None: never, or not reported): the last refused snapshot
    version (scorers), the last time the trainer learned and read, the role's start; `window`:
    its inputs and dead letters over a recent window (None: only the totals are known)."""

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
    refused_age_s: float | None = None
    learned_age_s: float | None = None
    read_age_s: float | None = None
    uptime_s: float | None = None
    window: CountWindow | None = None

    @classmethod
    def of(cls, beat: Mapping[str, Any], now: float) -> RoleBeat:
        """From a heartbeat (text fields as Redis holds them, or numbers), or a dashboard role
        row (`beat_age_s`, `uptime_s`, `details`, `window`). Times are epoch seconds or ISO
        8601. Producers' `events_out` counts as their input."""
        flat = {**(beat.get("details") or {}), **beat}
        age = _number(flat.get("beat_age_s"))
        if age is None:
            age = _age(flat.get("updated_at"), now)
        uptime = _number(flat.get("uptime_s"))
        if uptime is None:
            uptime = _age(flat.get("started_at"), now)
        window = flat.get("window")
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
            refused_age_s=_age(flat.get("last_refused_at"), now),
            learned_age_s=_age(flat.get("last_learned_at"), now),
            read_age_s=_age(flat.get("last_read_at"), now),
            uptime_s=uptime,
            window=CountWindow(**window) if isinstance(window, Mapping) else None,
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


def _age(value: Any, now: float) -> float | None:
    """Seconds from a time (epoch seconds or ISO 8601; None, "" and garbage: None) to `now`.

    >>> _age("1700000000.5", 1700000010.0), _age("2023-11-14T22:13:10+00:00", 1700000000.0)
    (9.5, 10.0)
    """
    at = _number(value)
    if at is None and isinstance(value, str) and value:
        try:
            at = datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None if at is None else max(0.0, now - at)


def _int(value: Any) -> int | None:
    f = _number(value)
    return None if f is None else int(f)
