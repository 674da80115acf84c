"""scripts/test plans its passes: the whole suite on Tansu, then tests/integration on Apache Kafka.

The script runs for real against a stand-in virtualenv whose `python` records each pytest run
(its arguments and LAZARUS_TEST_KAFKA) and exits with the code the test asks for, so no test
runs twice and nothing is installed (a stand-in `id` says we are not root: no apt-get).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "test"
KAFKA = (
    "Apache Kafka "
    + re.findall(r'^VERSION = "(.+)"$', (REPO / "scripts" / "kafka").read_text(), re.MULTILINE)[0]
)

FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1 $2" = "-m pip" ]; then exit 0; fi
if [ "$1" = scripts/kafka ]; then echo "kafka $2" >> "$FAKE_LOG"; exit "${FAKE_FETCH:-0}"; fi
shift 2  # -m pytest
echo "pytest [${LAZARUS_TEST_KAFKA-}] $*" >> "$FAKE_LOG"
n=$(grep -c '^pytest' "$FAKE_LOG")
exit "$(echo "$FAKE_CODES" | cut -d' ' -f"$n")"
"""


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    calls: list[str]

    @property
    def pytest_runs(self) -> list[str]:
        return [c.removeprefix("pytest ").strip() for c in self.calls if c.startswith("pytest")]


class RunScript(Protocol):
    def __call__(self, *args: str, codes: str = "0 0", **env: str) -> Run: ...


@pytest.fixture
def run_script(tmp_path: Path) -> RunScript:
    venv_bin, fake_bin = tmp_path / "venv" / "bin", tmp_path / "bin"
    for folder, name, text in (
        (venv_bin, "python", FAKE_PYTHON),
        (fake_bin, "id", "#!/bin/sh\necho 1000\n"),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    log = tmp_path / "calls.log"

    def run(*args: str, codes: str = "0 0", **env: str) -> Run:
        log.write_text("")
        base = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_TEST_")}
        proc = subprocess.run(
            [str(SCRIPT), *args],
            env={
                **base,
                "PATH": f"{fake_bin}:{base['PATH']}",
                "LAZARUS_VENV": str(tmp_path / "venv"),
                "FAKE_LOG": str(log),
                "FAKE_CODES": codes,
                **env,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr, log.read_text().splitlines())

    return run


def test_no_arguments_run_the_suite_on_tansu_then_integration_on_apache(
    run_script: RunScript,
) -> None:
    run = run_script()
    assert run.code == 0, run.stderr
    assert run.pytest_runs == ["[]", "[apache] tests/integration"]
    assert "kafka fetch" in run.calls
    headers = [line for line in run.stdout.splitlines() if line.startswith("== pass")]
    assert headers == [
        "== pass 1/2: whole suite on Tansu (embedded) ==",
        f"== pass 2/2: integration tests on {KAFKA} ==",
    ]


@pytest.mark.parametrize(("codes", "status"), [("1 0", 1), ("0 1", 1), ("1 1", 1), ("0 0", 0)])
def test_options_alone_keep_both_passes_and_either_failure_fails(
    run_script: RunScript,
    codes: str,
    status: int,
) -> None:
    run = run_script("-q", "-k", "lag", codes=codes)
    assert run.pytest_runs == ["[] -q -k lag", "[apache] -q -k lag tests/integration"]
    assert run.code == status
    first, second = ("passed" if c == "0" else "failed (exit 1)" for c in codes.split())
    assert f"== summary: pass 1/2 on Tansu (embedded): {first}; " in run.stdout
    assert f"; pass 2/2 on {KAFKA}: {second} ==" in run.stdout


def test_a_test_path_is_one_run_on_tansu(run_script: RunScript) -> None:
    run = run_script("tests/unit", "-x", codes="1")
    assert (run.code, run.pytest_runs) == (1, ["[] tests/unit -x"])
    assert "kafka fetch" not in run.calls


@pytest.mark.parametrize(
    ("brokers", "args", "runs"),
    [
        ("apache", ["-q"], ["[apache] -q tests/integration"]),
        ("tansu", ["-q"], ["[] -q"]),
        ("both", ["tests/integration/test_lag.py"], ["[] tests/integration/test_lag.py",
                                                     "[apache] tests/integration/test_lag.py"]),
    ],
)  # fmt: skip
def test_lazarus_test_brokers_picks_the_passes(
    run_script: RunScript,
    brokers: str,
    args: list[str],
    runs: list[str],
) -> None:
    run = run_script(*args, LAZARUS_TEST_BROKERS=brokers)
    assert (run.code, run.pytest_runs) == (0, runs)


def test_a_named_broker_is_one_run_as_before(run_script: RunScript) -> None:
    run = run_script("-q", LAZARUS_TEST_KAFKA="127.0.0.1:9092")
    assert (run.code, run.pytest_runs) == (0, ["[127.0.0.1:9092] -q"])


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LAZARUS_TEST_BROKERS": "kafka"}, "LAZARUS_TEST_BROKERS=kafka"),
        ({"LAZARUS_TEST_BROKERS": "both", "LAZARUS_TEST_KAFKA": "apache"}, "LAZARUS_TEST_KAFKA"),
    ],
)
def test_a_bad_choice_is_one_line_and_exit_2(
    run_script: RunScript, env: dict[str, str], named: str
) -> None:
    run = run_script(**env)
    assert run.code == 2
    assert run.stderr.count("\n") == 1 and named in run.stderr
    assert run.calls == []  # refused before anything is installed or run


@pytest.mark.parametrize(("args", "codes"), [(["-q"], "2"), (["-x"], "1"), (["--maxfail=3"], "1")])
def test_an_interruption_or_exitfirst_stops_after_the_first_pass(
    run_script: RunScript,
    args: list[str],
    codes: str,
) -> None:
    run = run_script(*args, codes=codes)
    assert run.code == int(codes)
    assert len(run.pytest_runs) == 1
    assert "the rest not run" in run.stdout


def test_apache_kafka_that_cannot_be_fetched_fails_its_pass(run_script: RunScript) -> None:
    run = run_script("-q", FAKE_FETCH="1")
    assert run.code == 1
    assert run.pytest_runs == ["[] -q"]
    assert "could not be fetched" in run.stderr


def test_options_that_select_nothing_under_integration_are_not_a_failure(
    run_script: RunScript,
) -> None:
    run = run_script("-k", "test_settings", codes="0 5")
    assert run.code == 0
