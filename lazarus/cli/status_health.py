"""The `health` of `lazarus status`: `lazarus.health.assess` over what `collect()` gathered,
plus Kafka or Redis being down (failing: nothing else can be judged then) and the models'
automatic rollbacks (`lazarus.lifecycle_health`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from lazarus.health import Health, Reason, assess
from lazarus.health_inputs import from_status, up_roles
from lazarus.lifecycle_health import lifecycle_health
from lazarus.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console


def status_health(data: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """`{"state": "ok" | "degraded" | "failing", "reasons": [...]}` (`Health.as_dict`)."""
    down = [
        Reason("service_down", "failing", name, f"{name} is down: {data[name]['fix']}")
        for name in ("broker", "redis")
        if not data[name]["ok"]
    ]
    expected = (
        up_roles(settings.redis_key_prefix, settings.topic_prefix) if data["redis"]["ok"] else []
    )
    seen = assess(from_status(data, expected=expected, heartbeat_s=settings.heartbeat_seconds))
    seen = lifecycle_health(seen, data["models"], data["at"])
    if down:
        seen = Health("failing", (*down, *seen.reasons))
    return seen.as_dict()


STYLE = {"ok": "green", "degraded": "yellow", "failing": "red"}


def health_lines(health: Mapping[str, Any]) -> list[str]:
    """The first lines of `lazarus status` (rich markup): the state, then one line per reason.

    >>> health_lines({"state": "ok", "reasons": []})
    ['health: [green]ok[/green]']
    >>> health_lines({"state": "failing", "reasons": [{"state": "failing", "text": "x down"}]})
    ['health: [red]failing[/red] (1 reason)', '  [red]failing[/red] x down']
    """
    state = health["state"]
    reasons = health["reasons"]
    head = f"health: [{STYLE[state]}]{state}[/{STYLE[state]}]"
    if reasons:
        head += f" ({len(reasons)} reason{'s' if len(reasons) > 1 else ''})"
    return [
        head,
        *(
            f"  [{STYLE[r['state']]}]{r['state']}[/{STYLE[r['state']]}] {escape(r['text'])}"
            for r in reasons
        ),
    ]


def print_health(c: Console, health: Mapping[str, Any]) -> None:
    for line in health_lines(health):
        c.print(line, highlight=False)
