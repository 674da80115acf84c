"""How `lazarus status` draws a model's lifecycle for people: one table per model (the champion
line, each challenger with its paired comparison and verdict, the baseline with the rollback
guard's), and under it whether the lineup is held, the last drift and the last automatic
action. The view is `lazarus.lifecycle_view.lifecycle`; "–" or "none yet" where nothing
happened, never 0."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rich.markup import escape
from rich.table import Table

from lazarus.lag_text import duration
from lazarus.lifecycle_health import HELD
from lazarus.lifecycle_text import comparison_text, judged_text
from lazarus.metric_text import NOTHING

NOT_JUDGED = "not judged yet"


def when(at: float | None, now: float) -> str:
    """`12 m 3 s ago (2026-05-01T12:00:00Z)`; `–` when unknown.

    >>> when(1_700_000_000.0, 1_700_000_125.0)
    '2 m 5 s ago (2023-11-14T22:13:20Z)'
    """
    if at is None:
        return NOTHING
    stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{duration(now - at)} ago ({stamp})"


def _version(v: int | None) -> str:
    return NOTHING if v is None else f"v{v}"


def _verdict(state: str | None, reason: str | None, prefix: str = "") -> str:
    if state is None:
        return NOT_JUDGED
    return f"{prefix}{state}" + (f": {reason}" if reason else "")


def lifecycle_table(model: str, life: Mapping[str, Any], now: float) -> Table:
    """The lifecycle of `model` (`lifecycle_view.lifecycle`): a row per line (champion,
    challengers, baseline), the rest in the caption."""
    metric = life.get("metric")
    at = life.get("judged_at")
    judged = NOT_JUDGED if at is None else f"judged {duration(now - at)} ago"
    t = Table(
        "line",
        "as",
        "version",
        "judged",
        "better by",
        "verdict",
        title=f"lifecycle of {model}" + (f" ({metric}, {judged})" if metric else f" ({judged})"),
        caption="\n".join(escape(line) for line in caption_lines(life, now)),
        caption_justify="left",
    )
    champion = life["champion"]
    t.add_row(champion["line"], "champion", _version(champion["version"]), "", "", "serving")
    for c in life["challengers"]:
        t.add_row(
            c["line"],
            "challenger",
            _version(c["version"]),
            judged_text(c["events"], c["min_events"]),
            comparison_text(c["comparison"]),
            _verdict(c["state"], c["reason"]),
        )
    base, guard = life.get("baseline"), life.get("guard")
    if base or guard:
        g = guard or {}
        t.add_row(
            base["line"] if base else NOTHING,
            "baseline",
            _version(base["version"]) if base else NOTHING,
            judged_text(g.get("events"), g.get("min_events")) if guard else NOTHING,
            comparison_text(g.get("comparison")),
            _verdict(g.get("state"), g.get("reason"), "guard "),
        )
    return t


def caption_lines(life: Mapping[str, Any], now: float) -> list[str]:
    """Under the table: no challengers, held, the last drift, the last automatic action.

    >>> caption_lines({"challengers": [], "held": False, "last_drift": None,
    ...                "last_action": None}, 0.0)
    ['challengers: none', 'last drift: none yet', 'last automatic action: none yet']
    """
    lines = [] if life["challengers"] else ["challengers: none"]
    if life.get("held"):
        lines.append(HELD)
    drift = life.get("last_drift")
    lines.append(
        "last drift: "
        + (
            f"{when(drift['at'], now)} on {drift['line'] or '?'}: {drift['summary']}; "
            f"{drift['did']}"
            if drift
            else "none yet"
        )
    )
    action = life.get("last_action")
    if action:
        moved = f"{action['kind']} {action['line'] or '?'}"
        moved += f" v{action['version']}" if action["version"] is not None else ""
        lines.append(f"last automatic action: {moved}, {when(action['at'], now)}")
        lines.append(f"  evidence: {action['summary']}")
        if action.get("reason"):
            lines.append(f"  reason: {action['reason']}")
    else:
        lines.append("last automatic action: none yet")
    return lines
