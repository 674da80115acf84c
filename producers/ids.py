"""Deterministic event ids and the wire encoding of simulated payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic_core

Payload = dict[str, Any]
"""An event in wire form: what `encode` turns into a message value."""

Emitted = tuple[str, bytes, bytes | None]
"""What a simulator yields: the subject key, the event as JSON, its outcome as JSON (or None)."""

Stamped = tuple[str, bytes, bytes | None, int, int]
"""`Emitted` with the event's and its outcome's event times in ms since the epoch: the feed
sends each message with its event time as its Kafka timestamp (CreateTime)."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(at: datetime) -> int:
    """A zone-aware time as whole ms since the epoch (rounded down: never after `at`).

    >>> epoch_ms(datetime(1970, 1, 1, 0, 0, 1, 999, tzinfo=UTC))
    1000
    """
    return (at - EPOCH) // _MS


def event_id(stream: str, seed: int, n: int) -> str:
    """Stable and unique per (stream, seed, position): a re-run with the same seed repeats ids.

    >>> event_id("sensor", 7, 42)
    'sensor-7-42'
    """
    return f"{stream}-{seed}-{n}"


def encode(payload: Payload) -> bytes:
    """JSON bytes (pydantic-core's Rust encoder: about 4x the stdlib's speed)."""
    return pydantic_core.to_json(payload)
