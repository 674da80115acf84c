"""Child processes that can never outlive us.

Every child runs in its own process group (so stopping it stops whatever it
started) and, on Linux, carries ``PR_SET_PDEATHSIG``: the kernel signals it the
moment its parent dies, even by ``kill -9``. Elsewhere a watchdog process polls
for the parent and kills the group when it is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1
DEFAULT_STOP_TIMEOUT_S = 5.0


def _death_signal_setter(sig: int) -> Callable[[], None] | None:
    """A preexec hook that asks the kernel to send `sig` when our parent exits."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody will signal us.
        if os.getppid() != parent:
            os._exit(1)

    return hook


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    stdout: IO[bytes] | int | None = None,
    stderr: IO[bytes] | int | None = None,
    death_signal: int = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start `argv` in a new process group that dies with this process."""
    proc = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=_death_signal_setter(death_signal),
    )
    if not sys.platform.startswith("linux"):
        _start_watchdog(proc.pid)
    return proc


def _start_watchdog(pgid: int) -> None:
    subprocess.Popen(
        [sys.executable, "-m", "lazarus.watchdog", str(os.getpid()), str(pgid)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send `sig` to the child's whole process group; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop(proc: subprocess.Popen[bytes], timeout: float = DEFAULT_STOP_TIMEOUT_S) -> int:
    """SIGTERM the child's group, wait up to `timeout`, then SIGKILL it. Returns the exit code."""
    if proc.poll() is None:
        signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
            proc.wait()
    # Grandchildren that ignored SIGTERM must not survive their parent.
    signal_group(proc, signal.SIGKILL)
    return proc.returncode


def stop_all(
    procs: Sequence[subprocess.Popen[bytes]], timeout: float = DEFAULT_STOP_TIMEOUT_S
) -> None:
    """Stop many children in parallel: signal all, then wait on the shared deadline."""
    for proc in procs:
        if proc.poll() is None:
            signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        remaining = max(0.0, deadline - time.monotonic())
        try:
            proc.wait(remaining)
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
            proc.wait()
        signal_group(proc, signal.SIGKILL)
