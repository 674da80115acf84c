"""How `lazarus models list|history` show rollback reach to people; `--json` skips this."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rich.table import Table

from lazarus.registry.reach import Reach


def age_text(seconds: int) -> str:
    """A duration in its two largest units.

    >>> age_text(45), age_text(725), age_text(18_720), age_text(6 * 86_400 + 7_200)
    ('45s', '12m 5s', '5h 12m', '6d 2h')
    """
    days, rest = divmod(max(0, seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def reach_cell(row: Mapping[str, Any]) -> str:
    """`models list`'s reach column from a row's `oldest_kept` and `oldest_kept_age_s`.

    >>> reach_cell({"oldest_kept": 3, "oldest_kept_age_s": 90_000})
    'v3, 1d 1h ago'
    """
    if row.get("oldest_kept") is None:
        return "-"
    return f"v{row['oldest_kept']}, {age_text(row['oldest_kept_age_s'])} ago"


def kept_table(reach: Reach, now: datetime) -> Table:
    """Every stored version, newest first: when it was made, its age, and why it stays."""
    p = reach.policy
    table = Table(
        "version",
        "created",
        "age",
        "kept because",
        title=f"kept: {len(reach.created)} versions (rollback reach)",
        caption=f"rotation: {p.describe()} (UTC); current, pinned and newest always",
    )
    for version in sorted(reach.created, reverse=True):
        table.add_row(
            f"v{version}",
            reach.created[version].astimezone(UTC).isoformat(timespec="seconds"),
            age_text(reach.age_s(version, now)),
            ", ".join(reach.why[version]),
        )
    return table
