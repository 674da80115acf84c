"""How `lazarus status` draws for people (rich tables); `--json` prints `collect()` as is."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table

from lazarus.cli.lifecycle_render import lifecycle_table
from lazarus.cli.status_health import print_health
from lazarus.lag_text import group_note, lag_cell
from lazarus.metric_text import metric_text
from lazarus.schemas.per_key import split_shard

if TYPE_CHECKING:
    from rich.console import Console


def _age(seconds: float | None) -> str:
    """A duration for a table cell: `45s`, `12m`, `3.5h`; `-` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def _joins(role: Mapping[str, Any]) -> str:
    """A trainer's unjoined counts, e.g. `expired 3 · unmatched 1 · waiting 5`; `-` for others."""
    parts = [
        f"{label} {role[key]}"
        for key, label in (
            ("unjoined_expired", "expired"),
            ("unjoined_evicted", "evicted"),
            ("unjoined_unmatched", "unmatched"),
            ("waiting_outcomes", "waiting"),
        )
        if role.get(key) not in (None, "", "0", 0)
    ]
    if parts:
        return " · ".join(parts)
    return "all joined" if role.get("unjoined_expired") is not None else "-"


def print_status(c: Console, data: Mapping[str, Any]) -> None:
    """Everything `collect()` gathered (see `lazarus.cli.status_cmd.collect` for the shape),
    health first."""
    if data.get("health"):
        print_health(c, data["health"])
    for name in ("broker", "redis"):
        svc = data[name]
        where = svc.get("bootstrap") or svc.get("url")
        c.print(
            f"{name}: "
            + (
                f"[green]ok[/green] {where}"
                if svc["ok"]
                else f"[red]down[/red] {where}: {svc['fix']}"
            ),
            highlight=False,
        )
    if data["groups"]:
        c.print(groups_table(data["groups"]))
    if data["models"]:
        c.print(models_table(data["models"]))
        for m in data["models"]:
            if m.get("lifecycle"):
                c.print(lifecycle_table(m["model"], m["lifecycle"], data["at"]))
    else:
        c.print("models: none published yet", highlight=False)
    if data["roles"]:
        c.print(roles_table(data["roles"]))
    else:
        c.print("roles: none alive", highlight=False)
    dl = data["dead_letters"]
    c.print(f"dead letters: {'-' if dl is None else dl} (`lazarus dlq inspect`)", highlight=False)
    c.print(
        f"at {datetime.fromtimestamp(data['at'], UTC).isoformat(timespec='seconds')}",
        highlight=False,
    )


def groups_table(groups: Sequence[Mapping[str, Any]], now: float | None = None) -> Table:
    """Consumer groups: `group`, `committed`, `lag` (messages), `lag_exact` (False: a lower
    bound, shown `≥N`; absent: exact), `lag_seconds`, `sampled_at` (epoch s). A group that
    never committed shows the whole log as its lag and says so; a figure sampled more than
    `STALE_AFTER_S` before `now` shows its age."""
    now = time.time() if now is None else now
    t = Table("group", "lag", "lag (s)", title="consumer groups")
    for g in groups:
        exact = g.get("lag_exact", True)
        unknown = g["lag_seconds"] is None and (g["lag"] > 0 or not exact)
        note = group_note(g["committed"], g["lag"])
        t.add_row(
            g["group"],
            lag_cell(g["lag"], note, g.get("sampled_at"), now, exact),
            "age unknown" if unknown else _age(g["lag_seconds"]),
        )
    return t


def _served(q: Mapping[str, Any] | None) -> str:
    """Served metrics on honest scores with how much worse than prequential they are (the
    decoupling cost, positive when serving loses), e.g. `Accuracy 0.912 (+0.004)`; `–` where
    nothing was measured."""
    if not q:
        return "-"
    return ", ".join(
        f"{k} {metric_text(v, 3)} ({metric_text(q['served_worse_by'].get(k), 3, signed=True)})"
        for k, v in q["served"].items()
    )


def _name(m: Mapping[str, Any], models: Sequence[Mapping[str, Any]]) -> str:
    """A model's name; a line of another model's says which and what it is there."""
    owner = m.get("line_of")
    if not owner:
        champion = ((m.get("lifecycle") or {}).get("champion") or {}).get("line", m["model"])
        return m["model"] if champion == m["model"] else f"{m['model']} ({champion} serves)"
    shard = split_shard(m["model"])
    if shard is not None:
        return f"{m['model']} (shard {shard[1]} of {owner})"
    life = next((o.get("lifecycle") for o in models if o["model"] == owner), None) or {}
    role = "champion" if (life.get("champion") or {}).get("line") == m["model"] else "challenger"
    return f"{m['model']} ({role} of {owner})"


def models_table(models: Sequence[Mapping[str, Any]]) -> Table:
    """Models: pointers, learned events, staleness (s), prequential and served metrics; a line
    of another model (`line_of`) names it and its part there."""
    t = Table(
        "model",
        "current",
        "latest",
        "pinned",
        "learned",
        "staleness",
        "prequential",
        "served (worse by)",
        title="models",
    )
    for m in models:
        preq = ", ".join(f"{k} {metric_text(v, 3)}" for k, v in m["metrics"].items())
        t.add_row(
            _name(m, models),
            f"v{m['current']}",
            f"v{m['latest']}",
            f"v{m['pinned']}" if m["pinned"] else "-",
            str(m["n_learned"]),
            _age(m["staleness_s"]),
            preq,
            _served(m["served_quality"]),
        )
    return t


def _events(role: Mapping[str, Any]) -> str:
    """A role's work: events read (trainers), scored (scorers), or a producer's events sent
    with its outcomes apart, e.g. `1200 (+1180 outcomes)`; `-` when it reports none."""
    events = role.get("events_in") or role.get("scored") or role.get("events_out")
    if not events:
        return "-"
    outcomes = role.get("outcomes_out")
    return f"{events} (+{outcomes} outcomes)" if outcomes not in (None, "") else str(events)


def _version(role: Mapping[str, Any]) -> str:
    """The version a role serves; a sharded trainer's shards; a per-key scorer's held ones."""
    parts = [str(role["model_version"])] if role.get("model_version") else []
    if role.get("owned"):
        parts.append(f"shards {role['owned']}")
    if role.get("served_shards"):
        parts.append(f"shards {role['served_shards']}")
    if role.get("held"):
        parts.append(f"held {role['held']}")
    return " · ".join(parts) or "-"


def roles_table(roles: Sequence[Mapping[str, Any]]) -> Table:
    """Live roles from their heartbeats (the `ROLE_FIELDS` of `status_cmd`). Role and instance
    are never cut, however narrow the terminal: they tell instances apart."""
    t = Table(title="roles")
    for name in ("role", "instance"):
        t.add_column(
            name, no_wrap=True, min_width=max((len(r[name] or "") for r in roles), default=0)
        )
    for name in ("state", "version", "events", "dead letters", "unjoined", "metrics"):
        t.add_column(name)
    for r in roles:
        t.add_row(
            r["role"] or "",
            r["instance"] or "",
            r["state"] or "",
            _version(r),
            _events(r),
            r["dead_lettered"] or "0",
            _joins(r),
            r["metrics_url"] or "-",
        )
    return t
