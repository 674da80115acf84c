"""What `lazarus.health.assess` judges, taken from what `lazarus status` and the dashboard
already gather; and the roles a running `lazarus up` should have alive.

Pure but for `up_roles`, which reads `up`'s runtime file (`lazarus.runtime_file`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lazarus.health import GroupLagFigure, HealthInput, RoleBeat


def from_status(
    data: Mapping[str, Any], *, expected: Sequence[str] = (), heartbeat_s: float = 1.0
) -> HealthInput:
    """From `lazarus.cli.status_cmd.collect()`'s dict. No lag history (one sample), so lag
    is judged by its seconds; a model's inputs flow when a producer runs with events sent or
    one of its groups has lag (None, not judged, when neither says)."""
    now = float(data["at"])
    roles = [RoleBeat.of(r, now) for r in data.get("roles") or []]
    groups = [
        GroupLagFigure(g["group"], g["lag"], g["lag_seconds"], bool(g["committed"]))
        for g in data.get("groups") or []
    ]
    producing = any(
        r.role.startswith("producer:") and r.state == "running" and (r.events_in or 0) > 0
        for r in roles
    )
    flowing: dict[str, bool | None] = {}
    for m in data.get("models") or []:
        lagging = any(g.group.endswith(f".{m['model']}") and (g.lag or 0) > 0 for g in groups)
        flowing[m["model"]] = True if producing or lagging else None
    return HealthInput(
        groups=groups,
        roles=roles,
        model_ages={m["model"]: m["staleness_s"] for m in data.get("models") or []},
        flowing=flowing,
        expected=expected,
        heartbeat_s=heartbeat_s,
    )


def from_dashboard(
    state: Mapping[str, Any],
    history: Mapping[str, Sequence[tuple[float, int | None]]],
    *,
    expected: Sequence[str] = (),
    heartbeat_s: float = 1.0,
) -> HealthInput:
    """From the dashboard's `/api/state` parts (`roles` rows, `lag.groups`, `models`) and its
    lag history (group -> `(epoch s, lag)`). A model's inputs flow when its trainer or
    scorers report events/s above 0 (None before any rate is known)."""
    now = float(state["now"])
    rows = state.get("roles") or []
    groups = [
        GroupLagFigure(g["group"], g["lag"], g["max_age_s"], bool(g["committed"]))
        for g in (state.get("lag") or {}).get("groups") or []
        if g.get("error") is None
    ]
    flowing = {m["model"]: _rate_flows(rows, m["model"]) for m in state.get("models") or []}
    return HealthInput(
        groups=groups,
        lag_history=history,
        roles=[RoleBeat.of(r, now) for r in rows],
        model_ages={m["model"]: m["staleness_s"] for m in state.get("models") or []},
        flowing=flowing,
        expected=expected,
        heartbeat_s=heartbeat_s,
    )


def _rate_flows(rows: Iterable[Mapping[str, Any]], model: str) -> bool | None:
    rates = [
        r.get("events_per_s")
        for r in rows
        if r.get("role") in (f"trainer:{model}", f"scorer:{model}")
    ]
    known = [r for r in rates if r is not None]
    return sum(known) > 0 if known else None


def series_points(series: Mapping[str, Any]) -> dict[str, list[tuple[float, int | None]]]:
    """The dashboard's lag series (`{"at": [epoch s, ...], "groups": {group: [lag, ...]}}`,
    `lazarus.dashboard.lag_view.LagHistory.series`) as group -> `(epoch s, lag)` points.

    >>> series_points({"at": [1.0, 3.0], "groups": {"g": [5, None]}})
    {'g': [(1.0, 5), (3.0, None)]}
    """
    at = series.get("at") or []
    return {
        g: list(zip(at, lags, strict=False)) for g, lags in (series.get("groups") or {}).items()
    }


def heartbeat_names(role_names: Iterable[str]) -> list[str]:
    """The names roles send heartbeats under, from `lazarus up`'s role names: scorer workers
    `scorer:habitat#2` all beat as `scorer:habitat`.

    >>> heartbeat_names(["scorer:habitat#1", "scorer:habitat#2", "trainer:habitat"])
    ['scorer:habitat', 'trainer:habitat']
    """
    return list(dict.fromkeys(name.partition("#")[0] for name in role_names))


def up_roles(redis_key_prefix: str, topic_prefix: str) -> list[str]:
    """The roles that should be alive when a `lazarus up` runs this stack (its runtime file
    names the same Redis key prefix); [] when none does: then only heartbeats that stopped or
    went quiet count as missing. `up` may run without its dashboard or lag exporter, so those
    two are never expected."""
    from lazarus import runtime_file
    from lazarus.roles import demo_roles

    stack = runtime_file.running()
    if stack is None or stack.redis_key_prefix != redis_key_prefix:
        return []
    specs = demo_roles(
        scorers=1, rate=1.0, label_delay=0.0, seed=0, prefix=topic_prefix, lag_exporter=False
    )
    return heartbeat_names(s.name for s in specs)
