"""The I/O shell of a feed: pace events, publish them, hold outcomes back by the label delay.

The stream is pure (payload, outcome) pairs; this module adds time and Kafka.
A constant label delay makes outcome due-times monotonic, so a deque is the queue.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lazarus.kafka.producer import Publisher
from producers.ids import Emitted

log = logging.getLogger(__name__)

MAX_CHUNK = 256
"""At most this many events between two looks at the clock."""
PACE_S = 0.01
"""A chunk spans at most this long at the target rate."""


@dataclass
class FeedStats:
    events: int = 0
    outcomes: int = 0
    dead_lettered: int = 0


@dataclass(frozen=True)
class FeedLimits:
    rate: float | None = None
    """Events per second (None: as fast as the broker takes them)."""
    count: int | None = None
    duration: float | None = None
    label_delay: float = 0.0


def run_feed(
    stream: Iterator[Emitted],
    publisher: Publisher,
    *,
    topic: str,
    outcome_topic: str,
    limits: FeedLimits,
    stopped: Callable[[], bool],
    stats: FeedStats | None = None,
) -> FeedStats:
    """Publish until count, duration or a stop; then send the outcomes still held back.

    Events go out in chunks that span at most `PACE_S` at the target rate, so
    pacing stays smooth at low rates and per-event overhead stays low at high ones.
    """
    stats = stats or FeedStats()
    held: deque[tuple[float, str, bytes]] = deque()
    started = time.monotonic()
    deadline = started + limits.duration if limits.duration is not None else None
    chunk_size = max(1, min(MAX_CHUNK, int(limits.rate * PACE_S))) if limits.rate else MAX_CHUNK
    delay = limits.label_delay
    while not stopped() and (deadline is None or time.monotonic() < deadline):
        want = chunk_size if limits.count is None else min(chunk_size, limits.count - stats.events)
        chunk = list(itertools.islice(stream, want)) if want > 0 else []
        if not chunk:
            break
        if limits.rate:
            ahead = started + stats.events / limits.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        messages: list[tuple[str, str | bytes | None, bytes]] = []
        due = time.monotonic() + delay
        for key, value, outcome in chunk:
            messages.append((topic, key, value))
            if outcome is not None:
                if delay <= 0:
                    messages.append((outcome_topic, key, outcome))
                else:
                    held.append((due, key, outcome))
        publisher.publish_many(messages)
        stats.outcomes += len(messages) - len(chunk)
        stats.events += len(chunk)
        if held:
            release_due(held, publisher, outcome_topic, stats, time.monotonic())
    drain(held, publisher, outcome_topic, stats, stopped)
    return stats


def release_due(
    held: deque[tuple[float, str, bytes]],
    publisher: Publisher,
    topic: str,
    stats: FeedStats,
    now: float,
) -> None:
    """Publish the held-back outcomes whose time has come."""
    while held and held[0][0] <= now:
        _, key, outcome = held.popleft()
        publisher.publish(topic, key, outcome)
        stats.outcomes += 1


def drain(
    held: deque[tuple[float, str, bytes]],
    publisher: Publisher,
    topic: str,
    stats: FeedStats,
    stopped: Callable[[], bool],
) -> None:
    """Wait for held outcomes to come due; on a stop, send them at once so no feature loses its label."""
    while held and not stopped():
        release_due(held, publisher, topic, stats, time.monotonic())
        publisher.poll(0.05)
    if held:
        log.info("stopping: sending %d held-back outcomes now, before their label delay", len(held))
        release_due(held, publisher, topic, stats, float("inf"))
