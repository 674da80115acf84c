"""What health makes of the models' lifecycles (`lazarus.lifecycle_view.lifecycle`), for
`lazarus status` and the dashboard alike: an automatic rollback degrades health for an hour (as
long as the alert LazarusAutomaticRollback fires), and for as long as it holds the lineup. Pure.

>>> life = {"held": False, "last_action": {"kind": "rollback", "at": 1000.0, "line": "habitat",
...         "version": 11, "reason": "rollback guard: served worse by 0.05 on 400 events"}}
>>> [r.text for r in lifecycle_reasons([{"model": "habitat", "lifecycle": life}], 1300.0)]
['habitat was rolled back automatically 5 m 0 s ago, to habitat v11 (rollback guard: served worse by 0.05 on 400 events)']
>>> lifecycle_reasons([{"model": "habitat", "lifecycle": life}], 1000.0 + 3601)
[]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lazarus.health import Health, Reason, State
from lazarus.lag_text import duration

ROLLBACK_WINDOW_S = 3600.0
"""An automatic rollback this recent (s) degrades health (alerts.yml LazarusAutomaticRollback:
over 1 hour)."""
HELD = "held: no automatic promotion until an operator promotes a line"
_RANK: dict[State, int] = {"ok": 0, "degraded": 1, "failing": 2}


def lifecycle_reasons(models: Sequence[Mapping[str, Any]], now: float) -> list[Reason]:
    """`automatic_rollback` (degraded) for each model (a status or dashboard entry with its
    `lifecycle`) rolled back automatically in the last `ROLLBACK_WINDOW_S`, or whose lineup an
    automatic rollback holds."""
    reasons = []
    for m in models:
        life = m.get("lifecycle") or {}
        action = life.get("last_action") or {}
        at = action.get("at") if action.get("kind") == "rollback" else None
        recent = at is not None and now - at <= ROLLBACK_WINDOW_S
        if not (recent or life.get("held")):
            continue
        if at is not None:
            text = (
                f"{m['model']} was rolled back automatically {duration(now - at)} ago, to "
                f"{action.get('line')} v{action.get('version')}"
            )
            text += f" ({action['reason']})" if action.get("reason") else ""
        else:
            text = f"{m['model']}: an automatic rollback undid a promotion"
        if life.get("held"):
            text += f"; {HELD}"
        reasons.append(Reason("automatic_rollback", "degraded", str(m["model"]), text))
    return reasons


def lifecycle_health(health: Health, models: Sequence[Mapping[str, Any]], now: float) -> Health:
    """`health` with the models' `lifecycle_reasons`, the worst state first."""
    reasons = [*health.reasons, *lifecycle_reasons(models, now)]
    reasons.sort(key=lambda r: -_RANK[r.state])
    return Health(reasons[0].state if reasons else "ok", tuple(reasons))
