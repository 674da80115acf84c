"""Run the roles as child processes, watch them, stop them all together.

The supervisor owns every child: each runs in its own process group and dies
with us (see `processes`). A child or the broker dying is reported and ends
the run with a non-zero exit; a stop request ends it with 0.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lazarus import processes
from lazarus.settings import Settings

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 6.0


@dataclass(frozen=True)
class RoleSpec:
    """One child: its name (`producer:sensors`), its command line and its consumer group, if any."""

    name: str
    argv: tuple[str, ...]
    group: str | None = None
    topics: tuple[str, ...] = ()
    finishes: bool = False
    """True when exiting 0 is a normal end (a producer with --count), not a failure."""
    drop_env: tuple[str, ...] = ()
    """Settings this role must not see (the signing key is for trainers only)."""


@dataclass
class Child:
    spec: RoleSpec
    proc: subprocess.Popen[bytes]
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)

    @property
    def state(self) -> str:
        rc = self.proc.poll()
        return "running" if rc is None else f"exited {rc}"


class Supervisor:
    def __init__(self, settings: Settings, roles: Sequence[RoleSpec], log_dir: Path) -> None:
        self._settings = settings
        self._roles = list(roles)
        self._log_dir = log_dir
        self.children: list[Child] = []

    def start(self) -> None:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self._settings.child_env(), "PYTHONUNBUFFERED": "1"}
        for spec in self._roles:
            path = self._log_dir / f"{spec.name.replace(':', '-').replace('#', '-')}.log"
            role_env = {k: v for k, v in env.items() if k not in spec.drop_env}
            with open(path, "ab") as out:
                proc = processes.spawn(
                    spec.argv, env=role_env, stdout=out, stderr=subprocess.STDOUT
                )
            self.children.append(Child(spec, proc, path))
            log.info("started %s (pid %d), log: %s", spec.name, proc.pid, path)

    def failure(self, broker_alive: Callable[[], bool]) -> str | None:
        """What went wrong, if anything: the broker died, or a child exited when it should not."""
        if not broker_alive():
            return "the embedded broker exited; stopping everything"
        for child in self.children:
            rc = child.proc.poll()
            if rc is None or (rc == 0 and child.spec.finishes):
                continue
            tail = _tail(child.log_path)
            return (
                f"{child.spec.name} exited with code {rc}; its log ({child.log_path}) ends:\n{tail}"
            )
        return None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        processes.stop_all([c.proc for c in self.children], timeout=timeout)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
