"""`lazarus up` as a user runs it: starts, shows status, stops cleanly, leaves nothing behind."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import tempfile
import time

from lazarus.embedded.ports import free_port
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus, lazarus_bg
from tests.proctools import pids_with, wait_gone


def _env(settings: Settings) -> tuple[dict[str, str], str, int]:
    port = free_port()
    env = cli_env(
        settings,
        LAZARUS_EMBEDDED="true",
        LAZARUS_EMBEDDED_BROKER_PORT=str(port),
        XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="lazarus-keys-"),
    )  # dev keys: not in ~
    return env, settings.redis_key_prefix, port


def _wait_for(proc: subprocess.Popen[str], text: str, timeout: float = 30.0) -> str:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
            if text in line:
                return seen
    raise AssertionError(f"{text!r} never appeared; output so far:\n{seen}")


def test_up_with_duration_runs_roles_and_exits_zero(settings: Settings) -> None:
    env, marker, port = _env(settings)
    result = lazarus("up", "--duration", "6", "--rate", "50", env=env, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert f"127.0.0.1:{port}" in out
    assert "producer:sensors" in out and "trainer:habitat" in out and "events/s" in out
    assert "development key" in out
    assert "stopped everything" in out
    assert wait_gone(marker, 5) == [] and wait_gone(f"127.0.0.1:{port}", 5) == []


def test_sigterm_stops_everything_fast_with_exit_zero(settings: Settings) -> None:
    env, marker, port = _env(settings)
    proc = lazarus_bg("up", "--rate", "50", env=env)
    try:
        _wait_for(proc, "roles started")
        assert pids_with(marker), "no role process is running"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    assert took < 10, f"stopping took {took:.1f}s"
    assert wait_gone(marker, 3) == [] and wait_gone(f"127.0.0.1:{port}", 3) == []


def test_ctrl_c_stops_everything_with_exit_zero(settings: Settings) -> None:
    env, marker, port = _env(settings)
    proc = lazarus_bg("up", "--rate", "50", env=env)
    try:
        _wait_for(proc, "roles started")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    assert wait_gone(marker, 3) == [] and wait_gone(f"127.0.0.1:{port}", 3) == []


def test_broker_death_is_reported_and_stops_everything_nonzero(settings: Settings) -> None:
    env, marker, port = _env(settings)
    proc = lazarus_bg("up", "--rate", "50", env=env)
    try:
        _wait_for(proc, "roles started")
        brokers = pids_with(f"127.0.0.1:{port}")
        assert brokers
        for pid in brokers:
            os.kill(pid, signal.SIGKILL)
        code = proc.wait(timeout=20)
        assert proc.stdout is not None
        rest = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 1
    assert "broker exited" in rest
    assert wait_gone(marker, 5) == []


def test_kill_9_of_up_leaves_no_process(settings: Settings) -> None:
    env, marker, port = _env(settings)
    proc = lazarus_bg("up", "--rate", "50", env=env)
    try:
        _wait_for(proc, "roles started")
        assert pids_with(marker)
        proc.kill()
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_gone(marker, 10) == [] and wait_gone(f"127.0.0.1:{port}", 5) == []


def test_port_in_use_is_one_line_naming_the_setting(settings: Settings) -> None:
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        env = cli_env(settings, LAZARUS_EMBEDDED="true", LAZARUS_EMBEDDED_BROKER_PORT=str(port))
        result = lazarus("up", "--duration", "1", env=env)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert str(port) in lines[0] and "LAZARUS_EMBEDDED_BROKER_PORT" in lines[0]


def test_up_refuses_exactly_once_scores_on_the_embedded_broker(settings: Settings) -> None:
    env, marker, _port = _env(settings)
    env["LAZARUS_SCORER_DELIVERY"] = "exactly-once"
    result = lazarus("up", "--duration", "6", env=env, timeout=60)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stdout + result.stderr
    assert "LAZARUS_SCORER_DELIVERY=exactly-once is refused" in lines[-1], result.stderr
    assert wait_gone(marker) == [], "no role was started"
