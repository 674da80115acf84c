"""FeatureDrift's windows and statistic against the plain definitions: the statistic is
`ks_2samp`'s (ties across and within windows too), and a FeatureDrift pickled by the version
that kept its windows as lists restores and goes on as one fed the same rows."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import ks_2samp

from lazarus.registry.safe_pickle import safe_loads
from lazarus.trainer.feature_drift import FeatureDrift, ks_statistic

# pickle.dumps(FeatureDrift(window=20, alpha=0.01)) after `old_rows()`, by the FeatureDrift of
# commit dbbd7aa (windows' values a list; pickled as a float array)
OLD_PICKLE = bytes.fromhex(
    "80059507050000000000008c1d6c617a617275732e747261696e65722e666561747572655f6472696674948c"
    "0c4665617475726544726966749493942981947d94288c0677696e646f77944b148c05616c70686194473f84"
    "7ae147ae147b8c056576657279944b0a8c066e5f726f7773944b328c095f6665617475726573947d94288c01"
    "619468008c085f57696e646f77739493942981947d94288c097265666572656e6365948c136e756d70792e5f"
    "636f72652e6e756d65726963948c0b5f66726f6d6275666665729493942896a000000000000000be9f1a2fdd"
    "24f4bf83c0caa145b6f3bf4260e5d022dbe9bfae47e17a14aee7bf79e9263108ace4bfd7a3703d0ad7e3bf08"
    "ac1c5a643bd7bf75931804560ed5bffca9f1d24d62d0bf79e9263108ac9c3f713d0ad7a370cd3f5c8fc2f528"
    "5ccf3f5c8fc2f5285cd73f560e2db29defdf3ffed478e92631e03f273108ac1c5ae03f2fdd24068195e73fc5"
    "20b0726891f13f2db29defa7c6f13faaf1d24d6210f43f948c056e756d7079948c0564747970659493948c02"
    "663894898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494624b1485948c0143947494"
    "52948c0676616c7565739468132896a00000000000000062105839b4c8debf5a643bdf4f8df33f6666666666"
    "66e63fdd2406819543e3bf508d976e1283d03fc1caa145b6f3cd3f643bdf4f8d97fcbf5c8fc2f5285cf53f75"
    "931804560ee5bf17d9cef753e3dd3f5a643bdf4f8dc7bf52b81e85eb51f03f08ac1c5a643bd73ffed478e926"
    "31e03f2db29defa7c6d33fee7c3f355ebae1bf713d0ad7a370f5bf8b6ce7fba9f1d2bf14ae47e17a14f6bf48"
    "e17a14ae47c1bf94681a4b148594681e7494529475628c016394680d2981947d9428681068132896a0000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000f03f000000000000f03f00000000"
    "0000f03f000000000000f03f000000000000f03f000000000000004000000000000000400000000000000040"
    "000000000000084000000000000008400000000000000840000000000000084094681a4b148594681e749452"
    "94682168132896a0000000000000000000000000000840000000000000004000000000000008400000000000"
    "0000400000000000000040000000000000f03f00000000000008400000000000000000000000000000f03f00"
    "0000000000084000000000000000400000000000000840000000000000f03f000000000000f03f0000000000"
    "00004000000000000000000000000000000040000000000000f03f0000000000000000000000000000084094"
    "681a4b148594681e7494529475628c016294680d2981947d9428681068132896a0000000000000009a999999"
    "9999a93fcba145b6f3fdb43f6abc74931804b63f736891ed7c3fc53f1b2fdd240681c53f3bdf4f8d976ed23f"
    "37894160e5d0da3f39b4c876be9fe23f8d976e1283c0e23f022b8716d9cee33f3d0ad7a3703de63f8b6ce7fb"
    "a9f1e63f3108ac1c5a64e73f04560e2db29de73fd34d62105839e83f7b14ae47e17ae83f1283c0caa145ea3f"
    "105839b4c876ea3fe17a14ae47e1ea3fd9cef753e3a5eb3f94681a4b148594681e7494529468216813289628"
    "000000000000000e2db29defa7ee3ffa7e6abc7493883fe3a59bc420b0c23f14ae47e17a14e63fcdcccccccc"
    "ccec3f94681a4b058594681e7494529475627575622e"
)


def old_rows() -> list[dict[str, float]]:
    rng = random.Random(7)
    rows = []
    for i in range(50):
        row = {"a": round(rng.gauss(0, 1), 3), "c": float(rng.randint(0, 3))}
        if i % 2:
            row["b"] = round(rng.random(), 3)
        rows.append(row)
    return rows


def contents(fd: FeatureDrift) -> dict[str, object]:
    """Everything a FeatureDrift holds, as plain values."""
    windows = {
        name: (None if w.reference is None else w.reference.tolist(), list(w.values))
        for name, w in fd._features.items()
    }
    return {"n_rows": fd.n_rows, "every": fd.every, "windows": windows}


def test_a_feature_drift_pickled_by_the_list_version_restores() -> None:
    restored = safe_loads(OLD_PICKLE)
    fed = FeatureDrift(window=20, alpha=0.01)
    for row in old_rows():
        fed.update(row)
    assert contents(restored) == contents(fed)
    rng = random.Random(8)
    more = [{"a": rng.gauss(2, 1), "b": rng.random(), "c": 1.0} for _ in range(100)]
    found = [fed.update(r) for r in more]
    assert [restored.update(r) for r in more] == found
    assert [s.feature for f in found for s in f] == ["a"]  # the shift the rows hold


@pytest.mark.parametrize("seed", range(30))
def test_the_statistic_is_ks_2samps_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    a = rng.integers(-3, 4, n).astype(float)
    b = rng.normal(0.0, 2.0, n).round(int(rng.integers(0, 2)))
    b[b == 0.0] = -0.0  # equal to 0.0 for the test and for the sort
    assert ks_statistic(np.sort(a), b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    assert ks_statistic(np.sort(a), a) == 0.0
