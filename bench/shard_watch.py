"""Helpers of the per-key benches (issue #18): sharded trainer processes, their heartbeats, and
where the machine's CPU goes while they run (Linux /proc)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from lazarus.registry.keys import role_key
from lazarus.settings import Settings
from tests.integration.cli import cli_env
from tests.integration.shardkit import MODEL

ROLE = f"trainer:{MODEL}"
HEARTBEAT_S = 0.1
"""Trainers beat this often in the benches (the default is 1 s): the figures' resolution."""

Shards = dict[int, dict[str, object]]
"""Shard number -> its heartbeat entry (`version`, `n_learned`, `keys`, `ready_after_s`) plus
`at`, the heartbeat's own time (epoch seconds)."""


@contextmanager
def trainer_logs(name: str) -> Iterator[Path]:
    """A directory for the trainers' output, removed when the block ends well and kept (the
    error names it) when it raises."""
    logs = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    yield logs
    shutil.rmtree(logs, ignore_errors=True)


def spawn(s: Settings, logs: Path, *options: str) -> subprocess.Popen[bytes]:
    """`python -m lazarus.trainer habitat_sites [options]`, its output in a file under `logs`."""
    out = (logs / f"trainer-{uuid.uuid4().hex[:6]}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "lazarus.trainer", MODEL, *options],
        env=cli_env(s),
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every trainer still running (each publishes its final versions), wait for all."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check(procs: list[subprocess.Popen[bytes]], deadline: float, logs: Path) -> None:
    """Exit the bench (naming the logs) if a trainer died or `deadline` (monotonic) passed."""
    for proc in procs:
        if proc.poll() is not None:
            raise SystemExit(f"trainer {proc.pid} exited with {proc.returncode}; logs in {logs}")
    if time.monotonic() > deadline:
        raise SystemExit(f"timed out waiting for the trainers; logs in {logs}")


def shards_of(client: redis.Redis, prefix: str, pid: int) -> Shards:
    """The shards trainer `pid` owns, as its last heartbeat says (empty before its first)."""
    row = client.hgetall(role_key(prefix, ROLE, f"{socket.gethostname()}-{pid}"))
    if not row:
        return {}
    at = float(row[b"updated_at"])
    return {int(p): {**v, "at": at} for p, v in json.loads(row.get(b"shards") or b"{}").items()}


def num(value: object) -> float:
    """A heartbeat entry's number ("" or None: 0)."""
    return float(value or 0)  # type: ignore[arg-type]


def machine_busy_s() -> float:
    """CPU seconds spent busy by every process on the machine so far (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of a process's threads: `main` (the step loop: decode, join, learn, publish),
    `librdkafka` (threads named rdk:*: fetch and produce) and `other` (heartbeat, metrics)."""
    tick = os.sysconf("SC_CLK_TCK")
    parts = {"main": 0.0, "librdkafka": 0.0, "other": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            head, tail = (task / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue  # the thread ended meanwhile
        comm, fields = head.split("(", 1)[1], tail.split()
        main = task.name == str(pid)
        which = "main" if main else "librdkafka" if comm.startswith("rdk:") else "other"
        parts[which] += (int(fields[11]) + int(fields[12])) / tick
    return parts
