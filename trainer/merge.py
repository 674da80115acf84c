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


class OrderedMerge:
    def __init__(self, partitions: list[PartitionKey], topic_rank: dict[str, int]) -> None:
        self._rank = topic_rank
        self._queues: dict[PartitionKey, list[Item]] = {p: [] for p in partitions}
        self._at_end: dict[PartitionKey, bool] = dict.fromkeys(partitions, False)
        self._clock: dict[PartitionKey, int] = dict.fromkeys(partitions, -1)

    def add(self, topic: str, partition: int, offset: int, timestamp_ms: int, payload: Any) -> None:
        key = (topic, partition)
        clock = self._clock[key]
        if timestamp_ms > clock:
            self._clock[key] = clock = timestamp_ms
        self._queues[key].append(
            _item(
                Item,
                ((clock, self._rank[topic], partition, offset), topic, partition, offset, payload),
            )
        )
        self._at_end[key] = False

    def at_end(self, topic: str, partition: int) -> None:
        """The consumer reached the end of this partition (for now)."""
        self._at_end[(topic, partition)] = True

    def ready(self) -> Iterator[Item]:
        """Release, in order, every queued message no unseen message can precede."""
        frontier: SortKey | None = None
        for key, queue in self._queues.items():
            if self._at_end[key]:
                continue
            if not queue:
                return iter(())
            last = queue[-1].sort_key
            if frontier is None or last < frontier:
                frontier = last
        released: list[Item] = []
        for queue in self._queues.values():
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
        return sum(len(q) for q in self._queues.values())

    def queued_by_partition(self) -> dict[PartitionKey, int]:
        return {k: len(q) for k, q in self._queues.items()}

    @property
    def blocked_on(self) -> list[PartitionKey]:
        return [k for k, q in self._queues.items() if not q and not self._at_end[k]]
