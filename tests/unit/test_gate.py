"""The promotion gate and the rollback guard: each state, at and either side of its boundary,
from a comparison made at the policy's confidence, and one line for humans per verdict."""

from __future__ import annotations

import json

import pytest

from lazarus.quality.gate import gate, guard
from lazarus.quality.paired import Comparison, PairedLosses, compare
from lazarus.schemas.lifecycle import GuardPolicy, PromotionPolicy

PROMOTION = PromotionPolicy(min_events=500, margin=0.01, confidence=0.95)
GUARD = GuardPolicy(min_events=300, margin=0.02, confidence=0.95, max_events=5000)


def comparison(n: int, low: float, high: float, *, confidence: float = 0.95) -> Comparison:
    """Accuracy of a challenger (or newly current version) better by (low + high) / 2."""
    return Comparison(
        n=n,
        metric="Accuracy",
        champion=0.8,
        challenger=0.8 + (low + high) / 2,
        difference=(low + high) / 2,
        low=low,
        high=high,
        confidence=confidence,
        method="mcnemar-exact",
        p_value=0.01,
        discordant=(10, 20),
    )


# --- the promotion gate -------------------------------------------------------------------------


def test_gate_waits_for_min_events() -> None:
    verdict = gate(PROMOTION, comparison(499, 0.2, 0.3))
    assert verdict.state == "waiting"
    assert verdict.reason == "499 of 500 judged events"
    assert gate(PROMOTION, None).state == "waiting"
    assert gate(PROMOTION, None).reason == "fewer than 2 of 500 judged events"


def test_gate_promotes_when_the_lower_bound_clears_the_margin() -> None:
    verdict = gate(PROMOTION, comparison(500, 0.012, 0.05))
    assert verdict.state == "promote"
    assert verdict.reason == (
        "challenger better by 0.031 (95% CI 0.012..0.05) > margin 0.01, 500 events"
    )


@pytest.mark.parametrize("low", [0.01, 0.005, -0.02])
def test_gate_holds_at_or_under_the_margin(low: float) -> None:
    verdict = gate(PROMOTION, comparison(5000, low, 0.06))
    assert verdict.state == "hold"
    assert "lower bound not > margin 0.01" in verdict.reason


def test_gate_holds_a_tie_even_with_no_margin() -> None:
    tie = compare(PairedLosses.of([0] * 600, [0] * 600), "Accuracy", 0.95)
    assert gate(PromotionPolicy(margin=0.0), tie).state == "hold"


def test_gate_refuses_a_comparison_at_another_confidence() -> None:
    with pytest.raises(ValueError, match=r"confidence 0\.9,"):
        gate(PROMOTION, comparison(600, 0.1, 0.2, confidence=0.9))
    with pytest.raises(ValueError, match="confidence"):  # even while waiting
        gate(PROMOTION, comparison(10, 0.1, 0.2, confidence=0.9))


def test_gate_promotes_a_clearly_better_challenger_end_to_end() -> None:
    champion = [1] * 150 + [0] * 450  # 1: wrong; the champion is right on 450 of 600
    challenger = [1] * 60 + [0] * 90 + [1] * 20 + [0] * 430  # right on 520
    cmp = compare(PairedLosses.of(champion, challenger), "Accuracy", PROMOTION.confidence)
    verdict = gate(PROMOTION, cmp)
    assert verdict.state == "promote"
    assert verdict.comparison is cmp


# --- the rollback guard -------------------------------------------------------------------------


def test_guard_waits_for_min_events() -> None:
    verdict = guard(GUARD, comparison(299, -0.5, -0.4))
    assert verdict.state == "waiting"
    assert verdict.reason == "299 of 300 judged events"
    assert guard(GUARD, None).state == "waiting"


def test_guard_rolls_back_when_the_upper_bound_is_under_minus_margin() -> None:
    verdict = guard(GUARD, comparison(300, -0.09, -0.021))
    assert verdict.state == "rollback"
    assert verdict.reason == (
        "current better by -0.0555 (95% CI -0.09..-0.021), upper bound < -0.02 (margin 0.02), "
        "300 events"
    )


def test_guard_clears_when_the_lower_bound_is_over_minus_margin() -> None:
    verdict = guard(GUARD, comparison(300, -0.019, 0.03))
    assert verdict.state == "cleared"
    assert "lower bound > -0.02 (margin 0.02)" in verdict.reason


@pytest.mark.parametrize(("low", "high"), [(-0.02, 0.01), (-0.05, -0.02), (-0.02, -0.02)])
def test_guard_waits_at_the_boundaries(low: float, high: float) -> None:
    verdict = guard(GUARD, comparison(1000, low, high))
    assert verdict.state == "waiting"
    assert "not yet clear of -0.02 (margin 0.02) either way, 1000 of at most 5000" in (
        verdict.reason
    )


def test_guard_clears_an_inconclusive_version_at_max_events() -> None:
    verdict = guard(GUARD, comparison(5000, -0.03, 0.01))
    assert verdict.state == "cleared"
    assert verdict.reason.startswith("inconclusive after 5000 events (max_events 5000)")


def test_guard_rolls_back_rather_than_clear_at_max_events() -> None:
    assert guard(GUARD, comparison(5000, -0.05, -0.03)).state == "rollback"


def test_guard_clears_a_version_that_calls_every_event_the_same() -> None:
    same = compare(PairedLosses.of([0, 1] * 150, [0, 1] * 150), "Accuracy", 0.95)
    assert guard(GUARD, same).state == "cleared"


def test_guard_refuses_a_comparison_at_another_confidence() -> None:
    with pytest.raises(ValueError, match=r"policy asks 0\.95"):
        guard(GUARD, comparison(400, -0.1, -0.05, confidence=0.99))


def test_guard_rolls_back_a_worse_version_end_to_end() -> None:
    baseline = [0] * 380 + [1] * 20  # 1: wrong; the baseline is right on 380 of 400
    current = [1] * 40 + [0] * 350 + [1] * 10  # right on 350
    cmp = compare(PairedLosses.of(baseline, current), "Accuracy", GUARD.confidence)
    assert guard(GUARD, cmp).state == "rollback"


# --- verdicts as data ---------------------------------------------------------------------------


def test_verdicts_as_dict_are_plain_json() -> None:
    cmp = comparison(600, 0.02, 0.04)
    for verdict in (gate(PROMOTION, cmp), guard(GUARD, cmp), gate(PROMOTION, None)):
        out = verdict.as_dict()
        assert json.loads(json.dumps(out)) == out
        assert out["state"] == verdict.state
        assert out["reason"] == verdict.reason
        assert out["comparison"] == (None if verdict.comparison is None else cmp.as_dict())
