"""Wiring for producer processes: settings in, Kafka and Redis out, counts reported at the end."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lazarus.heartbeat import running_heartbeat
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, DeliveryCounts, Publisher
from lazarus.metrics import RoleMetrics, Sample, counted
from lazarus.producers.feed import FeedLimits, FeedStats, run_feed
from lazarus.producers.ids import Emitted, Stamped
from lazarus.schemas.topics import Topic
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
