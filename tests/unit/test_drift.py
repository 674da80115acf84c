"""Drift detectors: error rises found within a bounded delay, falls and stationary streams not,
feature shifts found once, and a watch that pickles (through the snapshot unpickler) into one
that goes on exactly as the original."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from river import drift
from scipy.special import kolmogi
from scipy.stats import ks_2samp

from lazarus.errors import ConfigError
from lazarus.registry.canonical import canonical_dumps
from lazarus.registry.safe_pickle import safe_loads
from lazarus.schemas.lifecycle import DriftPolicy
from lazarus.trainer.drift import Detection, DriftWatch, ErrorDrift, FeatureDrift
from lazarus.trainer.feature_drift import PREFILTER, ks_statistic

DETECTORS = ("ADWIN", "PageHinkley")


def bernoulli(rng: random.Random, p: float, n: int) -> list[float]:
    return [float(rng.random() < p) for _ in range(n)]


def rises(detector: ErrorDrift, errors: list[float]) -> list[int]:
    """The indices of the errors at which `detector` reported a rise."""
    return [i for i, e in enumerate(errors) if detector.update(e)]


@pytest.mark.parametrize("detector", DETECTORS)
def test_an_error_step_up_is_found_within_a_bounded_delay(detector: str) -> None:
    for seed in range(5):
        rng = random.Random(seed)
        errors = bernoulli(rng, 0.1, 3000) + bernoulli(rng, 0.4, 3000)
        found = ErrorDrift(DriftPolicy(detector=detector))  # type: ignore[arg-type]
        hits = rises(found, errors)
        after = [i for i in hits if i >= 3000]
        assert after, f"{detector}, seed {seed}: no detection after the step"
        assert after[0] - 3000 < 600, f"{detector}, seed {seed}: delay {after[0] - 3000}"
        assert len(after) == 1, f"{detector}, seed {seed}: one change, detections at {after}"
        assert found.error_before < 0.15 < found.error_after


def test_adwin_stays_quiet_on_a_stationary_stream() -> None:
    found = ErrorDrift(DriftPolicy(detector="ADWIN"))
    assert rises(found, bernoulli(random.Random(42), 0.2, 20_000)) == []


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_fall_in_error_is_not_a_drift(detector: str) -> None:
    rng = random.Random(7)
    errors = bernoulli(rng, 0.4, 3000) + bernoulli(rng, 0.1, 3000)
    # river's own detector, both ways, sees the change...
    both = drift.ADWIN(delta=0.002) if detector == "ADWIN" else drift.PageHinkley(threshold=50.0)
    seen = []
    for i, e in enumerate(errors):
        both.update(e)
        if both.drift_detected:
            seen.append(i)
    assert [i for i in seen if i >= 3000], "the fall is visible to river's detector"
    # ...and ours does not count it.
    assert rises(ErrorDrift(DriftPolicy(detector=detector)), errors) == []  # type: ignore[arg-type]


def shifted_rows(rng: random.Random, n_before: int, n_after: int) -> list[dict[str, float]]:
    """Rows of three features; `b` is missing from every other row; `a` shifts by one standard
    deviation after `n_before` rows."""
    rows = []
    for i in range(n_before + n_after):
        row = {"a": rng.gauss(1.0 if i >= n_before else 0.0, 1.0), "c": rng.random()}
        if i % 2:
            row["b"] = rng.expovariate(1.0)
        rows.append(row)
    return rows


def test_ks_finds_the_shifted_feature_once() -> None:
    fd = FeatureDrift(window=500, alpha=0.001)
    rows = shifted_rows(random.Random(1), 5000, 5000)
    found = [(i, s.feature) for i, row in enumerate(rows) for s in fd.update(row)]
    assert [f for _, f in found] == ["a"]
    assert 5000 <= found[0][0] < 5000 + 2 * 500


def test_ks_stays_quiet_on_a_stationary_stream() -> None:
    fd = FeatureDrift(window=500, alpha=0.001)
    rows = shifted_rows(random.Random(2), 20_000, 0)
    assert [s for row in rows for s in fd.update(row)] == []
    assert fd.n_rows == 20_000


def test_ks_skips_missing_and_non_numbers() -> None:
    fd = FeatureDrift(window=20, alpha=0.01)
    rows: list[dict[str, float]] = [{"a": 0.0, "n": float("nan")}] * 20 + [{"a": 5.0}] * 20
    found = [s for row in rows for s in fd.update(row)]
    assert [(s.feature, s.statistic) for s in found] == [("a", 1.0)]


@pytest.mark.parametrize("window", [20, 21, 50, 1000, 5000])
def test_the_prefilter_never_leaves_out_a_significant_feature(window: int) -> None:
    """For windows of one size the p-value depends on the statistic alone, and falls as it
    grows: the largest statistic under the prefilter's bound must not be significant."""
    base = np.arange(window, dtype=float)
    for level in (1e-3, 1e-5, 1e-7, 1e-9):
        near = kolmogi(min(1.0, PREFILTER * level)) / math.sqrt(window / 2)
        k = math.ceil(near * window) - 1  # base + k: a statistic of k / window, just under
        if k > 0:
            assert ks_statistic(base, base + k) == k / window < near
            assert ks_2samp(base, base + k).pvalue >= level, (window, level)


