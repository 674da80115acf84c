"""A deterministic order over many partitions: event time, then topic, partition, offset.

Kafka hands out partitions in whatever order fetches complete. Learning order
matters to an online model, so the trainer releases a message only when every
partition either has a message waiting or is known to be at its end; the
smallest (timestamp, topic rank, partition, offset) goes first. Given the same
data, every run (and every replay after a crash) learns in the same order.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PartitionKey = tuple[str, int]


@dataclass(order=True)
class Item:
    """One message waiting its turn; `payload` is whatever the caller attached."""

    sort_key: tuple[int, int, int, int]
    topic: str = field(compare=False)
    partition: int = field(compare=False)
    offset: int = field(compare=False)
    payload: Any = field(compare=False)


class OrderedMerge:
    def __init__(self, partitions: list[PartitionKey], topic_rank: dict[str, int]) -> None:
        self._rank = topic_rank
        self._queues: dict[PartitionKey, deque[Item]] = {p: deque() for p in partitions}
        self._at_end: dict[PartitionKey, bool] = dict.fromkeys(partitions, False)
        self._heap: list[tuple[tuple[int, int, int, int], PartitionKey]] = []
        self._waiting = len(partitions)
        """Partitions with nothing queued and not known to be at their end."""

    def add(self, topic: str, partition: int, offset: int, timestamp_ms: int, payload: Any) -> None:
        key = (topic, partition)
        queue = self._queues[key]
        item = Item(
            (timestamp_ms, self._rank[topic], partition, offset), topic, partition, offset, payload
        )
        if not queue:
            heapq.heappush(self._heap, (item.sort_key, key))
            if not self._at_end[key]:
                self._waiting -= 1
        self._at_end[key] = False
        queue.append(item)

    def at_end(self, topic: str, partition: int) -> None:
        """The consumer reached the end of this partition (for now)."""
        key = (topic, partition)
        if not self._at_end[key] and not self._queues[key]:
            self._waiting -= 1
        self._at_end[key] = True

    def ready(self) -> Iterator[Item]:
        """Release messages while the order is certain."""
        heap, queues = self._heap, self._queues
        while heap and self._waiting == 0:
            _, key = heapq.heappop(heap)
            queue = queues[key]
            item = queue.popleft()
            if queue:
                heapq.heappush(heap, (queue[0].sort_key, key))
            elif not self._at_end[key]:
                self._waiting += 1
            yield item

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self._queues.values())

    @property
    def blocked_on(self) -> list[PartitionKey]:
        return [k for k, q in self._queues.items() if not q and not self._at_end[k]]
