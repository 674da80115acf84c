"""The promotion gate and the rollback guard: a `Comparison` judged against a lifecycle policy.

Both read the comparison's interval of `difference` (how much better the second version is, in
the judged metric's unit, positive = better) at the policy's confidence: the caller compares
with `policy.confidence`, and a comparison made at another confidence is refused (ValueError).

- `gate`: the challenger against the champion. Promote once `min_events` are judged and the
  interval's lower bound is above `margin` (better by more than the margin, with confidence).
- `guard`: the newly current version (as the challenger) against the baseline (as the
  champion). Roll back once `min_events` are judged and the upper bound is below `-margin`
  (worse by more than the margin, with confidence); clear it once the lower bound is above
  `-margin` (confidently not that much worse), or, inconclusive, at `max_events`.

Both are pure: they decide, the quality monitor acts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from lazarus.quality.paired import Comparison
from lazarus.schemas.lifecycle import GuardPolicy, PromotionPolicy

GateState = Literal["waiting", "promote", "hold"]
GuardState = Literal["waiting", "rollback", "cleared"]


@dataclass(frozen=True)
class GateVerdict:
    """Where a challenger stands against the promotion policy; `reason` is one line for humans."""

    state: GateState
    reason: str
    comparison: Comparison | None

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON and the audit log."""
        return _as_dict(self.state, self.reason, self.comparison)


@dataclass(frozen=True)
class GuardVerdict:
    """Where a newly current version stands against the rollback guard; `reason` one line."""

    state: GuardState
    reason: str
    comparison: Comparison | None

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON and the audit log."""
        return _as_dict(self.state, self.reason, self.comparison)


def gate(policy: PromotionPolicy, cmp: Comparison | None) -> GateVerdict:
    """Promote, hold or wait, for the challenger compared (as challenger) in `cmp`, made at
    `policy.confidence`; `cmp` None (under 2 judged events) waits.

    >>> from lazarus.quality.paired import PairedLosses, compare
    >>> champion = [1] * 40 + [0] * 60  # 1: wrong
    >>> challenger = [1] * 10 + [0] * 30 + [1] * 5 + [0] * 55
    >>> cmp = compare(PairedLosses.of(champion, challenger), "Accuracy", 0.95)
    >>> gate(PromotionPolicy(min_events=50), cmp).reason
    'challenger better by 0.25 (95% CI 0.138..0.316) > margin 0, 100 events'
    >>> gate(PromotionPolicy(min_events=500), cmp).state
    'waiting'
    """
    if cmp is not None:
        _check_confidence(cmp, policy.confidence)
    if cmp is None or cmp.n < policy.min_events:
        return GateVerdict("waiting", _so_far(cmp, policy.min_events), cmp)
    told = f"challenger better by {_num(cmp.difference)} ({_interval(cmp)})"
    if cmp.low > policy.margin:
        return GateVerdict("promote", f"{told} > margin {_num(policy.margin)}, {cmp.n} events", cmp)
    return GateVerdict(
        "hold", f"{told}, lower bound not > margin {_num(policy.margin)}, {cmp.n} events", cmp
    )


def guard(policy: GuardPolicy, cmp: Comparison | None) -> GuardVerdict:
    """Roll back, clear or wait, for the newly current version compared (as challenger) with
    the baseline (as champion) in `cmp`, made at `policy.confidence`; None waits.

    >>> from lazarus.quality.paired import PairedLosses, compare
    >>> baseline = [0] * 380 + [1] * 20  # 1: wrong
    >>> current = [1] * 40 + [0] * 350 + [1] * 10
    >>> cmp = compare(PairedLosses.of(baseline, current), "Accuracy", 0.95)
    >>> guard(GuardPolicy(), cmp).state, guard(GuardPolicy(), cmp).reason
    ('rollback', 'current better by -0.075 (95% CI -0.0999..-0.0407), upper bound < -0.02 (margin 0.02), 400 events')
    """
    if cmp is not None:
        _check_confidence(cmp, policy.confidence)
    if cmp is None or cmp.n < policy.min_events:
        return GuardVerdict("waiting", _so_far(cmp, policy.min_events), cmp)
    told = f"current better by {_num(cmp.difference)} ({_interval(cmp)})"
    bound = f"{_num(-policy.margin or 0.0)} (margin {_num(policy.margin)})"
    if cmp.high < -policy.margin:
        return GuardVerdict("rollback", f"{told}, upper bound < {bound}, {cmp.n} events", cmp)
    if cmp.low > -policy.margin:
        return GuardVerdict("cleared", f"{told}, lower bound > {bound}, {cmp.n} events", cmp)
    if cmp.n >= policy.max_events:
        return GuardVerdict(
            "cleared",
            f"inconclusive after {cmp.n} events (max_events {policy.max_events}): {told}",
            cmp,
        )
    return GuardVerdict(
        "waiting",
        f"{told}: not yet clear of {bound} either way, {cmp.n} of at most {policy.max_events} "
        "events",
        cmp,
    )


def _so_far(cmp: Comparison | None, min_events: int) -> str:
    if cmp is None:
        return f"fewer than 2 of {min_events} judged events"
    return f"{cmp.n} of {min_events} judged events"


def _check_confidence(cmp: Comparison, confidence: float) -> None:
    if not math.isclose(cmp.confidence, confidence):
        raise ValueError(
            f"comparison made at confidence {cmp.confidence}, the policy asks {confidence}"
        )


def _interval(cmp: Comparison) -> str:
    return f"{cmp.confidence * 100:g}% CI {_num(cmp.low)}..{_num(cmp.high)}"


def _num(x: float) -> str:
    return f"{x:.3g}"


def _as_dict(state: str, reason: str, cmp: Comparison | None) -> dict[str, Any]:
    return {
        "state": state,
        "reason": reason,
        "comparison": None if cmp is None else cmp.as_dict(),
    }
