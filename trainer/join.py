"""The delayed-label join: features wait by key until their outcome arrives.

Pure and deterministic: time is event time (the newest feature time seen), so
a replay expires exactly what the original run expired. Features are kept
packed (one bytes object each, key names shared) because the buffer is
pickled into every snapshot and must pickle fast.

An outcome may also come first (an unpaced replay, a zero label delay, a
partition served late): one that names its features (`event_ref`) is held,
with the same TTL and bound as features, and joined when they arrive. One
without `event_ref` labels its subject's latest pending features; with none
pending it is unmatched, since which features it meant cannot be known. What never joins is counted by why:
`expired` and `evicted` features, `unmatched` outcomes (of which `features_gone`
came after their features had expired, been evicted or been dead-lettered).
"""

from __future__ import annotations

import dataclasses
import struct
from array import array
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lazarus.schemas.base import Features
from lazarus.trainer.packed_features import (
    HEADER,
    SEP,
    is_mixed,
    mixed_names,
    pack_mixed,
    packing,
    unpack_mixed,
)
from lazarus.trainer.recent_ids import RecentIds

__all__ = [
    "EarlyOutcome",
    "JoinCounters",
    "Joined",
    "PendingJoin",
    "RecentIds",
    "pack_origin",
    "unjoined",
    "unpack_origin",
]


class Joined(NamedTuple):  # a NamedTuple: built once per learned event, and cheap to build
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
    """Features whose outcome did not come within the TTL (event time)."""
    evicted: int = 0
    """Features dropped, oldest first, to keep at most `max_pending`."""
    unmatched: int = 0
    """Outcomes given up on: their features never came within the TTL, or had gone already."""
    features_gone: int = 0
    """Of `unmatched`: outcomes whose features had already expired, been evicted, or been
    dead-lettered (`PendingJoin.forget`)."""
    early_joined: int = 0
    """Outcomes that came before their features, held, and joined when the features came."""
    duplicate_outcomes: int = 0
    duplicate_features: int = 0
    latency_sum_s: float = 0.0
    latency_max_s: float | None = None

    def __setstate__(self, state: dict[str, object]) -> None:
        # Older snapshots lack the newer counters. Fields in declaration order, so that a
        # restored learner pickles to the same bytes as the live one it was saved from.
        self.__dict__.update(dataclasses.asdict(JoinCounters()))
        self.__dict__.update(state)


def unjoined(c: JoinCounters) -> dict[str, int]:
    """What never joined, by why: features `expired` or `evicted` without an outcome, outcomes
    `unmatched` (of which `features_gone` came after their features had gone)."""
    return {
        "expired": c.expired,
        "evicted": c.evicted,
        "unmatched": c.unmatched,
        "features_gone": c.features_gone,
    }


class EarlyOutcome(NamedTuple):
    """An outcome waiting for its features."""

    time_ms: int
    label: Any
    subject: str


Layout = tuple[tuple[str, ...], tuple[str, ...]]
"""What entries share: (feature names, segment values). Bounded by the schema and the segments."""


_new = tuple.__new__
"""Builds a `Joined` without the Python-level `__new__` a NamedTuple call runs (per event)."""


def _numbers_of(layouts: list[Layout]) -> list[struct.Struct | None]:
    return [None if is_mixed(names) else packing(len(names)) for names, _ in layouts]


