"""How `lazarus status` draws for people (rich tables); `--json` prints `collect()` as is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table

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
    """Everything `collect()` gathered (see `lazarus.cli.status_cmd.collect` for the shape)."""
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


def groups_table(groups: Sequence[Mapping[str, Any]]) -> Table:
    """Consumer groups: `group`, `committed`, `lag` (messages), `lag_seconds`."""
    t = Table("group", "lag", "lag (s)", title="consumer groups")
    for g in groups:
        t.add_row(
            g["group"],
            str(g["lag"]) if g["committed"] else "- (never committed)",
            _age(g["lag_seconds"]),
        )
    return t


def _served(q: Mapping[str, Any] | None) -> str:
    """Served metrics on honest scores with how much worse than prequential they are (the
    decoupling cost, positive when serving loses), e.g. `Accuracy 0.912 (+0.004)`."""
    if not q:
        return "-"
    return ", ".join(
        f"{k} {v:.3f} ({q['served_worse_by'][k]:+.3f})"
        for k, v in q["served"].items()
        if v is not None and q["served_worse_by"].get(k) is not None
    )


def models_table(models: Sequence[Mapping[str, Any]]) -> Table:
    """Models: pointers, learned events, staleness (s), prequential and served metrics."""
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
        preq = ", ".join(f"{k} {v:.3f}" for k, v in m["metrics"].items() if v is not None)
        t.add_row(
            m["model"],
            f"v{m['current']}",
            f"v{m['latest']}",
            f"v{m['pinned']}" if m["pinned"] else "-",
            str(m["n_learned"]),
            _age(m["staleness_s"]),
            preq,
            _served(m["served_quality"]),
        )
    return t


def roles_table(roles: Sequence[Mapping[str, Any]]) -> Table:
    """Live roles from their heartbeats (the `ROLE_FIELDS` of `status_cmd`)."""
    t = Table(
        "role",
        "instance",
        "state",
        "version",
        "events",
        "dead letters",
        "unjoined",
        "metrics",
        title="roles",
    )
    for r in roles:
        t.add_row(
            r["role"] or "",
            r["instance"] or "",
            r["state"] or "",
            r["model_version"] or "-",
            r["events_in"] or r["scored"] or "-",
            r["dead_lettered"] or "0",
            _joins(r),
            r["metrics_url"] or "-",
        )
    return t
