"""What lag sampling remembers between samples: facts about a log that never change. Pure.

- A record never changes, so neither does its timestamp: `LagMemo.stamp` maps
  (topic, partition, offset) to the timestamp of the first record at or after that offset.
  The age of a group's oldest unconsumed record is then `now - stamp`, with no fetch, for as
  long as the group stays at that offset (the case that matters: a stalled group).
- A record batch never changes either. Where the broker's high watermark is the last batch's
  base offset + 1 (Tansu 0.6, see docs/architecture.md), the log end read behind a high
  watermark holds until the watermark moves: `LagMemo.end` maps (topic, partition, high
  watermark) to that log end.

Both tables are bounded: the least recently used entry goes first. A `LagMemo` is safe to
share between threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")

NO_TIMESTAMP = -1
"""A record the broker gave no timestamp (its age cannot be known)."""
STAMPS_KEPT = 100_000
ENDS_KEPT = 10_000

Position = tuple[str, int, int]
"""(topic, partition, offset): a place in a log."""


class Bounded(Generic[K]):
    """A dict of at most `size` int values; the least recently used goes first.

    >>> b = Bounded[str](2)
    >>> b.put("a", 1); b.put("b", 2); b.get("a"); b.put("c", 3)
    1
    >>> b.get("b") is None, b.get("a"), len(b)
    (True, 1, 2)
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a bounded table keeps at least one entry")
        self.size = size
        self._items: OrderedDict[K, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> int | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: int) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class LagMemo:
    """Timestamps by position and log ends by high watermark, kept between samples."""

    def __init__(self, stamps: int = STAMPS_KEPT, ends: int = ENDS_KEPT) -> None:
        self.stamps = Bounded[Position](stamps)
        """(topic, partition, offset) -> epoch ms of the first record at or after it."""
        self.ends = Bounded[Position](ends)
        """(topic, partition, high watermark) -> the offset after the last record."""

    def stamp(self, topic: str, partition: int, offset: int) -> int | None:
        """Epoch ms of the first record at or after `offset` (`NO_TIMESTAMP`: it has none);
        None when not known yet."""
        return self.stamps.get((topic, partition, offset))

    def end(self, topic: str, partition: int, high: int) -> int | None:
        """The log end read behind high watermark `high`, None when not read yet."""
        return self.ends.get((topic, partition, high))


def age_seconds(stamp_ms: int | None, now: float) -> float | None:
    """Seconds from a record's timestamp (epoch ms) to `now` (epoch s), never negative (clocks
    differ); None when the timestamp is unknown or the record has none.

    >>> age_seconds(1_000_000, 1_003.5), age_seconds(5_000, 1.0), age_seconds(None, 9.0)
    (3.5, 0.0, None)
    >>> age_seconds(NO_TIMESTAMP, 9.0) is None
    True
    """
    if stamp_ms is None or stamp_ms < 0:
        return None
    return max(0.0, now - stamp_ms / 1000.0)
