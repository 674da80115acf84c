"""Heartbeats as the dashboard shows them: one row per role instance, events/s per role, and
dead letters per role. Pure: no I/O, the rates come from `lazarus.rates.RateTracker`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from lazarus.rates import Key, events_of, key_of, number

ROLE_DETAILS = (
    "group",
    "partitions",
    "scored",
    "swaps",
    "refused",
    "redis_up",
    "unacknowledged",
    "n_learned",
    "pending",
    "outcomes_out",
    "acked",
    "failed",
    "judged",
    "waiting_scores",
    "waiting_labels",
    "metrics_url",
)
"""Heartbeat fields shown beside a role when present (each role reports its own)."""


def integer(value: Any) -> int | None:
    """A heartbeat field as an int (`"12.0"` -> 12), None when missing or not a number."""
    f = number(value)
    return None if f is None else int(f)


def served_shards(text: str | None) -> dict[int, int]:
    """A per-key scorer's `served_shards` heartbeat field as partition -> version.

    >>> served_shards("0:v3,1:v12"), served_shards(None)
    ({0: 3, 1: 12}, {})
    """
    out: dict[int, int] = {}
    for part in (text or "").split(","):
        partition, _, version = part.partition(":v")
        if partition.isdigit() and version.isdigit():
            out[int(partition)] = int(version)
    return out


def display_state(beat: Mapping[str, str]) -> str:
    """The state to show: a running scorer is "serving" once it has a model, else waiting."""
    state = beat.get("state") or "unknown"
    if state == "running" and beat.get("role", "").startswith("scorer:"):
        serving = beat.get("model_version") or beat.get("served_shards")  # a per-key scorer's
        return "serving" if serving else "waiting for a snapshot"
    return state


def role_row(beat: Mapping[str, str], rate: float | None, now: float) -> dict[str, Any]:
    """One heartbeat as a row: ages in seconds against `now` (epoch s), `rate` in events/s."""
    role, instance = key_of(beat)
    kind, _, target = role.partition(":")
    updated, started = number(beat.get("updated_at")), number(beat.get("started_at"))
    events = events_of(beat)
    return {
        "role": role,
        "kind": kind,
        "target": target,
        "instance": instance,
        "host": beat.get("host", ""),
        "pid": integer(beat.get("pid")),
        "state": display_state(beat),
        "events": None if events is None else int(events),
        "events_per_s": rate,
        "model_version": integer(beat.get("model_version")),
        "served_shards": served_shards(beat.get("served_shards")),
        "dead_lettered": integer(beat.get("dead_lettered")) or 0,
        "beat_age_s": None if updated is None else max(0.0, now - updated),
        "uptime_s": None if started is None else max(0.0, now - started),
        "details": {k: beat[k] for k in ROLE_DETAILS if beat.get(k) not in (None, "")},
    }


def role_rows(
    beats: Iterable[Mapping[str, str]], rates: Mapping[Key, float | None], now: float
) -> list[dict[str, Any]]:
    """One row per live role instance, sorted by role and instance."""
    rows = [role_row(beat, rates.get(key_of(beat)), now) for beat in beats]
    return sorted(rows, key=lambda r: (r["role"], r["instance"]))


def throughput(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Events/s per role, summed over its instances (None until one has two heartbeats)."""
    by_role: dict[str, list[float | None]] = {}
    for row in rows:
        by_role.setdefault(row["role"], []).append(row["events_per_s"])
    out = []
    for role in sorted(by_role):
        known = [r for r in by_role[role] if r is not None]
        out.append(
            {
                "role": role,
                "instances": len(by_role[role]),
                "events_per_s": sum(known) if known else None,
            }
        )
    return out


def dead_letters(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Dead-lettered events per role, summed over its live instances."""
    counts: Counter[str] = Counter()
    for row in rows:
        counts[row["role"]] += int(row["dead_lettered"] or 0)
    return [{"role": role, "dead_lettered": counts[role]} for role in sorted(counts)]
