"""The dashboard's health banner: `lazarus.health.assess` over what `/api/state` holds, with
its lag history (so growth is judged), plus a source (Redis, Kafka) the sampler cannot read
and the models' automatic rollbacks (`lazarus.lifecycle_health`).
Pure: the sampler passes the roles `lazarus up` should have alive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lazarus.health import Health, Reason, assess
from lazarus.health_inputs import from_dashboard, series_points
from lazarus.lifecycle_health import lifecycle_health


def dashboard_health(
    state: Mapping[str, Any], *, expected: Sequence[str] = (), heartbeat_s: float = 1.0
) -> dict[str, Any]:
    """`{"state": "ok" | "degraded" | "failing", "reasons": [...]}` for `state` (the
    `/api/state` dict before `health` is added)."""
    down = [
        Reason("service_down", "failing", name, f"{name} cannot be read: {src['error']}")
        for name, src in (state.get("sources") or {}).items()
        if src.get("error")
    ]
    history = series_points((state.get("lag") or {}).get("series") or {})
    seen = assess(
        from_dashboard(
            state,
            history,
            # roles cannot be read while Redis is down: nothing is known to be missing
            expected=() if any(r.subject == "redis" for r in down) else expected,
            heartbeat_s=heartbeat_s,
        )
    )
    seen = lifecycle_health(seen, state.get("models") or [], state.get("now") or 0.0)
    if down:
        seen = Health("failing", (*down, *seen.reasons))
    return seen.as_dict()
