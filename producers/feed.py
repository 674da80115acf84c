"""The I/O shell of a feed: pace events, publish them, hold outcomes back by the label delay.

The stream is pure (key, event, outcome) triples, or `Stamped` ones that also carry their event
times; this module adds time and Kafka. A stamped event goes out with its event time as its
Kafka timestamp (CreateTime), so the trainer's clock-skew check compares like with like.

An outcome is held back until the wall clock reaches `label_delay` seconds after its event
was sent, or the stream's event time reaches the outcome's own, whichever comes first. A
stream whose event time runs faster than the wall clock (an unpaced simulation, a replay of a
year of recordings in a minute) would otherwise run weeks past its outcomes, and the trainer
would expire their features before they came. A constant label delay makes both due times
monotonic, so a deque is the queue.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

from lazarus.kafka.producer import Publisher
from lazarus.producers.ids import Emitted, Stamped

log = logging.getLogger(__name__)

MAX_CHUNK = 256
"""At most this many events between two looks at the clock."""
PACE_S = 0.01
"""A chunk spans at most this long at the target rate."""
NEVER = 2**63 - 1
"""An event-time due (ms) the stream never reaches: release by the wall clock only."""


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


Timed = tuple[str, bytes, bytes | None, int | None, int | None]
"""(key, event, outcome, event time ms, outcome time ms); the times are None when unknown."""

Held = deque[tuple[float, int, str, bytes, int | None]]
"""Outcomes held back, oldest first: (wall due on the monotonic clock, event-time due in ms,
key, value, Kafka timestamp in ms or None for "when sent")."""


def run_feed(
    stream: Iterator[Emitted | Stamped],
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
    held: Held = deque()
    started = time.monotonic()
    deadline = started + limits.duration if limits.duration is not None else None
    chunk_size = max(1, min(MAX_CHUNK, int(limits.rate * PACE_S))) if limits.rate else MAX_CHUNK
    while not stopped() and (deadline is None or time.monotonic() < deadline):
        want = chunk_size if limits.count is None else min(chunk_size, limits.count - stats.events)
        chunk = list(itertools.islice(stream, want)) if want > 0 else []
        if not chunk:
            break
        if limits.rate:
            ahead = started + stats.events / limits.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        _publish_chunk(
            stamped(chunk), publisher, topic, outcome_topic, held, limits.label_delay, stats
        )
        if held:
            release_due(held, publisher, outcome_topic, stats, time.monotonic())
    drain(held, publisher, outcome_topic, stats, stopped)
    return stats


def stamped(chunk: list[Emitted | Stamped]) -> list[Timed]:
    """A chunk with event times: a plain (key, event, outcome) stream has none (sent "now")."""
    if len(chunk[0]) == 5:
        return cast(list[Timed], chunk)
    return [(c[0], c[1], c[2], None, None) for c in chunk]


def _publish_chunk(
    chunk: list[Timed],
    publisher: Publisher,
    topic: str,
    outcome_topic: str,
    held: Held,
    delay: float,
    stats: FeedStats,
) -> None:
    """One chunk's events, the outcomes that come due among them, and those without delay."""
    now = time.monotonic()
    due = now + delay
    messages: list[tuple[str, str | bytes | None, bytes]] = []
    stamps: list[int | None] = []
    timed = chunk[0][3] is not None
    outcomes = 0
    for key, value, outcome, at_ms, outcome_ms in chunk:
        # Outcomes whose event time the stream has reached go out before this event.
        while held and (held[0][0] <= now or (timed and held[0][1] <= cast(int, at_ms))):
            _, _, held_key, held_value, held_ms = held.popleft()
            messages.append((outcome_topic, held_key, held_value))
            stamps.append(held_ms)
            outcomes += 1
        messages.append((topic, key, value))
        stamps.append(at_ms)
        if outcome is None:
            continue
        if delay <= 0:
            messages.append((outcome_topic, key, outcome))
            stamps.append(outcome_ms)
            outcomes += 1
        else:
            held.append(
                (due, NEVER if outcome_ms is None else outcome_ms, key, outcome, outcome_ms)
            )
    publisher.publish_many(messages, timestamps=cast(list[int], stamps) if timed else None)
    stats.outcomes += outcomes
    stats.events += len(chunk)


def release_due(
    held: Held,
    publisher: Publisher,
    topic: str,
    stats: FeedStats,
    now: float,
    clock_ms: int | None = None,
) -> None:
    """Publish the held-back outcomes whose time has come: on the wall clock (`now`, monotonic
    seconds) or on the stream's event-time clock (`clock_ms`, the newest event time sent)."""
    while held and (held[0][0] <= now or (clock_ms is not None and held[0][1] <= clock_ms)):
        _, _, key, outcome, timestamp = held.popleft()
        publisher.publish(topic, key, outcome, timestamp=timestamp)
        stats.outcomes += 1


def drain(
    held: Held,
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
