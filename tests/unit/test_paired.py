"""The paired comparison: per-event losses as river defines them, a bounded window of paired
losses, McNemar's exact test for accuracy (known answers, against scipy and by hand), a paired
bootstrap for the other losses (deterministic for a seed), and the invariants every comparison
keeps: swapping the two flips the difference and its interval, the interval holds the
difference."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from river import metrics
from scipy import stats

from lazarus.quality.paired import (
    LOSSES,
    Comparison,
    PairedLosses,
    compare,
    judged_metric,
    per_event_loss,
)

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def river_loss(metric: Any, label: Any, y_pred: Any) -> float:
    metric.update(label, y_pred)
    return float(metric.get())


def mcnemar_table(b: int, c: int, both_right: int, both_wrong: int) -> PairedLosses:
    """Losses (1 = wrong) with b events only the champion got right, c only the challenger."""
    champion = [0] * b + [1] * c + [0] * both_right + [1] * both_wrong
    challenger = [1] * b + [0] * c + [0] * both_right + [1] * both_wrong
    return PairedLosses.of(champion, challenger)


def swapped(losses: PairedLosses) -> PairedLosses:
    champion, challenger = losses.arrays()
    return PairedLosses.of(challenger, champion)


def known(cmp: Comparison | None) -> Comparison:
    assert cmp is not None
    return cmp


# --- per-event losses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "proba"),
    [(True, {True: 0.9, False: 0.1}), (False, {True: 0.9, False: 0.1}), (True, {True: 0.0})],
)
def test_log_loss_is_rivers_on_one_event(label: bool, proba: dict[Any, float]) -> None:
    expected = river_loss(metrics.LogLoss(), label, proba)
    assert per_event_loss("LogLoss", label, True, proba) == pytest.approx(expected)


def test_log_loss_clips_a_certain_wrong_probability_as_river_does() -> None:
    assert per_event_loss("LogLoss", True, False, {False: 1.0}) == pytest.approx(-math.log(1e-15))


def test_cross_entropy_is_rivers_when_the_true_class_is_given() -> None:
    proba = {"oak": 0.2, "ash": 0.7, "elm": 0.1}
    expected = river_loss(metrics.CrossEntropy(), "oak", proba)
    assert per_event_loss("CrossEntropy", "oak", "ash", proba) == pytest.approx(expected)


def test_cross_entropy_of_a_missing_true_class_is_the_clipped_worst_not_zero() -> None:
    # river counts 0 here, which would favour a version that has not met the class yet
    assert river_loss(metrics.CrossEntropy(), "yew", {"oak": 1.0}) == 0.0
    assert per_event_loss("CrossEntropy", "yew", "oak", {"oak": 1.0}) == pytest.approx(
        -math.log(1e-15)
    )


@pytest.mark.parametrize(
    ("metric", "label", "prediction", "expected"),
    [
        ("Accuracy", "oak", "oak", 0.0),
        ("Accuracy", "oak", "ash", 1.0),
        ("Accuracy", True, False, 1.0),
        ("MAE", 3.0, 1.5, 1.5),
        ("MAE", -1.0, 2.0, 3.0),
        ("MSE", 3.0, 1.5, 2.25),
        ("RMSE", 3.0, 1.5, 2.25),  # squared error: RMSE is judged on squared errors
    ],
)
def test_label_losses(metric: str, label: Any, prediction: Any, expected: float) -> None:
    assert per_event_loss(metric, label, prediction, None) == expected


@pytest.mark.parametrize("metric", ["Accuracy", "MAE", "MSE", "RMSE"])
def test_no_prediction_cannot_be_judged(metric: str) -> None:
    assert per_event_loss(metric, 1.0, None, {True: 0.5}) is None


@pytest.mark.parametrize("metric", ["LogLoss", "CrossEntropy"])
@pytest.mark.parametrize("proba", [None, {}])
def test_no_probabilities_cannot_be_judged(metric: str, proba: dict[Any, float] | None) -> None:
    assert per_event_loss(metric, True, True, proba) is None


def test_a_squared_error_that_overflows_cannot_be_judged() -> None:
    assert per_event_loss("MSE", 1e300, -1e300, None) is None


def test_every_loss_has_a_river_metric_of_that_name() -> None:
    assert all(hasattr(metrics, name) for name in LOSSES)


def test_an_unknown_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="'F1'"):
        per_event_loss("F1", True, True, None)


def test_judged_metric_is_the_first_that_pairs() -> None:
    assert judged_metric(("Accuracy", "LogLoss")) == "Accuracy"
    assert judged_metric(("F1", "mine:metric", "CrossEntropy")) == "CrossEntropy"
    assert judged_metric(("F1", "ROCAUC")) is None
    assert judged_metric(()) is None


# --- the window of paired losses --------------------------------------------------------------


def test_paired_losses_keep_the_newest_in_order() -> None:
    losses = PairedLosses(max_events=3)
    for i in range(5):
        losses.add(float(i), float(10 + i))
    assert losses.n == 3
    champion, challenger = losses.arrays()
    assert champion.tolist() == [2.0, 3.0, 4.0]
    assert challenger.tolist() == [12.0, 13.0, 14.0]
    champion[0] = 99.0  # a copy: the window is untouched
    assert losses.arrays()[0].tolist() == [2.0, 3.0, 4.0]


def test_paired_losses_reset() -> None:
    losses = PairedLosses.of([1, 2, 3], [3, 2, 1], max_events=5)
    losses.reset()
    assert losses.n == 0
    assert losses.arrays()[0].tolist() == []
    losses.add(7, 8)
    assert [a.tolist() for a in losses.arrays()] == [[7.0], [8.0]]


def test_paired_losses_refuse_what_cannot_pair() -> None:
    with pytest.raises(ValueError, match="max_events"):
        PairedLosses(max_events=1)
    with pytest.raises(ValueError, match="same length"):
        PairedLosses.of([1, 2], [1])
    with pytest.raises(ValueError, match="finite"):
        PairedLosses().add(math.nan, 1.0)


# --- McNemar's exact test for accuracy ----------------------------------------------------------


def test_mcnemar_known_answer_b10_c25() -> None:
    cmp = known(compare(mcnemar_table(10, 25, both_right=50, both_wrong=15), "Accuracy", 0.95))
    n = 100
    # by hand: two-sided exact p of 10 vs 25 discordant pairs, Binomial(35, 1/2) symmetric
    by_hand = 2 * sum(math.comb(35, k) for k in range(11)) / 2**35
    assert by_hand == pytest.approx(0.0166738478, rel=1e-8)
    assert cmp.p_value == pytest.approx(by_hand, rel=1e-12)
    assert cmp.p_value == pytest.approx(stats.binomtest(25, 35, 0.5).pvalue, rel=1e-12)
    assert cmp.discordant == (10, 25)
    assert (cmp.n, cmp.method, cmp.metric) == (n, "mcnemar-exact", "Accuracy")
    assert cmp.champion == pytest.approx((10 + 50) / n)  # fraction correct, not a loss
    assert cmp.challenger == pytest.approx((25 + 50) / n)
    assert cmp.difference == pytest.approx(0.15)
    # Clopper-Pearson of 25/35 from the beta quantiles, mapped to (2p - 1) * 35/100
    lo_p, hi_p = stats.beta.ppf(0.025, 25, 11), stats.beta.ppf(0.975, 26, 10)
    assert cmp.low == pytest.approx((2 * lo_p - 1) * 0.35, rel=1e-9)
    assert cmp.high == pytest.approx((2 * hi_p - 1) * 0.35, rel=1e-9)
    assert 0 < cmp.low < cmp.difference < cmp.high


def test_mcnemar_without_discordant_events_is_a_tie_for_certain() -> None:
    cmp = known(compare(mcnemar_table(0, 0, both_right=80, both_wrong=20), "Accuracy", 0.95))
    assert (cmp.difference, cmp.low, cmp.high, cmp.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert cmp.discordant == (0, 0)
    assert cmp.champion == cmp.challenger == pytest.approx(0.8)


@PROPERTY
@given(
    b=st.integers(0, 60),
    c=st.integers(0, 60),
    both=st.integers(0, 60),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_mcnemar_test_and_interval_agree(b: int, c: int, both: int, confidence: float) -> None:
    table = mcnemar_table(b, c, both_right=both, both_wrong=2)
    cmp = known(compare(table, "Accuracy", confidence))
    excludes_zero = cmp.low > 0 or cmp.high < 0
    if not math.isclose(cmp.p_value, 1 - confidence, rel_tol=1e-9):
        assert excludes_zero == (cmp.p_value < 1 - confidence)


def test_accuracy_losses_must_be_zero_or_one() -> None:
    with pytest.raises(ValueError, match=r"0 \(right\) or 1"):
        compare(PairedLosses.of([0.5, 1], [0, 1]), "Accuracy", 0.95)


# --- the paired bootstrap -------------------------------------------------------------------------


def skewed_losses(n: int, seed: int, shift: float = 0.0) -> PairedLosses:
    rng = np.random.default_rng(seed)
    champion = rng.exponential(0.5, n)
    challenger = np.abs(champion + rng.normal(shift, 0.3, n))
    return PairedLosses.of(champion, challenger)


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    losses = skewed_losses(300, seed=1)
    first = compare(losses, "LogLoss", 0.95, seed=7, resamples=500)
    assert first == compare(losses, "LogLoss", 0.95, seed=7, resamples=500)
    other = known(compare(losses, "LogLoss", 0.95, seed=8, resamples=500))
    assert (other.low, other.high) != (known(first).low, known(first).high)


def test_bootstrap_values_are_the_metric_and_better_is_positive() -> None:
    losses = PairedLosses.of([1.0, 2.0, 3.0, 2.0], [0.5, 1.0, 1.5, 1.0])
    cmp = known(compare(losses, "MAE", 0.9, resamples=200))
    assert (cmp.champion, cmp.challenger, cmp.difference) == (2.0, 1.0, 1.0)
    assert (cmp.method, cmp.discordant) == ("paired-bootstrap", None)
    assert cmp.low > 0  # the challenger is better on every event


def test_bootstrap_interval_is_the_mean_differences_for_a_large_sample() -> None:
    # a mean of 4,000 differences is close to normal: the t-interval is the reference
    losses = skewed_losses(4000, seed=2, shift=0.02)
    cmp = known(compare(losses, "LogLoss", 0.95))
    champion, challenger = losses.arrays()
    reference = stats.ttest_1samp(champion - challenger, 0.0).confidence_interval(0.95)
    width = reference.high - reference.low
    assert cmp.difference == pytest.approx(float(np.mean(champion - challenger)))
    assert cmp.low == pytest.approx(reference.low, abs=0.05 * width)
    assert cmp.high == pytest.approx(reference.high, abs=0.05 * width)
    assert cmp.high < 0  # the challenger's losses were shifted up: worse, with confidence
    assert cmp.p_value == pytest.approx(2 / 2001)  # no resample crosses 0: the +1 floor


def test_bootstrap_of_identical_losses_is_a_certain_tie() -> None:
    losses = PairedLosses.of([0.3, 0.7, 0.1], [0.3, 0.7, 0.1])
    cmp = known(compare(losses, "CrossEntropy", 0.95, resamples=100))
    assert (cmp.difference, cmp.low, cmp.high, cmp.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_rmse_is_reported_as_rmse_and_tested_on_squared_errors() -> None:
    losses = skewed_losses(500, seed=3, shift=-0.05)
    champion, challenger = losses.arrays()
    rmse = known(compare(losses, "RMSE", 0.95, seed=4))
    mse = known(compare(losses, "MSE", 0.95, seed=4))
    assert rmse.champion == pytest.approx(math.sqrt(champion.mean()))
    assert rmse.challenger == pytest.approx(math.sqrt(challenger.mean()))
    assert rmse.difference == pytest.approx(rmse.champion - rmse.challenger)
    assert mse.champion == pytest.approx(champion.mean())
    # the same resamples (same seed), and sqrt keeps each resample's sign: the same test
    assert rmse.p_value == mse.p_value
    assert (rmse.low > 0) == (mse.low > 0)


def test_under_two_events_there_is_no_comparison() -> None:
    assert compare(PairedLosses(), "LogLoss", 0.95) is None
    assert compare(PairedLosses.of([1], [0]), "Accuracy", 0.95) is None


def test_compare_refuses_bad_arguments() -> None:
    losses = PairedLosses.of([0, 1], [1, 0])
    with pytest.raises(ValueError, match="'F1'"):
        compare(losses, "F1", 0.95)
    with pytest.raises(ValueError, match="confidence"):
        compare(losses, "Accuracy", 1.0)
    with pytest.raises(ValueError, match="resamples"):
        compare(losses, "MAE", 0.95, resamples=0)


# --- invariants over every method ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "losses"),
    [
        ("Accuracy", mcnemar_table(10, 25, both_right=50, both_wrong=15)),
        ("Accuracy", mcnemar_table(3, 0, both_right=5, both_wrong=0)),
        ("LogLoss", skewed_losses(400, seed=5, shift=0.05)),
        ("RMSE", skewed_losses(400, seed=6, shift=-0.05)),
    ],
)
def test_swapping_flips_the_difference_and_the_interval(metric: str, losses: PairedLosses) -> None:
    ahead = known(compare(losses, metric, 0.95, seed=3, resamples=500))
    behind = known(compare(swapped(losses), metric, 0.95, seed=3, resamples=500))
    assert behind.difference == pytest.approx(-ahead.difference)
    assert behind.low == pytest.approx(-ahead.high)
    assert behind.high == pytest.approx(-ahead.low)
    assert (behind.champion, behind.challenger) == (ahead.challenger, ahead.champion)
    assert behind.p_value == pytest.approx(ahead.p_value)


finite_loss = st.floats(0.0, 50.0, allow_nan=False)
pairs = st.lists(st.tuples(finite_loss, finite_loss), min_size=2, max_size=60)
zero_one_pairs = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=2, max_size=60)


@PROPERTY
@given(
    pairs=pairs, metric=st.sampled_from(["LogLoss", "MAE", "MSE", "RMSE"]), seed=st.integers(0, 9)
)
def test_bootstrap_interval_holds_the_difference(
    pairs: list[tuple[float, float]], metric: str, seed: int
) -> None:
    losses = PairedLosses.of([a for a, _ in pairs], [b for _, b in pairs])
    cmp = known(compare(losses, metric, 0.95, seed=seed, resamples=50))
    assert cmp.low <= cmp.difference <= cmp.high
    assert 0.0 < cmp.p_value <= 1.0


@PROPERTY
@given(pairs=zero_one_pairs, confidence=st.floats(0.5, 0.999))
def test_mcnemar_interval_holds_the_difference(
    pairs: list[tuple[int, int]], confidence: float
) -> None:
    losses = PairedLosses.of([a for a, _ in pairs], [b for _, b in pairs])
    cmp = known(compare(losses, "Accuracy", confidence))
    assert -1.0 <= cmp.low <= cmp.difference <= cmp.high <= 1.0
    assert 0.0 < cmp.p_value <= 1.0


@pytest.mark.parametrize("metric", ["Accuracy", "LogLoss"])
def test_as_dict_is_plain_json(metric: str) -> None:
    cmp = known(compare(mcnemar_table(4, 9, both_right=20, both_wrong=3), metric, 0.95))
    out = cmp.as_dict()
    assert json.loads(json.dumps(out)) == out
    assert all(type(v) in (int, float, str, list, type(None)) for v in out.values())
    assert set(out) == {
        "n", "metric", "champion", "challenger", "difference", "low", "high",
        "confidence", "method", "p_value", "discordant",
    }  # fmt: skip
