"""The I/O shell of a feed: pace events, publish them, hold outcomes back by the label delay.

The stream is pure (payload, outcome) pairs; this module adds time and Kafka.
A constant label delay makes outcome due-times monotonic, so a deque is the queue.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lazarus.kafka.producer import Publisher
from producers.ids import Payload, encode

log = logging.getLogger(__name__)

PACE_EVERY = 64
"""Check the clock every this many events (cheap pacing at high rates)."""


@dataclass
class FeedStats:
    events: int = 0
    outcomes: int = 0
    outcomes_early: int = 0
    dead_lettered: int = 0


@dataclass(frozen=True)
class FeedLimits:
    rate: float | None = None
    """Events per second (None: as fast as the broker takes them)."""
    count: int | None = None
    duration: float | None = None
    label_delay: float = 0.0


def run_feed(
    stream: Iterator[tuple[Payload, Payload | None]],
    publisher: Publisher,
    *,
    topic: str,
    key_field: str,
    outcome_topic: str,
    limits: FeedLimits,
    stopped: Callable[[], bool],
    stats: FeedStats | None = None,
    on_event: Callable[[], None] | None = None,
) -> FeedStats:
    """Publish until count, duration or a stop; then send the outcomes still held back."""
    stats = stats or FeedStats()
    held: deque[tuple[float, Payload]] = deque()
    started = time.monotonic()
    interval = 1.0 / limits.rate if limits.rate else 0.0
    deadline = started + limits.duration if limits.duration is not None else None
    for payload, outcome in stream:
        if limits.count is not None and stats.events >= limits.count:
            break
        n = stats.events
        if n % PACE_EVERY == 0:
            now = time.monotonic()
            if stopped() or (deadline is not None and now >= deadline):
                break
            if interval:
                ahead = started + n * interval - now
                if ahead > 0:
                    time.sleep(ahead)
            _release_due(held, publisher, outcome_topic, stats, time.monotonic())
        elif interval:
            ahead = started + n * interval - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        publisher.publish(topic, payload[key_field], encode(payload))
        stats.events += 1
        if outcome is not None:
            if limits.label_delay <= 0:
                publisher.publish(outcome_topic, outcome["subject"], encode(outcome))
                stats.outcomes += 1
            else:
                held.append((time.monotonic() + limits.label_delay, outcome))
        if on_event is not None:
            on_event()
    _drain(held, publisher, outcome_topic, stats, stopped)
    return stats


def _release_due(held: deque[tuple[float, Payload]], publisher: Publisher, topic: str,
                 stats: FeedStats, now: float) -> None:
    while held and held[0][0] <= now:
        _, outcome = held.popleft()
        publisher.publish(topic, outcome["subject"], encode(outcome))
        stats.outcomes += 1


def _drain(held: deque[tuple[float, Payload]], publisher: Publisher, topic: str,
           stats: FeedStats, stopped: Callable[[], bool]) -> None:
    """Wait for held outcomes to come due; on a stop, send them at once so no feature loses its label."""
    while held and not stopped():
        _release_due(held, publisher, topic, stats, time.monotonic())
        publisher.poll(0.05)
    if held:
        log.info("stopping: sending %d held-back outcomes now, before their label delay", len(held))
        stats.outcomes_early += len(held)
        _release_due(held, publisher, topic, stats, float("inf"))
