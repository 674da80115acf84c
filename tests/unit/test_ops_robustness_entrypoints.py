"""Every command and role entry point answers a bad setting with one line naming the variable and
exit 2 (issue #12, item 10). Settings are read before any I/O, so no service is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lazarus.cli.main import main

ROOT = Path(__file__).resolve().parents[2]

ENTRY_POINTS = [
    ["lazarus", "status"],
    ["lazarus", "lag"],
    ["lazarus", "topics", "list"],
    ["lazarus", "dlq", "inspect"],
    ["lazarus", "config", "show"],
    ["lazarus", "models", "list"],
    ["lazarus", "up", "--duration", "1"],
    ["lazarus", "broker"],
    ["lazarus.trainer", "habitat"],
    ["lazarus.scorer", "habitat"],
    ["lazarus.producers", "sensors", "--count", "1"],
]

BAD_SETTINGS = [
    ("LAZARUS_REDIS_URL", "bogus"),
    ("LAZARUS_KAFKA_OPTIONS", "notjson"),
    ("LAZARUS_KAFKA_OPTIONS", '{"no.such.option": "1"}'),
    ("LAZARUS_KAFKA_OPTIONS", '{"acks": "1"}'),  # breaks the idempotent producer
    ("LAZARUS_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:port"),
]


def run_module(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(stderr: str, variable: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: setting {variable} is invalid: "), stderr


@pytest.mark.parametrize("args", ENTRY_POINTS, ids=" ".join)
def test_each_entry_point_process_answers_a_bad_setting_with_one_line_and_exit_2(
    args: list[str],
) -> None:
    variable, value = BAD_SETTINGS[ENTRY_POINTS.index(args) % len(BAD_SETTINGS)]
    result = run_module(args, {variable: value})
    assert result.returncode == 2, result.stderr
    one_error_line(result.stderr, variable)
    assert result.stdout == ""


@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS, ids=lambda v: str(v)[:24])
@pytest.mark.parametrize("args", ENTRY_POINTS, ids=" ".join)
def test_every_bad_setting_is_one_line_and_exit_2_for_every_command(
    args: list[str],
    variable: str,
    value: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In process, through the `main` that every `python -m` module calls."""
    for name in [k for k in os.environ if k.startswith("LAZARUS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exit_info:
        main(main_argv(args))
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    one_error_line(captured.err, variable)
    assert captured.out == ""


ROLE_MAIN = {"lazarus.trainer": "train", "lazarus.scorer": "score", "lazarus.producers": "produce"}


def main_argv(args: list[str]) -> list[str]:
    """What `main` gets: `lazarus X` is main([X]); `python -m lazarus.trainer X` is main(["train", X])
    (each role's __main__.py)."""
    return args[1:] if args[0] == "lazarus" else [ROLE_MAIN[args[0]], *args[1:]]


def test_a_number_in_kafka_options_is_accepted_everywhere() -> None:
    result = run_module(
        ["lazarus", "config", "show", "--json"], {"LAZARUS_KAFKA_OPTIONS": '{"linger.ms": 5}'}
    )
    assert result.returncode == 0, result.stderr
    assert '"linger.ms": 5' in result.stdout