@dataclass
class PendingJoin:
    ttl_ms: int
    max_pending: int
    keep_joined: int
    entries: dict[str, bytes] = field(default_factory=dict)
    """event_id -> packed (time ms, origin, layout id, feature values) + the subject in UTF-8"""
    layouts: list[Layout] = field(default_factory=list)
    latest_by_subject: dict[str, str] = field(default_factory=dict)
    joined: RecentIds = field(default_factory=lambda: RecentIds(100_000))
    """Recently joined feature ids, to tell a duplicate outcome from an unmatched one."""
    counters: JoinCounters = field(default_factory=JoinCounters)
    watermark_ms: int = 0
    early: dict[str, EarlyOutcome] = field(default_factory=dict)
    """Outcomes that came before their features, by the `event_ref` they name, oldest first."""
    gone: RecentIds = field(default_factory=lambda: RecentIds(100_000))
    """Recently expired, evicted or dead-lettered feature ids: their outcome is given up on at
    once rather than held for features that will not come."""
    _layout_ids: dict[Layout, int] = field(default_factory=dict, repr=False)
    _mixed: set[int] = field(default_factory=set, repr=False)
    """Ids of the layouts whose entries hold strings (categorical features)."""
    _numbers: list[struct.Struct | None] = field(default_factory=list, repr=False)
    """Per layout id: how its entries are packed (`packing`), None for a mixed layout."""

    def __post_init__(self) -> None:
        self.joined.capacity = self.keep_joined
        self.gone.capacity = self.keep_joined
        self._layout_ids = {layout: i for i, layout in enumerate(self.layouts)}
        self._mixed = {i for i, (names, _) in enumerate(self.layouts) if is_mixed(names)}
        self._numbers = _numbers_of(self.layouts)

    def add(
        self,
        event_id: str,
        subject: str,
        time_ms: int,
        x: Features,
        segment: tuple[str, ...],
        origin: int,
    ) -> tuple[Joined, Any] | None:
        """Hold features until their outcome comes; duplicates are counted, not stored twice.

        Returns `(joined, label)` when an outcome for them came first and was waiting."""
        if event_id in self.entries or event_id in self.joined:
            self.counters.duplicate_features += 1
            return None
        if self.early:
            waiting = self.early.pop(event_id, None)
            if waiting is not None:
                self._advance(time_ms)
                self.counters.early_joined += 1
                return self._joined(
                    event_id, x, segment, origin, time_ms, waiting.time_ms
                ), waiting.label
        key = (tuple(x), segment)
        layout = self._layout_ids.get(key)
        try:
            packed = packing(len(x)).pack(
                time_ms, origin, len(self.layouts) if layout is None else layout, *x.values()
            )
        except struct.error:  # a categorical feature: a string among the numbers
            packed = self._pack_mixed(x, segment, time_ms, origin)
        else:
            if layout is None:
                self._layout_ids[key] = len(self.layouts)
                self.layouts.append(key)
                self._numbers.append(packing(len(x)))
        self.entries[event_id] = packed + subject.encode()
        self.latest_by_subject[subject] = event_id
        self._advance(time_ms)
        while len(self.entries) > self.max_pending:
            self._drop(next(iter(self.entries)), gone=True)
            self.counters.evicted += 1
        return None

    def match(
        self, ref: str | None, subject: str, outcome_ms: int, label: Any = None
    ) -> Joined | None:
        """The features an outcome labels (by `ref`, else the subject's latest), removed from the
        buffer. An outcome whose features have not come yet is held (with `label`) until they do."""
        latest = self.latest_by_subject
        event_id = ref if ref is not None else latest.get(subject)
        packed = self.entries.get(event_id) if event_id is not None else None
        if packed is None or event_id is None:
            self._unmatched(event_id, ref, subject, outcome_ms, label)
            return None
        layout = HEADER.unpack_from(packed)[2]
        names, segment = self.layouts[layout]
        numbers = self._numbers[layout]
        if numbers is None:  # a mixed layout
            self._drop(event_id)
            time_ms, origin, x, _ = unpack_mixed(packed, names)
            return self._joined(event_id, x, segment, origin, time_ms, outcome_ms)
        # All numbers (the usual case): `_drop` and `_joined` inlined, one unpack (per event).
        time_ms, origin, _, *values = numbers.unpack_from(packed)
        del self.entries[event_id]
        held_by = packed[numbers.size :].decode()
        if latest.get(held_by) == event_id:
            del latest[held_by]
        self.joined.add(event_id)
        latency = (outcome_ms - time_ms) / 1000.0
        if latency < 0.0:
            latency = 0.0
        c = self.counters
        c.joined += 1
        c.latency_sum_s += latency
        if c.latency_max_s is None or latency > c.latency_max_s:
            c.latency_max_s = latency
        return _new(
            Joined, (event_id, dict(zip(names, values, strict=True)), segment, origin, latency)
        )

    def forget(self, event_id: str) -> None:
        """These features will not come (they were dead-lettered): their outcome is not held."""
        self.gone.add(event_id)
        waiting = self.early.pop(event_id, None)
        if waiting is not None:
            self.counters.unmatched += 1
            self.counters.features_gone += 1

    @property
    def waiting_outcomes(self) -> int:
        """Outcomes held until their features come."""
        return len(self.early)

    def _joined(
        self,
        event_id: str,
        x: Features,
        segment: tuple[str, ...],
        origin: int,
        time_ms: int,
        outcome_ms: int,
    ) -> Joined:
        self.joined.add(event_id)
        latency = max(0.0, (outcome_ms - time_ms) / 1000.0)
        c = self.counters
        c.joined += 1
        c.latency_sum_s += latency
        c.latency_max_s = latency if c.latency_max_s is None else max(c.latency_max_s, latency)
        return Joined(event_id, x, segment, origin, latency)

    def _unmatched(
        self, event_id: str | None, ref: str | None, subject: str, outcome_ms: int, label: Any
    ) -> None:
        c = self.counters
        if event_id is not None and event_id in self.joined:
            c.duplicate_outcomes += 1
        elif event_id is not None and event_id in self.gone:
            c.unmatched += 1
            c.features_gone += 1
        elif ref is None:  # the subject has nothing pending: which features it meant is unknown
            c.unmatched += 1
        elif ref in self.early:
            c.duplicate_outcomes += 1
        else:
            self.early[ref] = EarlyOutcome(outcome_ms, label, subject)
            while len(self.early) > self.max_pending:  # the oldest go first
                del self.early[next(iter(self.early))]
                c.unmatched += 1

    def _advance(self, time_ms: int) -> None:
        if time_ms > self.watermark_ms:
            self.watermark_ms = time_ms
            self._expire()

    def _expire(self) -> None:
        cutoff = self.watermark_ms - self.ttl_ms
        while self.entries:
            event_id, packed = next(iter(self.entries.items()))
            if HEADER.unpack_from(packed)[0] >= cutoff:
                break
            self._drop(event_id, gone=True)
            self.counters.expired += 1
        early = self.early
        while early:
            key, outcome = next(iter(early.items()))
            if outcome.time_ms >= cutoff:
                break
            del early[key]
            self.counters.unmatched += 1

    def _drop(self, event_id: str, *, gone: bool = False) -> None:
        packed = self.entries.pop(event_id)
        if gone:
            self.gone.add(event_id)
        layout = HEADER.unpack_from(packed)[2]
        names = self.layouts[layout][0]
        start = (
            unpack_mixed(packed, names)[3] if layout in self._mixed else packing(len(names)).size
        )
        subject = packed[start:].decode()
        if self.latest_by_subject.get(subject) == event_id:
            del self.latest_by_subject[subject]

    def _pack_mixed(
        self, x: dict[str, Any], segment: tuple[str, ...], time_ms: int, origin: int
    ) -> bytes:
        """Features with categorical (string) values (`packed_features.pack_mixed`)."""
        key = (mixed_names(x), segment)
        layout = self._layout_ids.get(key)
        if layout is None:
            layout = self._layout_ids[key] = len(self.layouts)
            self.layouts.append(key)
            self._mixed.add(layout)
            self._numbers.append(None)
        return pack_mixed(x, layout, time_ms, origin)

    def __getstate__(self) -> dict[str, object]:
        """The buffer as three flat blobs: pickling 25k small objects one by one is the slow part
        of every snapshot, joining them is done in C. Event ids never contain a unit separator."""
        state = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("entries", "_layout_ids", "_mixed", "_numbers")
        }
        state["entry_ids"] = SEP.join(self.entries)
        state["entry_sizes"] = array("I", map(len, self.entries.values())).tobytes()
        state["entry_blob"] = b"".join(self.entries.values())
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        ids, sizes_raw, blob = (
            state.pop("entry_ids"),
            state.pop("entry_sizes"),
            state.pop("entry_blob"),
        )
        self.__dict__.update(state)
        if "early" not in self.__dict__:  # a snapshot from before early outcomes were held
            self.early = {}
            self.gone = RecentIds(self.keep_joined)
        sizes = array("I")
        sizes.frombytes(sizes_raw)  # type: ignore[arg-type]
        entries: dict[str, bytes] = {}
        start = 0
        for event_id, size in zip(ids.split(SEP) if ids else [], sizes, strict=True):  # type: ignore[attr-defined]
            entries[event_id] = blob[start : start + size]  # type: ignore[index]
            start += size
        self.entries = entries
        self._layout_ids = {layout: i for i, layout in enumerate(self.layouts)}
        self._mixed = {i for i, (names, _) in enumerate(self.layouts) if is_mixed(names)}
        self._numbers = _numbers_of(self.layouts)

    @property
    def label_latency_mean_s(self) -> float | None:
        c = self.counters
        return c.latency_sum_s / c.joined if c.joined else None
