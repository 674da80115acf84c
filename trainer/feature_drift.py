"""Feature drift, pure: per numeric feature, a Kolmogorov-Smirnov test of the recent values
against a reference window (part of `lazarus.trainer.drift.DriftWatch`, which pickles with the
trainer's state).

>>> import random
>>> rng, fd = random.Random(3), FeatureDrift(window=200, alpha=0.001)
>>> rows = [{"t": rng.gauss(0, 1), "u": rng.random()} for _ in range(1000)]
>>> rows += [{"t": rng.gauss(1, 1), "u": rng.random()} for _ in range(1000)]
>>> sorted({s.feature for row in rows for s in fd.update(row)})
['t']
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import kolmogi
from scipy.stats import ks_2samp

from lazarus.errors import ConfigError


@dataclass(frozen=True)
class FeatureShift:
    """One feature whose recent values differ from its reference: the KS statistic (the largest
    gap between the two empirical CDFs, in [0, 1]) and its p-value."""

    feature: str
    statistic: float
    p_value: float


PREFILTER = 100.0
"""A feature goes to `ks_2samp` when its statistic reaches the asymptotic critical value at this
many times the test's level: far below it the exact p-value cannot be under the level (at the
largest statistic left out, it is ten to a hundred times the level, for windows of 20 to 5000
values: tests/unit/test_drift.py). `ks_2samp` costs about 300 us; the statistic alone, 50."""


class _Windows:
    """One feature's reference window (its first `size` values, sorted) and the values after
    it, of which the last `size` are the recent window (trimmed when tested)."""

    def __init__(self) -> None:
        self.reference: np.ndarray | None = None
        self.values = array("d")
        """Doubles, appended as cheaply as to a list, read into numpy without a Python loop."""

    def recent(self, size: int) -> np.ndarray | None:
        """The recent window, once the reference and it are full; None before."""
        values = self.values
        if self.reference is None:
            if len(values) < size:
                return None
            self.reference = np.sort(np.frombuffer(values, dtype=float, count=size))
            del values[:size]
        if len(values) < size:
            return None
        del values[:-size]
        return np.array(values, dtype=float)  # a copy: the array goes on growing

    def restart(self) -> None:
        """Both windows fill again, the reference first."""
        self.reference, self.values = None, array("d")

    # Pickled, one numpy array is one opcode, not one per value (the canonical pickler's pass
    # over a snapshot walks every opcode). The state is the one the values had as a list (and
    # snapshots from then hold): the values as a float array.
    def __getstate__(self) -> dict[str, Any]:
        return {"reference": self.reference, "values": np.array(self.values, dtype=float)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.reference = state["reference"]
        self.values = array("d", np.asarray(state["values"], dtype=float).tobytes())


def ks_statistic(reference: np.ndarray, recent: np.ndarray) -> float:
    """The two-sample KS statistic of two windows of one size, `reference` sorted (as
    `ks_2samp` computes it: the largest gap between the empirical CDFs at every value).

    Both sorted windows are merged (a stable sort of two sorted runs is one linear merge);
    the gap after each value is the running count of reference values less recent ones, read
    at the last of each run of equal values."""
    n = len(reference)
    both = np.concatenate((reference, np.sort(recent)))
    order = np.argsort(both, kind="stable")
    gaps = np.cumsum(np.where(order < n, 1, -1))
    merged = both[order]
    last = np.empty(len(both), dtype=bool)
    np.not_equal(merged[1:], merged[:-1], out=last[:-1])
    last[-1] = True
    return float(np.abs(gaps[last]).max()) / n


CYCLIC = frozenset(("hour_sin", "hour_cos", "season_sin", "season_cos"))
"""Time-of-day and season encodings: they cycle by design, so a window of them is never like
another; the test leaves them out (it assumes exchangeable rows)."""


class FeatureDrift:
    """Per numeric feature, the first `window` values seen (after start or a shift) against the
    last `window` values after them, by the two-sample Kolmogorov-Smirnov test every
    `window // 2` rows, at `alpha` divided by the number of features tested then (Bonferroni).

    The time encodings (`CYCLIC`) are never tested. A feature missing from a row, or not a
    finite number, is skipped in that row: each feature
    fills its windows at its own pace. After a shift the feature's windows fill again, the
    reference from the values after the detection, so one change is reported once: its recent
    window, when the test fired, still held values from before the change, and as a reference it
    would fire again once the recent values are all new. Raises ConfigError for a window below 2
    or an alpha outside (0, 1).

    Cost: an `array('d')` append per feature and row; every `window // 2` rows, the KS statistic of each
    feature with full windows, and `ks_2samp` for those near significance (`PREFILTER`)."""

    def __init__(self, window: int, alpha: float) -> None:
        if window < 2:
            raise ConfigError(f"feature drift window must be at least 2, not {window}")
        if not 0 < alpha < 1:
            raise ConfigError(f"feature drift alpha must be between 0 and 1, not {alpha}")
        self.window, self.alpha, self.every = window, alpha, max(1, window // 2)
        self.n_rows = 0
        self._features: dict[str, _Windows] = {}

    def update(self, x: dict[str, float]) -> list[FeatureShift]:
        """Take one row; the features that shifted, if this row is a testing one."""
        self.n_rows += 1
        features = self._features
        cyclic = CYCLIC
        for name, value in x.items():
            # the usual case first: a finite float (x - x is 0.0 unless x is NaN or infinite)
            if (type(value) is not float or value - value != 0.0) and (
                not isinstance(value, float | int) or not math.isfinite(value)
            ):
                continue
            if name in cyclic:
                continue
            windows = features.get(name)
            if windows is None:
                windows = features[name] = _Windows()
            windows.values.append(value)
        if self.n_rows % self.every:
            return []
        return self._test()

    def _test(self) -> list[FeatureShift]:
        ready = []
        for name, windows in self._features.items():
            recent = windows.recent(self.window)
            if recent is not None:
                ready.append((name, windows, recent))
        if not ready:
            return []
        level = self.alpha / len(ready)
        # The asymptotic critical statistic at PREFILTER times the level, for two windows of n.
        near = kolmogi(min(1.0, PREFILTER * level)) / math.sqrt(self.window / 2)
        shifts = []
        for name, windows, recent in ready:
            assert windows.reference is not None
            if ks_statistic(windows.reference, recent) < near:
                continue
            result = ks_2samp(windows.reference, recent)
            if result.pvalue < level:
                shifts.append(FeatureShift(name, float(result.statistic), float(result.pvalue)))
                windows.restart()
        return shifts
