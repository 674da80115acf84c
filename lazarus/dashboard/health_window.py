"""What the dashboard's health judges over a window rather than since a role started: each
role instance's inputs and dead letters over its last `DEAD_LETTER_WINDOW_S` of heartbeats,
and the times roles beat (a scorer's last refusal, when a trainer last learned and read).
Pure: the sampler feeds it the heartbeats it reads."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from lazarus.health import DEAD_LETTER_WINDOW_S
from lazarus.rates import Key, events_of, key_of, number

HEALTH_TIMES = ("started_at", "last_refused_at", "last_learned_at", "last_read_at")
"""Heartbeat times health reads (epoch s), carried onto the dashboard's role rows."""


class CountWindows:
    """Each role instance's inputs (`events_of`) and dead letters over the last `span_s`
    seconds of its heartbeats, by its own `updated_at`. A counter going back (a restarted
    role reusing its instance name) starts its window again; roles whose heartbeat expired
    are forgotten.

    >>> w = CountWindows(span_s=60.0)
    >>> beat = {"role": "scorer:m", "instance": "h"}
    >>> _ = w.update([beat | {"updated_at": "0", "events_in": "0", "dead_lettered": "0"}])
    >>> _ = w.update([beat | {"updated_at": "30", "events_in": "500", "dead_lettered": "90"}])
    >>> w.update([beat | {"updated_at": "90", "events_in": "1500", "dead_lettered": "95"}])
    {('scorer:m', 'h'): {'span_s': 60.0, 'events_in': 1000, 'dead_lettered': 5}}
    """

    def __init__(self, span_s: float = DEAD_LETTER_WINDOW_S) -> None:
        self.span_s = span_s
        self._seen: dict[Key, deque[tuple[float, float, float]]] = {}

    def update(self, beats: Iterable[Mapping[str, str]]) -> dict[Key, dict[str, Any] | None]:
        """Role instance -> `{"span_s", "events_in", "dead_lettered"}` over its window (span 0
        with one heartbeat seen), or None when its heartbeat has no time or no counter."""
        out: dict[Key, dict[str, Any] | None] = {}
        for beat in beats:
            key = key_of(beat)
            at, events = number(beat.get("updated_at")), events_of(beat)
            if at is None or events is None:
                out[key] = None
                continue
            dead = number(beat.get("dead_lettered")) or 0.0
            seen = self._seen.setdefault(key, deque())
            if seen and (events < seen[-1][1] or dead < seen[-1][2]):
                seen.clear()
            if not seen or at > seen[-1][0]:
                seen.append((at, events, dead))
            newest = seen[-1]
            # keep the newest reading at or before the window's start: the window spans it
            while len(seen) > 1 and seen[1][0] <= newest[0] - self.span_s:
                seen.popleft()
            first = seen[0]
            out[key] = {
                "span_s": newest[0] - first[0],
                "events_in": int(newest[1] - first[1]),
                "dead_lettered": int(newest[2] - first[2]),
            }
        for gone in set(self._seen) - set(out):
            del self._seen[gone]
        return out


def with_health_facts(
    rows: Iterable[dict[str, Any]],
    beats: Iterable[Mapping[str, str]],
    windows: Mapping[Key, dict[str, Any] | None],
) -> None:
    """Add to each role row (in place) its `window` and the `HEALTH_TIMES` its heartbeat
    holds (`lazarus.health_facts.RoleBeat.of` reads both)."""
    by_key = {key_of(b): b for b in beats}
    for row in rows:
        key = (row["role"], row["instance"])
        beat = by_key.get(key, {})
        row["window"] = windows.get(key)
        for name in HEALTH_TIMES:
            row[name] = number(beat.get(name))
