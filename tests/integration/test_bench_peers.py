"""The issue #20 benches (`bench.peers`, `bench.trainer_throughput`, `bench.scorer_latency`) run end to end in `--quick`
mode, so they cannot rot. They start their own embedded broker (and Redis, when none answers
at the default URL); these tests check they finish and print their tables, never the figures'
values (benchmarks report targets, tests do not assert them)."""

from __future__ import annotations

import pytest

from tests.integration.test_bench_per_key import _bench, _number


@pytest.mark.timeout(600)
def test_peers_quick_prints_scoring_and_training_tables() -> None:
    out = _bench("bench.peers")
    for name in ("lazarus scorer", "hand scorer", "lazarus trainer", "hand trainer"):
        assert _number(rf"\n  {name} +([\d,]+) ", out) > 0
    assert _number(r"\n  river pvs json +([\d,]+) ", out) > 0
    assert _number(r"\n  river pvs features +([\d,]+) ", out) > 0
    assert "targets (issue #20)" in out


@pytest.mark.timeout(600)
def test_trainer_throughput_quick_judges_both_targets() -> None:
    out = _bench("bench.trainer_throughput")
    for name in ("lazarus trainer", "hand trainer", "river pvs json"):
        assert _number(rf"\n  {name} +([\d,]+) ", out) > 0
    assert "target: >= 1.0x hand trainer: median of the rounds' ratios" in out
    assert "target: >= 0.6x river pvs json: median of the rounds' ratios" in out
    assert _number(r"learner thread +([\d.]+) us", out) > 0


@pytest.mark.timeout(600)
def test_scorer_latency_quick_prints_the_windows() -> None:
    out = _bench("bench.scorer_latency")
    assert _number(r"default at 5,000 ev/s +(\d+)/", out) >= 0
    assert "after idle" in out and "scored/sent" in out
