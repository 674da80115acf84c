"""Lag sampled in a background thread, so that what shows it (the `up` table) never waits on
the broker: `latest()` returns the last sample at once, with its `sampled_at`, however old."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence

from lazarus.kafka.config import KafkaConfig
from lazarus.lag import LagMemo, LagSample, sample_lag

log = logging.getLogger(__name__)

LAG_EVERY_S = 2.0
"""Seconds between the starts of two samples (a slow sample is followed at once by the next)."""


class LagPoller:
    """Samples `groups` (group -> topics; with `prefix`, also the other `{prefix}lazarus.*`
    groups) every `every` seconds in a daemon thread: `start()`, `latest()`, `stop()`.
    A failed sample keeps the previous one (its age grows) and sets `error`."""

    def __init__(
        self,
        conf: KafkaConfig,
        groups: Mapping[str, Sequence[str]],
        *,
        every: float = LAG_EVERY_S,
        prefix: str | None = None,
    ) -> None:
        self.every = every
        self.error: str | None = None
        """Why the last sample failed (None: it did not)."""
        self._conf = conf
        self._groups = {g: tuple(t) for g, t in groups.items()}
        self._prefix = prefix
        self._memo = LagMemo()
        self._latest: LagSample | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lag-poller", daemon=True)

    def latest(self) -> LagSample | None:
        """The last sample taken (None before the first)."""
        return self._latest

    def sample(self) -> LagSample:
        """Take one sample now (in the caller's thread); it becomes `latest()`."""
        sample = sample_lag(self._conf, self._groups, prefix=self._prefix, memo=self._memo)
        self._latest = sample
        return sample

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop; a sample in flight may finish after (a daemon thread)."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.sample()
                if self.error is not None:
                    log.info("consumer lag can be read again")
                self.error = None
            except Exception as exc:  # a lag sample must never stop what shows it
                if self.error is None:
                    log.debug("consumer lag unavailable: %s", exc)
                self.error = str(exc) or type(exc).__name__
            if self._stop.wait(max(0.0, self.every - (time.monotonic() - started))):
                return
