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

from lazarus.heartbeat import running_heartbeat
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, DeliveryCounts, Publisher
from lazarus.metrics import RoleMetrics, Sample, counted
from lazarus.settings import Settings
from lazarus.stopsignal import StopRequested
from producers.feed import FeedLimits, FeedStats, drain, release_due, run_feed
from producers.ids import Emitted
from producers.replay import Replayer, count_rows, read_rows
from schemas import DeadLetter
from schemas.deadletter import dead_letter_id
from schemas.topics import DEAD_LETTERS, Topic

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
    stream: Iterator[Emitted],
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


class StrictAbort(Exception):
    """--strict and a row failed."""


def run_replay(
    settings: Settings,
    path: Path,
    replayer: Replayer,
    opts: ReplayOptions,
    topic: Topic[Any],
    outcome_topic: Topic[Any],
    timeout: float,
) -> Report:  # type: ignore[type-arg]
    stop = StopRequested.install()
    started = time.monotonic()
    publisher = Publisher(producer_config(settings)).start(timeout, stop.is_set)
    stats = FeedStats()
    held: deque[tuple[float, str, bytes]] = deque()
    total = count_rows(path)
    prefix = settings.topic_prefix
    dlq_topic = DEAD_LETTERS.full(prefix)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rows"),
        TimeRemainingColumn(),
        disable=not opts.progress,
        transient=False,
    )
    try:
        with progress:
            loop = 0
            while not stop.is_set():
                task = progress.add_task(
                    f"replay {path.name}" + (f" (loop {loop + 1})" if opts.loop else ""),
                    total=total,
                )
                for n, (line, row, raw, problem) in enumerate(read_rows(path)):
                    if stop.is_set():
                        break
                    if opts.rate:
                        ahead = (
                            started
                            + (stats.events + stats.dead_lettered) / opts.rate
                            - time.monotonic()
                        )
                        if ahead > 0:
                            time.sleep(ahead)
                    now = datetime.now().astimezone()
                    result = (
                        replayer.convert(line, row, raw, now, loop) if row is not None else None
                    )
                    error = problem if result is None else result.error
                    if error is not None:
                        if opts.strict:
                            raise StrictAbort(
                                f"{path}:{line}: {error} (--strict: stopping at the first bad row)"
                            )
                        log.warning("%s:%d: %s; sent to the dead-letter topic", path, line, error)
                        dl = _dead_letter(
                            path,
                            line,
                            raw,
                            error,
                            (result.error_class if result else None) or "ParseError",
                            loop,
                        )
                        publisher.publish(dlq_topic, dl.event_id, dl.model_dump_json().encode())
                        stats.dead_lettered += 1
                    else:
                        assert result is not None and result.reading is not None
                        key = result.reading.key
                        publisher.publish(topic.full(prefix), key, Topic.encode(result.reading))
                        stats.events += 1
                        if result.outcome is not None:
                            held.append(
                                (
                                    time.monotonic() + opts.label_delay,
                                    key,
                                    Topic.encode(result.outcome),
                                )
                            )
                    release_due(
                        held, publisher, outcome_topic.full(prefix), stats, time.monotonic()
                    )
                    progress.update(task, completed=n + 1)
                loop += 1
                if not opts.loop:
                    break
            drain(held, publisher, outcome_topic.full(prefix), stats, stop.is_set)
    finally:
        counts = publisher.close(SHUTDOWN_FLUSH_S)
    return Report.of(stats, counts, started)


def _dead_letter(
    path: Path, line: int, raw: str, reason: str, error_class: str, loop: int
) -> DeadLetter:
    payload, encoding = DeadLetter.encode_payload(raw.encode())
    return DeadLetter(
        event_id=dead_letter_id(f"file:{path.resolve()}:{loop}", line),
        event_time=datetime.now().astimezone(),
        stage="producer",
        reason=reason,
        error_class=error_class,
        origin_file=str(path),
        origin_line=line,
        payload=payload,
        payload_encoding=encoding,
    )
