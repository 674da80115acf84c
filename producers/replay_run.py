"""`lazarus produce replay`'s shell: a recording's rows to a model's topics, counted.

The rows come from `lazarus.recording`; a converter (`producers.replay.Replayer` for the
habitat model's sensor readings, `producers.record_replay.RecordReplayer` for a records model)
turns each into its input event and outcome, or an error that is dead-lettered.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from lazarus.dead_letters.rejection import Rejection
from lazarus.errors import LazarusError
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, Publisher
from lazarus.producers.app import Report
from lazarus.producers.feed import FeedStats, Held, drain, release_due
from lazarus.producers.ids import epoch_ms
from lazarus.producers.replay import ReplayRow
from lazarus.recording import (
    DEFAULT_ENCODING,
    Record,
    check_header,
    count_rows,
    file_digest,
    read_rows,
)
from lazarus.schemas import Outcome
from lazarus.schemas.base import Event
from lazarus.schemas.deadletter import dead_letter_id
from lazarus.schemas.topics import DEAD_LETTERS, Topic
from lazarus.settings import Settings
from lazarus.stopsignal import StopRequested

log = logging.getLogger("lazarus.producers.app")


class Converter(Protocol):
    """Turns one row into its event and outcome, or its error (never raises)."""

    def convert(
        self, line: int, row: dict[str, Any], raw: bytes, now: datetime, loop: int = 0
    ) -> ReplayRow: ...


@dataclass(frozen=True)
class ReplayTarget:
    """Where a replay's rows go: the model's input and outcome topics (base names, before the
    topic prefix), and the converter for a file's content digest (its events' ids)."""

    topic: str
    outcome_topic: str
    converter: Callable[[str], Converter]
    create: tuple[str, ...] = ()
    """Topics (base names) created if missing before the first row is sent: a new model's."""


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
    settings: Settings, path: Path, target: ReplayTarget, opts: ReplayOptions, timeout: float
) -> Report:
    """Send every row of `path`: its input event to the target's topic, its Outcome to the
    target's outcome topic after the label delay, and a dead letter for each row that cannot
    be used. Events in the Report plus its dead letters are the rows read.

    Raises UnreadableHeader before anything is sent (a CSV header `opts.encoding` cannot
    decode), StrictAbort at the first bad row with `opts.strict`, and what `Publisher.start`
    raises when the broker has not answered within `timeout` seconds.
    """
    check_header(path, opts.encoding)
    replayer = target.converter(file_digest(path))
    stop = StopRequested.install()
    started = time.monotonic()
    publisher = Publisher(producer_config(settings)).start(timeout, stop.is_set)
    prefix = settings.topic_prefix
    if target.create:
        ensure_topics(
            client_config(settings, quiet=True),
            [prefix + name for name in target.create],
            settings.topic_partitions,
            settings.topic_replication_factor,
        )
    sender = ReplaySender(
        publisher,
        path,
        opts,
        prefix + target.topic,
        prefix + target.outcome_topic,
        DEAD_LETTERS.full(prefix),
    )
    try:
        _send_rows(sender, replayer, started, stop)
    finally:
        counts = publisher.close(SHUTDOWN_FLUSH_S)
    return Report.of(sender.stats, counts, started)


def _send_rows(
    sender: ReplaySender, replayer: Converter, started: float, stop: StopRequested
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
    """Where a replay's rows go: input events, held-back outcomes and dead letters, counted.

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

    def row(self, replayer: Converter, record: Record, loop: int) -> None:
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
                if result.label_problem is not None and self.opts.strict:
                    raise StrictAbort(
                        f"{self.path}:{record.line}: {result.label_problem} "
                        "(--strict: stopping at the first bad row)"
                    )
                self.send(result.reading, result.outcome)
        release_due(
            self.held,
            self.publisher,
            self.outcome_topic,
            self.stats,
            time.monotonic(),
            self.clock_ms,
        )

    def send(self, reading: Event, outcome: Outcome | None) -> None:
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
