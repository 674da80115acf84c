"""A deterministic order over many partitions: event time, then topic, partition, offset.

Kafka hands out partitions in whatever order fetches complete. Learning order
matters to an online model, so messages are released in the order of their
keys `(time, topic rank, partition, offset)`, and only up to the *frontier*:
the smallest last-queued key over the partitions that may still deliver more.
A partition with nothing queued that is not known to be at its end holds
everything back. Given the same data, every run and every replay after a crash
releases the same sequence.

Times are made non-decreasing per partition (a running maximum), so a
partition's messages always go out in offset order even if producers' clocks
disagree. Release is batched: sorting a released batch is done in C, which
costs far less than a heap operation per message in Python.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from operator import itemgetter
from typing import Any, NamedTuple

PartitionKey = tuple[str, int]
SortKey = tuple[int, int, int, int]


class Item(NamedTuple):
    """One message waiting its turn; `payload` is whatever the caller attached."""

    sort_key: SortKey
    topic: str
    partition: int
    offset: int
    payload: Any


_by_key = itemgetter(0)
_item = tuple.__new__
"""Builds an `Item` from a tuple without the Python-level `__new__` a NamedTuple call runs (per
message)."""


class _Partition:
    """One partition's queue, its clock (running maximum of times) and whether it is at its end."""

    __slots__ = ("at_end", "clock", "queue")

    def __init__(self) -> None:
        self.queue: list[Item] = []
        self.clock = -1
        self.at_end = False


class OrderedMerge:
    def __init__(self, partitions: list[PartitionKey], topic_rank: dict[str, int]) -> None:
        self._rank = topic_rank
        # One object per partition: a message costs one lookup by its (topic, partition).
        self._parts: dict[PartitionKey, _Partition] = {p: _Partition() for p in partitions}

    def add(self, topic: str, partition: int, offset: int, timestamp_ms: int, payload: Any) -> None:
        part = self._parts[(topic, partition)]
        clock = part.clock
        if timestamp_ms > clock:
            part.clock = clock = timestamp_ms
        part.queue.append(
            _item(
                Item,
                ((clock, self._rank[topic], partition, offset), topic, partition, offset, payload),
            )
        )
        part.at_end = False

    def at_end(self, topic: str, partition: int) -> None:
        """The consumer reached the end of this partition (for now); one not merged is ignored."""
        part = self._parts.get((topic, partition))
        if part is not None:
            part.at_end = True

    def ready(self) -> Iterator[Item]:
        """Release, in order, every queued message no unseen message can precede."""
        frontier: SortKey | None = None
        for part in self._parts.values():
            if part.at_end:
                continue
            if not part.queue:
                return iter(())
            last = part.queue[-1].sort_key
            if frontier is None or last < frontier:
                frontier = last
        released: list[Item] = []
        for part in self._parts.values():
            queue = part.queue
            if not queue:
                continue
            if frontier is None or queue[-1].sort_key <= frontier:
                released += queue
                queue.clear()
            else:
                cut = bisect.bisect_right(queue, frontier, key=_by_key)
                released += queue[:cut]
                del queue[:cut]
        released.sort(key=_by_key)
        return iter(released)

    @property
    def queued(self) -> int:
        return sum(len(p.queue) for p in self._parts.values())

    def queued_by_partition(self) -> dict[PartitionKey, int]:
        return {k: len(p.queue) for k, p in self._parts.items()}

    @property
    def blocked_on(self) -> list[PartitionKey]:
        return [k for k, p in self._parts.items() if not p.queue and not p.at_end]
