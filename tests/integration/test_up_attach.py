"""A second terminal finds the running `lazarus up`: with no exports, `models list`, `status`,
`models verify` and the role commands (`produce replay`, `train survey.toml`) use its stack; once
`up` stops (or is killed), its runtime file no longer counts and commands behave as before."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from lazarus.embedded.ports import free_port
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.proctools import wait_gone

T = TypeVar("T")
NOTE = "using the stack of `lazarus up`"


@dataclass
class Up:
    proc: subprocess.Popen[bytes]
    log: Path
    port: int
    runtime: Path
    """Where `up` writes its runtime file."""
    clean: dict[str, str]
    """A second terminal of the same user: no LAZARUS_* variable at all."""
    key_dir: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 120.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def start_up(settings: Settings, tmp_path: Path, *args: str) -> Up:
    port = free_port()
    dirs = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    env = cli_env(settings, LAZARUS_EMBEDDED="true", LAZARUS_EMBEDDED_BROKER_PORT=str(port), **dirs)
    log = tmp_path / "up.log"
    with log.open("wb") as out:  # a file, not a pipe nobody reads while up runs
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lazarus",
                "up",
                "--rate",
                "50",
                "--dashboard-port",
                "-1",
                *args,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    up = Up(proc, log, port, tmp_path / "run" / "lazarus" / "up.json", cli_env(None, **dirs),
            tmp_path / "config" / "lazarus")  # fmt: skip
    wait_for(
        "`up` to start its roles",
        lambda: proc.poll() is None and "roles started" in up.output(),
        90,
    )
    return up


@pytest.fixture
def stop_up() -> Iterator[list[Up]]:
    """Whatever `up` a test started is killed at the end, with what it started."""
    started: list[Up] = []
    yield started
    for up in started:
        if up.proc.poll() is None:
            up.proc.kill()
        up.proc.wait(15)


def cli_json(up: Up, *args: str, timeout: float = 120.0) -> tuple[Any, str]:
    """`lazarus ARGS --json` in the second terminal: its JSON, and its stderr."""
    result = lazarus(*args, "--json", env=up.clean, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout), result.stderr


def write_survey(directory: Path) -> Path:
    """Rows of one survey: site (the key), date, depth, habitat and whether it was occupied."""
    path = directory / "survey.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["site", "date", "depth_m", "habitat", "occupied"])
        for i in range(120):
            depth = (i * 37 % 30) / 10
            habitat = ("reed bed", "open water", "carr woodland")[i % 3]
            label = "yes" if depth > 1.5 or habitat == "reed bed" else "no"
            out.writerow([f"site {i % 4}", f"2025-03-{1 + i // 5:02d}", depth, habitat, label])
    return path


def train_survey_in_second_terminal(up: Up, tmp_path: Path) -> None:
    """The new user's story: a spec file, its data replayed, its trainer run, its versions
    verified, all in a second terminal with no key and no Redis set."""
    data, spec = write_survey(tmp_path), tmp_path / "survey.toml"
    made = lazarus(
        "spec", "init", str(data), "--label-column", "occupied", "--key-column", "site",
        "--time-column", "date", "--name", "survey", "--out", str(spec), env=up.clean,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    spec.write_text(
        re.sub(r"(?m)^snapshot_seconds = .*$", "snapshot_seconds = 0.3", spec.read_text())
    )
    sent = lazarus(
        "produce", "replay", str(data), "--model", str(spec), "--label-delay", "1", env=up.clean
    )
    assert sent.returncode == 0 and NOTE in sent.stderr, sent.stdout + sent.stderr
    trainer = subprocess.Popen(
        [sys.executable, "-m", "lazarus", "train", str(spec)],
        env=up.clean, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def survey_published() -> bool:
            listed, _ = cli_json(up, "models", "list")
            return any(m["model"] == "survey" and m["n_learned"] for m in listed)

        wait_for("the second terminal's trainer to publish survey", survey_published)
        verified, _ = cli_json(up, "models", "verify", "survey")
        assert verified and all(v["ok"] for v in verified), verified
    finally:
        trainer.send_signal(signal.SIGTERM)
        out, _ = trainer.communicate(timeout=60)
    assert trainer.returncode == 0, out
    assert NOTE in out


def test_a_second_terminal_uses_the_running_stack(
    settings: Settings, tmp_path: Path, stop_up: list[Up]
) -> None:
    up = start_up(settings, tmp_path, "--scorers", "1")
    stop_up.append(up)
    bootstrap = f"127.0.0.1:{up.port}"
    assert up.runtime.stat().st_mode & 0o777 == 0o600
    assert json.loads(up.runtime.read_text())["pid"] == up.proc.pid
    assert f"export LAZARUS_KAFKA_BOOTSTRAP_SERVERS={bootstrap}" in up.output()
    assert f"export LAZARUS_REDIS_KEY_PREFIX={settings.redis_key_prefix}:embedded" in up.output()
    assert (
        f'export LAZARUS_SIGNING_PUBLIC_KEY="$(cat {up.key_dir / "dev-signing.pub"})"'
        in up.output()
    )

    def both_listed() -> tuple[Any, str] | None:
        listed, err = cli_json(up, "models", "list")
        return (listed, err) if {m["model"] for m in listed} >= {"habitat", "viability"} else None

    _, err = wait_for("both built-in models to be listed", both_listed)
    assert f"{NOTE} (pid {up.proc.pid})" in err
    status, err = cli_json(up, "status", timeout=180)
    assert status["ok"] and status["broker"]["bootstrap"] == bootstrap, status
    assert "habitat" in {m["model"] for m in status["models"]} and NOTE in err
    verified = lazarus("models", "verify", "habitat", env=up.clean)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "v1: ok" in verified.stdout and NOTE not in verified.stdout

    train_survey_in_second_terminal(up, tmp_path)

    up.proc.send_signal(signal.SIGTERM)
    assert up.proc.wait(30) == 0, up.output()[-3000:]
    assert not up.runtime.exists()
    after, err = cli_json(up, "config", "show")
    assert NOTE not in err
    assert after["LAZARUS_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert after["LAZARUS_REDIS_KEY_PREFIX"] == "lazarus"
    # without `up`, verify asks for the key again, and names the development key's file
    again = lazarus(
        "models",
        "verify",
        "habitat",
        env={**up.clean, "LAZARUS_REDIS_URL": settings.redis_url_value},
    )
    assert again.returncode == 2, again.stdout + again.stderr
    assert "LAZARUS_SIGNING_PUBLIC_KEY" in again.stderr
    assert str(up.key_dir / "dev-signing.pub") in again.stderr


def test_after_kill_9_of_up_its_stale_file_is_ignored(
    settings: Settings, tmp_path: Path, stop_up: list[Up]
) -> None:
    up = start_up(settings, tmp_path, "--scorers", "0")
    stop_up.append(up)
    before, err = cli_json(up, "config", "show")
    assert before["LAZARUS_KAFKA_BOOTSTRAP_SERVERS"] == f"127.0.0.1:{up.port}" and NOTE in err

    os.kill(up.proc.pid, signal.SIGKILL)
    up.proc.wait(15)
    assert wait_gone(f"127.0.0.1:{up.port}", 30) == [], "the broker outlived `up`"
    assert up.runtime.exists()  # nobody removed it: readers must see it is stale
    after, err = cli_json(up, "config", "show")
    assert NOTE not in err
    assert after["LAZARUS_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert after["LAZARUS_REDIS_KEY_PREFIX"] == "lazarus"
