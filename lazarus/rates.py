"""Events/s per role instance from its heartbeats: the delta of its work counter over the
delta of its own `updated_at`. Shared by `lazarus up`'s table and the dashboard."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str]
"""A role instance: (role, instance)."""


def number(value: Any) -> float | None:
    """A finite float from a heartbeat field ("" and garbage are None)."""
    if value is None or value == "":
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def events_of(beat: Mapping[str, str]) -> float | None:
    """The counter a role's throughput is measured on: events out (producers) or events in
    (trainers, scorers)."""
    for name in ("events_out", "events_in"):
        value = number(beat.get(name))
        if value is not None:
            return value
    return None


def key_of(beat: Mapping[str, str]) -> Key:
    return (beat.get("role", ""), beat.get("instance", ""))


@dataclass(frozen=True)
class Reading:
    """One heartbeat's counter, at the role's own clock."""

    at: float
    count: float


def rate_between(prev: Reading, cur: Reading) -> float | None:
    """Events/s between two readings of one role's counter. None when the role's clock did not
    advance or the counter went back (a restarted role reusing its instance name)."""
    elapsed = cur.at - prev.at
    if elapsed <= 0 or cur.count < prev.count:
        return None
    return (cur.count - prev.count) / elapsed


class RateTracker:
    """Events/s per role instance from successive heartbeats: the delta of its counter over the
    delta of its `updated_at`. A heartbeat seen twice changes nothing; a stopped role is at 0;
    roles whose heartbeat expired are forgotten."""

    def __init__(self) -> None:
        self._last: dict[Key, Reading] = {}
        self._rate: dict[Key, float] = {}

    def update(self, beats: Iterable[Mapping[str, str]]) -> dict[Key, float | None]:
        out: dict[Key, float | None] = {}
        for beat in beats:
            key = key_of(beat)
            at, count = number(beat.get("updated_at")), events_of(beat)
            if at is None or count is None:
                out[key] = None
                continue
            cur = Reading(at, count)
            prev = self._last.get(key)
            if prev is None or cur.at > prev.at:
                if prev is not None:
                    rate = rate_between(prev, cur)
                    if rate is None:
                        self._rate.pop(key, None)
                    else:
                        self._rate[key] = rate
                self._last[key] = cur
            out[key] = 0.0 if beat.get("state") == "stopped" else self._rate.get(key)
        for gone in set(self._last) - set(out):
            del self._last[gone]
            self._rate.pop(gone, None)
        return out
