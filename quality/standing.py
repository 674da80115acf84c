"""Where a challenger or the rollback guard stands, and what an automatic action rests on, as
plain JSON values: the gate report the quality monitor writes every cycle (`lazarus models
gate` reads it) and the evidence it records with a promotion or a rollback. Pure."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from lazarus.quality.lineup_join import Key, LineupJoin
from lazarus.quality.lineup_view import View
from lazarus.quality.paired import Comparison
from lazarus.quality.served_drift import DETECTOR, ServedDrift
from lazarus.schemas.lifecycle import GuardPolicy, Lifecycle, PromotionPolicy


def entry(
    join: LineupJoin, key: Key, version: int | None, cmp: Comparison | None
) -> dict[str, Any]:
    """A line's standing before its verdict: `events` judged (honest pairs), `not_honest`
    (either version had learned the event, or its position is unknown), `unjudgeable` (a
    score the metric cannot judge), and the comparison (`Comparison.as_dict`) or None."""
    tally = join.tally(key)
    return {
        "line": key[1],
        "version": version,
        "events": 0 if tally is None else tally.losses.n,
        "not_honest": 0 if tally is None else tally.not_honest,
        "unjudgeable": 0 if tally is None else tally.unjudgeable,
        "comparison": None if cmp is None else cmp.as_dict(),
    }


def evidence(
    cmp: Comparison, policy: PromotionPolicy | GuardPolicy, **about: Any
) -> dict[str, Any]:
    """What an automatic action rests on, for the audit stream: `about` (the line and version
    it moved to, what it replaced), the comparison's figures and the policy."""
    return {
        **about,
        "events": cmp.n,
        "metric": cmp.metric,
        "champion": cmp.champion,
        "challenger": cmp.challenger,
        "difference": cmp.difference,
        "interval": [cmp.low, cmp.high],
        "confidence": cmp.confidence,
        "method": cmp.method,
        "p_value": cmp.p_value,
        "discordant": None if cmp.discordant is None else list(cmp.discordant),
        "policy": asdict(policy),
    }


def gate_report(
    model: str,
    lifecycle: Lifecycle,
    view: View,
    join: LineupJoin,
    challengers: list[dict[str, Any]],
    standing: dict[str, Any],
    drift: ServedDrift,
    now: float,
) -> dict[str, Any]:
    """The gate report: the champion, each challenger's `entry` and verdict, the guard's, the
    policies judged by, and the served drift watch; `at` in epoch seconds."""
    promotion, guard = lifecycle.promotion, lifecycle.guard
    return {
        "model": model,
        "at": now,
        "metric": join.metric,
        "champion": {"line": view.champion, "version": view.served},
        "held": view.held,
        "challengers": challengers,
        "guard": standing,
        "policy": {
            "promotion": None if promotion is None else asdict(promotion),
            "guard": None if guard is None else asdict(guard),
        },
        "served_drift": {"detector": DETECTOR, "errors_seen": drift.n_seen},
    }
