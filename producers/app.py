"""Wiring for producer processes: settings in, Kafka and Redis out, counts reported at the end."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from lazarus.dead_letters.rejection import Rejection
from lazarus.errors import LazarusError
from lazarus.heartbeat import running_heartbeat
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, DeliveryCounts, Publisher
from lazarus.metrics import RoleMetrics, Sample, counted
from lazarus.producers.feed import FeedLimits, FeedStats, Held, drain, release_due, run_feed
from lazarus.producers.ids import Emitted, Stamped, epoch_ms
from lazarus.producers.recording import (
    DEFAULT_ENCODING,
    Record,
    check_header,
    count_rows,
    file_digest,
    read_rows,
)
from lazarus.producers.replay import ReplayConfig, Replayer
from lazarus.schemas import Outcome, SensorReading
from lazarus.schemas.deadletter import dead_letter_id
from lazarus.schemas.topics import DEAD_LETTERS, HABITAT_OUTCOMES, SENSOR_READINGS, Topic
from lazarus.settings import Settings
from lazarus.stopsignal import StopRequested

log = logging.getLogger(__name__)


@dataclass
class Report:
    """What a producer run did, printed on exit (also on Ctrl-C)."""

    events: int
    outcomes: int
    sent: int
    acked: int
    failed: int
    dead_lettered: int
    seconds: float

    @classmethod
    def of(cls, stats: FeedStats, counts: DeliveryCounts, started: float) -> Report:
        return cls(
            stats.events,
            stats.outcomes,
            counts.sent,
            counts.acked,
            counts.failed,
            stats.dead_lettered,
            time.monotonic() - started,
        )

    def line(self) -> str:
        return (
            f"sent {self.sent} (events {self.events}, outcomes {self.outcomes}), "
            f"acked {self.acked}, failed {self.failed}, dead-lettered {self.dead_lettered} "
            f"in {self.seconds:.1f}s"
        )


def run_simulation(
    settings: Settings,
    role: str,
    stream: Iterator[Emitted | Stamped],
    topic: Topic[Any],
    outcome_topic: Topic[Any],
    limits: FeedLimits,
    timeout: float,
) -> Report:
    stop = StopRequested.install()
    started = time.monotonic()
    publisher = Publisher(producer_config(settings)).start(timeout, stop.is_set)
    stats = FeedStats()

    def beat() -> dict[str, object]:
        return {
            "events_out": stats.events + stats.outcomes,
            "acked": publisher.counts.acked,
            "failed": publisher.counts.failed,
        }

    metrics = RoleMetrics(role)
    events_topic, outcomes_topic = (
        topic.full(settings.topic_prefix),
        outcome_topic.full(settings.topic_prefix),
    )
    metrics.collect_with(
        lambda: [
            *counted(
                "events_out",
                "messages published",
                role,
                {events_topic: stats.events, outcomes_topic: stats.outcomes},
            ),
            Sample(
                "delivery_failures",
                "counter",
                "messages the broker never acknowledged",
                {"role": role},
                publisher.counts.failed,
            ),
        ]
    )
    with running_heartbeat(settings, role, beat, metrics):
        try:
            run_feed(
                stream,
                publisher,
                topic=topic.full(settings.topic_prefix),
                outcome_topic=outcome_topic.full(settings.topic_prefix),
                limits=limits,
                stopped=stop.is_set,
                stats=stats,
            )
        finally:
            counts = publisher.close(SHUTDOWN_FLUSH_S)
    return Report.of(stats, counts, started)


@dataclass(frozen=True)
class ReplayOptions:
    rate: float | None
    loop: bool
    strict: bool
    label_delay: float
    progress: bool
    encoding: str = DEFAULT_ENCODING


class StrictAbort(LazarusError):
    """--strict and a row failed."""


def run_replay(
    settings: Settings, path: Path, cfg: ReplayConfig, opts: ReplayOptions, timeout: float
) -> Report:
    """Send every row of `path`: a SensorReading to the sensor-readings topic, its Outcome to
    the habitat-outcomes topic after the label delay, and a dead letter for each row that
    cannot be used. Events in the Report plus its dead letters are the rows read.

    Raises UnreadableHeader before anything is sent (a CSV header `opts.encoding` cannot
    decode), StrictAbort at the first bad row with `opts.strict`, and what `Publisher.start`
    raises when the broker has not answered within `timeout` seconds.
    """
    check_header(path, opts.encoding)
    replayer = Replayer(cfg, file_digest(path))
    stop = StopRequested.install()
    started = time.monotonic()
    publisher = Publisher(producer_config(settings)).start(timeout, stop.is_set)
    prefix = settings.topic_prefix
    sender = ReplaySender(
        publisher,
        path,
        opts,
        SENSOR_READINGS.full(prefix),
        HABITAT_OUTCOMES.full(prefix),
        DEAD_LETTERS.full(prefix),
    )
    try:
        _send_rows(sender, replayer, started, stop)
    finally:
        counts = publisher.close(SHUTDOWN_FLUSH_S)
    return Report.of(sender.stats, counts, started)


def _send_rows(
    sender: ReplaySender, replayer: Replayer, started: float, stop: StopRequested
) -> None:
    """Every row once (or over and over until stopped, with `--loop`), paced by the rate,
    under a progress bar; then the held-back outcomes."""
    opts, path, stats = sender.opts, sender.path, sender.stats
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rows"),
        TimeRemainingColumn(),
        disable=not opts.progress,
        transient=False,
    )
    with progress:
        loop = 0
        while not stop.is_set():
            task = progress.add_task(
                f"replay {path.name}" + (f" (loop {loop + 1})" if opts.loop else ""),
                total=count_rows(path),
            )
            for n, record in enumerate(read_rows(path, opts.encoding)):
                if stop.is_set():
                    break
                if opts.rate:
                    done = stats.events + stats.dead_lettered
                    ahead = started + done / opts.rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                sender.row(replayer, record, loop)
                progress.update(task, completed=n + 1)
            loop += 1
            if not opts.loop:
                break
        drain(sender.held, sender.publisher, sender.outcome_topic, stats, stop.is_set)


class ReplaySender:
    """Where a replay's rows go: readings, held-back outcomes and dead letters, counted.

    Readings keep the producer's clock as their Kafka timestamp: recorded data is in the
    past, where a broker's time-based retention would delete it at once. Outcomes are held
    back by the label delay, and released early when the replay's event time (the newest
    reading's) reaches theirs, as in `producers.feed`.
    """

    def __init__(
        self,
        publisher: Publisher,
        path: Path,
        opts: ReplayOptions,
        topic: str,
        outcome_topic: str,
        dlq_topic: str,
    ) -> None:
        self.publisher = publisher
        self.path = path
        self.opts = opts
        self.topic = topic
        self.outcome_topic = outcome_topic
        self.dlq_topic = dlq_topic
        self.stats = FeedStats()
        self.held: Held = deque()
        self.clock_ms: int | None = None

    def row(self, replayer: Replayer, record: Record, loop: int) -> None:
        """One row: sent, or dead-lettered with its line number (StrictAbort with --strict)."""
        if record.row is None:
            self.reject(record.line, record.raw, record.problem or "unreadable", "ParseError", loop)
        else:
            now = datetime.now().astimezone()
            result = replayer.convert(record.line, record.row, record.raw, now, loop)
            if result.reading is None:
                error = result.error or "unusable"
                self.reject(record.line, record.raw, error, result.error_class or "Error", loop)
            else:
                self.send(result.reading, result.outcome)
        release_due(
            self.held,
            self.publisher,
            self.outcome_topic,
            self.stats,
            time.monotonic(),
            self.clock_ms,
        )

    def send(self, reading: SensorReading, outcome: Outcome | None) -> None:
        key = reading.key
        self.publisher.publish(self.topic, key, Topic.encode(reading))
        self.stats.events += 1
        at_ms = epoch_ms(reading.event_time)
        self.clock_ms = at_ms if self.clock_ms is None else max(self.clock_ms, at_ms)
        if outcome is not None:
            due = time.monotonic() + self.opts.label_delay
            self.held.append((due, epoch_ms(outcome.event_time), key, Topic.encode(outcome), None))

    def reject(self, line: int, raw: bytes, reason: str, error_class: str, loop: int) -> None:
        if self.opts.strict:
            raise StrictAbort(
                f"{self.path}:{line}: {reason} (--strict: stopping at the first bad row)"
            )
        if self.stats.dead_lettered < 10 or self.stats.dead_lettered % 1000 == 0:
            log.warning("%s:%d: %s; sent to the dead-letter topic", self.path, line, reason)
        letter = Rejection(
            stage="producer",
            raw=raw,
            reason=reason,
            error_class=error_class,
            file=str(self.path),
            line=line,
            letter_id=dead_letter_id(f"file:{self.path.resolve()}:{loop}", line),
        ).letter()
        self.publisher.publish(self.dlq_topic, letter.event_id, Topic.encode(letter))
        self.stats.dead_lettered += 1
