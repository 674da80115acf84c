"""A model's lifecycle as `lazarus status` and the dashboard show it: the champion line and its
current version, each challenger with its paired comparison (events judged of the promotion
policy's minimum, the difference and its interval, the verdict), the baseline with the rollback
guard's standing, whether the lineup is held, the last drift and what it did, and the last
automatic action with its evidence.

`LineupRecords.read` is the one reading (through a `lazarus.registry.lineup.Lineup`;
`read_lifecycles` reads every model's); the rest is pure over what it read: `lifecycle()` the view (plain JSON values, times in epoch seconds,
None where nothing happened yet, never 0) and `line_owners()` which registry names are lines of
another model (`lazarus.lifecycle_health`: what health makes of it). Records are read tolerantly:
a model with no lineup has itself as champion and no challengers, and a record with a key
missing or unreadable leaves that part None.

>>> view = lifecycle(LineupRecords("habitat", "habitat", 3, {}, None, False, {}, {}, {}))
>>> view["champion"], view["challengers"], view["last_drift"], view["last_action"]
({'line': 'habitat', 'version': 3}, [], None, None)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from lazarus.lifecycle_text import count, did_text, drift_text, evidence_text, number
from lazarus.registry.lineup import Baseline
from lazarus.schemas.lifecycle import FRESH
from lazarus.schemas.per_key import split_shard

T = TypeVar("T")
Part = Literal["drift", "action", "gate"]

UNREADABLE = (ValueError, KeyError, TypeError)
"""What a malformed lineup record raises as it is parsed (JSON, a missing or mistyped key)."""


class CurrentReader(Protocol):
    def current(self, model: str) -> int | None: ...


class LineupReader(Protocol):
    """What `LineupRecords.read` uses of `lazarus.registry.lineup.Lineup`."""

    @property
    def store(self) -> CurrentReader: ...
    def champion(self, model: str) -> str: ...
    def challengers(self, model: str) -> list[str]: ...
    def baseline(self, model: str) -> Baseline | None: ...
    def held(self, model: str) -> bool: ...
    def record(self, model: str, part: Part) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LineupRecords:
    """A model's lineup as read: the champion line and the version it serves (`served`, its
    `current`), each challenger line's `current`, the baseline, the hold, and the last drift,
    last automatic action and gate report ({} before any)."""

    model: str
    champion: str
    served: int | None
    challengers: dict[str, int | None]
    baseline: Baseline | None
    held: bool
    drift: dict[str, Any]
    action: dict[str, Any]
    gate: dict[str, Any]

    @classmethod
    def read(cls, lineup: LineupReader, model: str) -> LineupRecords:
        """`model`'s lineup; raises the Redis client's errors, never a malformed record's."""
        store = lineup.store
        champion = lineup.champion(model)
        return cls(
            model=model,
            champion=champion,
            served=store.current(champion),
            challengers={line: store.current(line) for line in lineup.challengers(model)},
            baseline=_tolerant(lambda: lineup.baseline(model), None),
            held=lineup.held(model),
            drift=_tolerant(lambda: lineup.record(model, "drift"), {}),
            action=_tolerant(lambda: lineup.record(model, "action"), {}),
            gate=_tolerant(lambda: lineup.record(model, "gate"), {}),
        )


