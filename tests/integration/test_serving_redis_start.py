"""A role that finds no Redis at start says so in one line naming LAZARUS_REDIS_URL and exits 1,
the scorer (one worker or a pool) as the trainer, within the same Redis start timeout."""

from __future__ import annotations

import subprocess
import sys
import time

from lazarus.embedded.ports import free_port
from lazarus.redisconn import START_TIMEOUT_S
from lazarus.settings import Settings
from tests.integration.cli import cli_env
from tests.integration.trainerkit import with_keys

PROCESS_START_S = 20.0
"""Generous room for a Python process to import and connect, with the other core busy."""


def start(module: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


def test_no_redis_at_start_is_one_line_and_exit_1_for_every_role(
    settings: Settings, topics: list[str]
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there; Kafka is up
    env = cli_env(with_keys(settings).with_overrides(redis_url=closed))
    started = time.monotonic()
    roles = {
        "scorer": start("lazarus.scorer", "habitat", "--timeout", "60", env=env),
        "scorer pool": start("lazarus", "score", "habitat", "--workers", "2", env=env),
        "trainer": start("lazarus.trainer", "habitat", "--timeout", "60", env=env),
    }
    try:
        for role, proc in roles.items():
            _, err = proc.communicate(timeout=START_TIMEOUT_S + PROCESS_START_S)
            elapsed = time.monotonic() - started
            lines = [line for line in err.splitlines() if line.strip()]
            assert proc.returncode == 1, f"{role}: exit {proc.returncode}\n{err}"
            assert len(lines) == 1, f"{role} printed more than one line:\n{err}"
            assert "LAZARUS_REDIS_URL" in lines[0] and "Traceback" not in err, err
            assert elapsed < START_TIMEOUT_S + PROCESS_START_S, f"{role} took {elapsed:.1f}s"
    finally:
        for proc in roles.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
