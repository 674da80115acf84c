"""The per-key benches (issue #18) run end to end in `--quick` mode, so they cannot rot.

They start their own embedded broker (and Redis, when none answers at the default URL), as a
user runs them; these tests check they finish and print their figures, never the figures'
values (benchmarks report targets, tests do not assert them)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.integration.cli import cli_env


def _bench(module: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, "--quick"],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=540,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"no match for {pattern!r} in:\n{text}"
    return float(found.group(1).replace(",", ""))


@pytest.mark.timeout(600)
def test_sharded_training_quick_prints_both_rates_and_the_ratio() -> None:
    out = _bench("bench.sharded_training")
    assert _number(r"1 trainer process: median ([\d,]+)", out) > 0
    assert _number(r"2 trainer processes: median ([\d,]+)", out) > 0
    assert _number(r"ratio 2/1 per run: [\d.]+; median ([\d.]+)x", out) > 0
    assert "cores busy during the windows" in out


@pytest.mark.timeout(600)
def test_per_key_scale_quick_prints_memory_snapshots_and_handover() -> None:
    out = _bench("bench.per_key_scale")
    _number(
        r"per key: (-?[\d,]+) bytes", out
    )  # a resident-memory delta: its sign is noise at 200 keys
    assert _number(r"shard's publish: median ([\d.]+) ms", out) > 0
    assert _number(r"median ready_after_s at [\d,]+ keys: join ([\d.]+) s", out) > 0
