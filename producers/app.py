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


def feed_beat(stats: FeedStats, counts: DeliveryCounts) -> dict[str, int]:
    """A producer's heartbeat fields: input events and outcomes sent, apart (so events/s, the
    rate of `events_out`, counts events as `--rate` does), and deliveries acknowledged/failed."""
    return {
        "events_out": stats.events,
        "outcomes_out": stats.outcomes,
        "acked": counts.acked,
        "failed": counts.failed,
    }


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

    def rates(self) -> tuple[float, float]:
        """(events/s, outcomes/s) over the run; outcomes are not events."""
        seconds = max(self.seconds, 1e-9)
        return self.events / seconds, self.outcomes / seconds

    def line(self) -> str:
        """e.g. `sent 400 (events 200, outcomes 200), acked 400, failed 0, dead-lettered 0 in
        1.0s (200 events/s, 200 outcomes/s)`."""
        events_per_s, outcomes_per_s = self.rates()
        return (
            f"sent {self.sent} (events {self.events}, outcomes {self.outcomes}), "
            f"acked {self.acked}, failed {self.failed}, dead-lettered {self.dead_lettered} "
            f"in {self.seconds:.1f}s ({events_per_s:,.0f} events/s, "
            f"{outcomes_per_s:,.0f} outcomes/s)"
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

    def beat() -> dict[str, int]:
        return feed_beat(stats, publisher.counts)

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