def test_the_statistic_is_ks_2samps() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        a, b = rng.integers(0, 8, 300).astype(float), rng.normal(3.0, 2.0, 300).round(1)
        assert ks_statistic(np.sort(a), b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)


@pytest.mark.parametrize(("window", "alpha", "named"), [(1, 0.01, "window"), (100, 1.0, "alpha")])
def test_feature_drift_refuses_a_bad_setting(window: int, alpha: float, named: str) -> None:
    with pytest.raises(ConfigError, match=f"feature drift {named} must be"):
        FeatureDrift(window, alpha)


def drifting(seed: int) -> tuple[list[float], list[dict[str, float]]]:
    rng = random.Random(seed)
    errors = bernoulli(rng, 0.1, 4000) + bernoulli(rng, 0.4, 4000)
    return errors, shifted_rows(rng, 4000, 4000)


def watch_on(
    watch: DriftWatch, errors: list[float], rows: list[dict[str, float]]
) -> list[Detection]:
    found = []
    for e, x in zip(errors, rows, strict=True):
        found += watch.observe_features(x)
        found += watch.observe_error(e)
    return found


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_watch_pickled_mid_stream_detects_the_same(detector: str) -> None:
    errors, rows = drifting(3)
    policy = DriftPolicy(detector=detector, feature_window=500)  # type: ignore[arg-type]
    whole = DriftWatch(policy)
    first = watch_on(whole, errors[:3700], rows[:3700])
    restored = safe_loads(canonical_dumps(whole))  # the trainer's snapshot path
    assert isinstance(restored, DriftWatch)
    later = watch_on(whole, errors[3700:], rows[3700:])
    assert watch_on(restored, errors[3700:], rows[3700:]) == later
    assert {d.source for d in first + later} == {"prequential", "features"}
    assert [d.detector for d in later if d.source == "prequential"] == [detector]
    assert [d.feature for d in later if d.source == "features"] == ["a"]
    assert all(d.n_seen > 4000 for d in later)


def test_reset_starts_the_detectors_afresh() -> None:
    errors, rows = drifting(4)
    watch = DriftWatch(DriftPolicy(feature_window=500))
    assert watch_on(watch, errors[:4000], rows[:4000]) == []
    watch.reset()
    # After the reset the new regime is the reference: nothing changed since.
    assert watch_on(watch, errors[4000:], rows[4000:]) == []
    assert (watch.n_errors, watch.n_rows) == (8000, 8000)
    # Without it, the same stream is a drift of both kinds.
    found = watch_on(DriftWatch(DriftPolicy(feature_window=500)), errors, rows)
    assert {(d.source, d.feature) for d in found} == {("prequential", None), ("features", "a")}
