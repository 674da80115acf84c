"""The delayed-label join: features wait by key until their outcome arrives.

Pure and deterministic: time is event time (the newest feature time seen), so
a replay expires exactly what the original run expired. Features are kept
packed (one bytes object each, key names shared) because the buffer is
pickled into every snapshot and must pickle fast.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field

from schemas.base import Features

_HEADER = struct.Struct("<qq")


@dataclass(frozen=True)
class Joined:
    """A feature set and the outcome that labels it."""

    event_id: str
    x: Features
    segment: tuple[str, ...]
    origin: int
    """Where the features came from: (input index << 56) | (partition << 40) | offset."""
    latency_s: float


def pack_origin(source: int, partition: int, offset: int) -> int:
    return (source << 56) | (partition << 40) | offset


def unpack_origin(origin: int) -> tuple[int, int, int]:
    return origin >> 56, (origin >> 40) & 0xFFFF, origin & ((1 << 40) - 1)


@dataclass
class JoinCounters:
    joined: int = 0
    expired: int = 0
    evicted: int = 0
    unmatched: int = 0
    duplicate_outcomes: int = 0
    duplicate_features: int = 0
    latency_sum_s: float = 0.0
    latency_max_s: float | None = None


@dataclass
class PendingJoin:
    ttl_ms: int
    max_pending: int
    keep_joined: int
    entries: dict[str, tuple[tuple[str, ...], bytes, tuple[str, ...], str]] = field(
        default_factory=dict
    )
    """event_id -> (feature names, packed (time, origin, values), segment, subject)"""
    latest_by_subject: dict[str, str] = field(default_factory=dict)
    joined_ids: dict[str, None] = field(default_factory=dict)
    counters: JoinCounters = field(default_factory=JoinCounters)
    watermark_ms: int = 0
    _names: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, repr=False)

    def add(
        self,
        event_id: str,
        subject: str,
        time_ms: int,
        x: Features,
        segment: tuple[str, ...],
        origin: int,
    ) -> None:
        """Hold features until their outcome comes; duplicates are counted, not stored twice."""
        if event_id in self.entries or event_id in self.joined_ids:
            self.counters.duplicate_features += 1
            return
        names = tuple(x)
        names = self._names.setdefault(names, names)
        packed = _HEADER.pack(time_ms, origin) + array("d", x.values()).tobytes()
        self.entries[event_id] = (names, packed, segment, subject)
        self.latest_by_subject[subject] = event_id
        if time_ms > self.watermark_ms:
            self.watermark_ms = time_ms
            self._expire()
        while len(self.entries) > self.max_pending:
            self._drop(next(iter(self.entries)))
            self.counters.evicted += 1

    def match(self, ref: str | None, subject: str, outcome_ms: int) -> Joined | None:
        """The features an outcome labels (by `ref`, else the subject's latest), removed from the buffer."""
        event_id = ref if ref is not None else self.latest_by_subject.get(subject)
        entry = self.entries.get(event_id) if event_id is not None else None
        if entry is None or event_id is None:
            if event_id is not None and event_id in self.joined_ids:
                self.counters.duplicate_outcomes += 1
            else:
                self.counters.unmatched += 1
            return None
        names, packed, segment, _ = entry
        self._drop(event_id)
        self._remember(event_id)
        time_ms, origin = _HEADER.unpack_from(packed)
        values = array("d")
        values.frombytes(packed[_HEADER.size :])
        latency = max(0.0, (outcome_ms - time_ms) / 1000.0)
        c = self.counters
        c.joined += 1
        c.latency_sum_s += latency
        c.latency_max_s = latency if c.latency_max_s is None else max(c.latency_max_s, latency)
        return Joined(event_id, dict(zip(names, values, strict=True)), segment, origin, latency)

    def _expire(self) -> None:
        cutoff = self.watermark_ms - self.ttl_ms
        while self.entries:
            event_id, (_, packed, _, _) = next(iter(self.entries.items()))
            if _HEADER.unpack_from(packed)[0] >= cutoff:
                return
            self._drop(event_id)
            self.counters.expired += 1

    def _drop(self, event_id: str) -> None:
        _, _, _, subject = self.entries.pop(event_id)
        if self.latest_by_subject.get(subject) == event_id:
            del self.latest_by_subject[subject]

    def _remember(self, event_id: str) -> None:
        self.joined_ids[event_id] = None
        if len(self.joined_ids) > self.keep_joined:
            del self.joined_ids[next(iter(self.joined_ids))]

    @property
    def label_latency_mean_s(self) -> float | None:
        c = self.counters
        return c.latency_sum_s / c.joined if c.joined else None
