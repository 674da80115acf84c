"""The lag exporter: consumer lag, in messages and in seconds, for Prometheus, from one place.

`lazarus lag-exporter` (`lazarus up` runs one) reads the lag of every trainer and scorer group
in a background thread every `interval` seconds, and serves it at `/metrics` on
`LAZARUS_METRICS_PORT` like every role (`lazarus.metrics`), with each group's sample age; the
metrics are listed in `lazarus.lag_metrics`. A scrape never waits on the broker: it returns
the last read. A broker that fails is reported (the sample age grows, failures are counted,
one log line), never fatal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from lazarus.errors import ConfigError
from lazarus.lag import LagMemo, PartitionLag, sample_lag
from lazarus.lag_metrics import LagBook
from lazarus.settings import Settings

log = logging.getLogger("lazarus.lag_exporter")

ROLE = "lag-exporter"
DEFAULT_INTERVAL_S = 5.0
"""Seconds between the starts of two reads of every group's lag."""

Reader = Callable[[], Mapping[str, Sequence[PartitionLag]]]
"""() -> group -> its lag per partition (each row with its `sampled_at`); raises when the broker
fails."""


def lag_reader(settings: Settings, groups: Mapping[str, tuple[str, ...]]) -> Reader:
    """The one call into `lazarus.lag`: every group's lag per partition, with its age in
    seconds, for `groups` (group -> topics) and every other `{prefix}lazarus.*` group that
    committed (a spec-file model's), remembering between reads what cannot have changed."""
    from lazarus.kafka.config import client_config

    conf = client_config(settings, quiet=True)
    memo = LagMemo()

    def read() -> Mapping[str, Sequence[PartitionLag]]:
        return sample_lag(conf, groups, prefix=settings.topic_prefix, memo=memo).groups

    return read


class LagExporter:
    """Reads the lag with `read` into `book` every `interval` seconds, in a daemon thread
    (`start()`, `stop()`); `read_all()` is one read, for tests."""

    def __init__(
        self,
        book: LagBook,
        read: Reader,
        interval: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.book = book
        self.interval = interval
        self._read = read
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lag-exporter", daemon=True)

    def read_all(self) -> None:
        """Read every group's lag once. A read that fails counts as failed for every group
        known; their last figures stay. A group the read no longer returns is forgotten."""
        at = self._clock()
        try:
            groups = self._read()
        except Exception as exc:  # the broker failing is shown (ages, failures), never fatal
            error = _one_line(exc)
            for group in self.book.groups():
                self._failed(group, error)
            return
        for group, rows in groups.items():
            if group in self.book.errors():
                log.info("lag of %s is read again", group)
            self.book.record(group, rows, min((r.sampled_at for r in rows), default=at))
        self.book.retain(groups)  # a group deleted from the broker stops being shown

    def _failed(self, group: str, error: str) -> None:
        if self.book.errors().get(group) != error:
            log.warning("cannot read the lag of %s: %s (its figures age; retrying)", group, error)
        self.book.failed(group, error)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.read_all()
            if self._stop.wait(max(0.05, self.interval - (time.monotonic() - started))):
                return

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading; a read in flight may finish after (a daemon thread)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def stats(self) -> dict[str, object]:
        """The exporter's heartbeat fields: its groups, the oldest read's age, failing groups."""
        now = self._clock()
        groups = self.book.groups()
        reads = [self.book.read_at(g) for g in groups]
        oldest = min((at for at in reads if at is not None), default=None)
        return {
            "groups": len(groups),
            "oldest_read_s": "" if oldest is None else round(max(0.0, now - oldest), 1),
            "failing": ",".join(sorted(self.book.errors())),
        }


def run(settings: Settings, interval: float = DEFAULT_INTERVAL_S) -> int:
    """Export the lag of every trainer and scorer group (and of every other `lazarus.*` group
    of LAZARUS_TOPIC_PREFIX that committed) until SIGINT or SIGTERM; returns 0.
    Raises ConfigError when LAZARUS_METRICS_PORT is -1 (nothing would be served)."""
    from lazarus.groups import known_groups
    from lazarus.heartbeat import running_heartbeat
    from lazarus.metrics import RoleMetrics
    from lazarus.stopsignal import StopRequested

    if settings.metrics_port < 0:
        raise ConfigError(
            "LAZARUS_METRICS_PORT=-1 turns /metrics off: the lag exporter would serve nothing"
        )
    stop = StopRequested.install()
    groups = known_groups(settings.topic_prefix)
    book = LagBook(groups, time.time())
    metrics = RoleMetrics(ROLE)
    metrics.collect_with(lambda: book.samples(time.time()))
    exporter = LagExporter(book, lag_reader(settings, groups), interval)
    with running_heartbeat(settings, ROLE, exporter.stats, metrics):
        exporter.start()
        log.info("reading the lag of %d groups every %.1fs", len(groups), interval)
        while not stop.wait(1.0):
            pass
        exporter.stop()
    log.info("lag exporter stopped (%s)", stop.signal_name or "stop")
    return 0


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
