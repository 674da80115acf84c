"""Turn SIGINT and SIGTERM into a flag a loop can check, so shutdown runs in order."""

from __future__ import annotations

import signal
import threading
from types import FrameType


class StopRequested:
    """`stop = StopRequested.install()`, then `while not stop.is_set(): ...`."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None

    @classmethod
    def install(cls) -> StopRequested:
        stop = cls()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop._handle)
        return stop

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)
