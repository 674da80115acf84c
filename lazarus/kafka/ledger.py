"""Which input offsets may be stored: only those whose every output the broker acknowledged.

Each consumed batch opens a `PendingBatch` that expects one acknowledgement per input
message (its score or its dead letter). Offsets become storable in batch order:
a later batch that finished first waits for the earlier ones, so a stored
offset never skips an unacknowledged message. Pure bookkeeping; the app feeds
it delivery reports and stores what `ready()` returns.
"""

from __future__ import annotations

from collections import deque
from typing import Any

TP = tuple[str, int]


class PendingBatch:
    """One consumed batch whose outputs are not all acknowledged yet: its offsets wait."""

    __slots__ = ("failed", "left", "offsets")

    def __init__(self, offsets: dict[TP, int], expected: int) -> None:
        self.offsets = offsets
        """(topic, partition) -> the next offset to consume once this batch is done."""
        self.left = expected
        self.failed: list[Any] = []
        """Messages whose delivery failed (each carries its error): the app settles them, by
        sending them again or, when the broker refused them for good, by dead-lettering."""

    def ack(self, err: Any, msg: Any) -> None:
        """A delivery report (confluent-kafka's on_delivery signature). `ack(None, msg)` also
        settles a message the app gave up on (its dead letter was refused even shrunk)."""
        if err is None:
            self.left -= 1
        else:
            self.failed.append(msg)

    @property
    def done(self) -> bool:
        return self.left <= 0 and not self.failed


class Ledger:
    def __init__(self) -> None:
        self._batches: deque[PendingBatch] = deque()

    def open(self, offsets: dict[TP, int], expected: int) -> PendingBatch:
        batch = PendingBatch(offsets, expected)
        self._batches.append(batch)
        return batch

    def ready(self) -> dict[TP, int]:
        """Offsets of the leading batches that are done (removed from the ledger)."""
        out: dict[TP, int] = {}
        batches = self._batches
        while batches and batches[0].done:
            out.update(batches.popleft().offsets)
        return out

    def failures(self) -> list[tuple[PendingBatch, Any]]:
        """(batch, message) for every delivery that failed; cleared as it is returned."""
        out = []
        for batch in self._batches:
            if batch.failed:
                out += [(batch, m) for m in batch.failed]
                batch.failed = []
        return out

    @property
    def unacknowledged(self) -> int:
        return sum(max(b.left, 0) for b in self._batches)

    def __len__(self) -> int:
        return len(self._batches)