def read_lifecycles(lineup: LineupReader, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Registry name -> `{"line_of": ..., "lifecycle": ...}` for each of `names` (the registry's
    models): a line of another model names that model and has no lifecycle of its own; a model
    has its `lifecycle()`. Raises the Redis client's errors."""
    records = {name: LineupRecords.read(lineup, name) for name in names}
    owners = line_owners(records, names)
    return {
        name: {
            "line_of": owners.get(name),
            "lifecycle": None if name in owners else lifecycle(records[name]),
        }
        for name in names
    }


def _tolerant(read: Callable[[], T], default: T) -> T:
    try:
        return read()
    except UNREADABLE:
        return default


def lifecycle(r: LineupRecords) -> dict[str, Any]:
    """The view of one model's lifecycle (the shape `ModelLifecycle` of
    `lazarus.cli.json_lifecycle` describes). Challengers are the lineup's, sorted; the gate
    report (the quality monitor's, `judged_at`) gives their standing, None before it judged
    them."""
    gate = r.gate
    policy = _dict(gate.get("policy"))
    promotion, guard = _dict(policy.get("promotion")), _dict(policy.get("guard"))
    entries = {str(e.get("line")): e for e in _list(gate.get("challengers")) if isinstance(e, dict)}
    min_events = count(promotion.get("min_events"))
    return {
        "champion": {"line": r.champion, "version": r.served},
        "challengers": [
            standing(line, version, entries.get(line), min_events)
            for line, version in sorted(r.challengers.items())
        ],
        "baseline": None
        if r.baseline is None
        else {"line": r.baseline.line, "version": r.baseline.version, "since": r.baseline.since},
        "guard": guard_standing(_dict(gate.get("guard")), guard),
        "held": r.held,
        "metric": _text(gate.get("metric")),
        "judged_at": number(gate.get("at")),
        "last_drift": drift_view(r.drift),
        "last_action": action_view(r.action),
    }


def standing(
    line: str, version: int | None, entry: Mapping[str, Any] | None, min_events: int | None
) -> dict[str, Any]:
    """A challenger line: its `current`, and from its gate `entry` (None: not judged yet) the
    events judged, the comparison with the champion and the verdict (`waiting`, `promote`,
    `hold`, `off`) with its reason."""
    e = entry or {}
    return {
        "line": line,
        "version": version if version is not None else count(e.get("version")),
        "events": count(e.get("events")),
        "min_events": min_events,
        "comparison": comparison(e.get("comparison")),
        "state": _text(e.get("state")),
        "reason": _text(e.get("reason")),
    }


def guard_standing(g: Mapping[str, Any], policy: Mapping[str, Any]) -> dict[str, Any] | None:
    """The rollback guard: what is served against the baseline (`comparison`: how much better
    the served version is), its state (`idle`, `waiting`, `rollback`, `cleared`, `off`) and
    reason; None before the quality monitor reported it."""
    if not g:
        return None
    served = _dict(g.get("served"))
    return {
        "state": _text(g.get("state")),
        "reason": _text(g.get("reason")),
        "served": {"line": str(served["line"]), "version": count(served.get("version"))}
        if served.get("line")
        else None,
        "events": count(g.get("events")),
        "min_events": count(policy.get("min_events")),
        "max_events": count(policy.get("max_events")),
        "comparison": comparison(g.get("comparison")),
    }


def comparison(c: Any) -> dict[str, Any] | None:
    """A paired comparison's figures (`quality.paired.Comparison.as_dict`), None without one."""
    if not isinstance(c, dict) or number(c.get("difference")) is None:
        return None
    return {
        "n": count(c.get("n")),
        "metric": _text(c.get("metric")),
        "champion": number(c.get("champion")),
        "challenger": number(c.get("challenger")),
        "difference": number(c.get("difference")),
        "low": number(c.get("low")),
        "high": number(c.get("high")),
        "confidence": number(c.get("confidence")),
        "method": _text(c.get("method")),
        "p_value": number(c.get("p_value")),
    }


def drift_view(d: Mapping[str, Any]) -> dict[str, Any] | None:
    """The last drift (a `DriftEvent`'s JSON): when, on which line, its source, detector and
    feature, what it did, its figures and a one-line `summary`; None before any."""
    if not d:
        return None
    return {
        "at": epoch(d.get("detected_at") or d.get("event_time")),
        "line": _text(d.get("line")),
        "source": _text(d.get("source")),
        "detector": _text(d.get("detector")),
        "feature": _text(d.get("feature")),
        "action": _text(d.get("action")),
        "did": did_text(d),
        "n_seen": count(d.get("n_seen")),
        "error_before": number(d.get("error_before")),
        "error_after": number(d.get("error_after")),
        "statistic": number(d.get("statistic")),
        "p_value": number(d.get("p_value")),
        "summary": drift_text(d),
    }


def action_view(a: Mapping[str, Any]) -> dict[str, Any] | None:
    """The last automatic action: its kind (`promote`, `rollback` by the quality monitor;
    `challenger`, `reset` by a trainer on a drift), when, the line and version it moved to, why,
    and its evidence with a one-line `summary`; None before any."""
    if not a:
        return None
    evidence = _dict(a.get("evidence"))
    return {
        "kind": _text(a.get("kind")) or "?",
        "at": epoch(a.get("at")),
        "line": _text(a.get("line")),
        "version": count(a.get("version")),
        "reason": _text(a.get("reason")),
        "summary": evidence_text(evidence),
        "evidence": json.loads(json.dumps(evidence, default=str)),
    }


def line_owners(records: Mapping[str, LineupRecords], names: Iterable[str]) -> dict[str, str]:
    """Registry name -> the model it is a line of (its champion line, a challenger, the
    drift-born `M.fresh`, or a per-key model's shard `M.shardP`), for every name that is a line of a model other than itself. A model
    that owns lines is never itself counted a line (a lineup that names its models both ways).

    >>> r = LineupRecords("habitat", "habitat_fast", 8, {"habitat": 12}, None, False, {}, {}, {})
    >>> line_owners({"habitat": r}, ["habitat", "habitat.fresh", "habitat_fast", "viability"])
    {'habitat_fast': 'habitat', 'habitat.fresh': 'habitat'}
    >>> line_owners({}, ["habitat_sites.shard0"])
    {'habitat_sites.shard0': 'habitat_sites'}
    """
    known = set(names) | set(records)
    owners: dict[str, str] = {}
    for model, r in sorted(records.items()):
        for line in (r.champion, *r.challengers):
            if line != model:
                owners.setdefault(line, model)
    for name in sorted(known):
        base, dot, tail = name.rpartition(".")
        if dot and tail == FRESH and base in known:
            owners.setdefault(name, base)
        shard = split_shard(name)  # a per-key model's shard: its model has no line of its own
        if shard is not None:
            owners.setdefault(name, shard[0])
    return {line: model for line, model in owners.items() if model not in owners}


def epoch(value: Any) -> float | None:
    """Epoch seconds from a record's time: a number, or ISO 8601 text (UTC when naive).

    >>> epoch("2023-11-14T22:13:20+00:00"), epoch(1700000000), epoch("soon")
    (1700000000.0, 1700000000.0, None)
    """
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return number(value)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return number(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
