"""How many messages the scorer asks for next: few when it is caught up, many under a backlog.

A small batch keeps latency low at low rates (each input waits for fewer others to be scored
and produced before it); a big one keeps throughput at full load (fewer calls per input).
A consume that filled its batch means more was waiting: the next batch doubles, up to the
largest. One that came back short means the scorer is caught up: it drops to the smallest.
Pure: no Kafka.
"""

from __future__ import annotations

SMALLEST = 100
"""Messages asked for when caught up (issue #20: worker p99 219 -> 13 ms against 1,000)."""


class AdaptiveBatch:
    """The next batch size, from `smallest` to `largest` (both >= 1; `smallest` is capped at
    `largest`). Call `size` before each consume and `took(n)` with the messages it returned.

    >>> b = AdaptiveBatch(100, 1000)
    >>> b.size
    100
    >>> b.took(100); b.size   # full: a backlog
    200
    >>> b.took(200); b.took(400); b.took(800); b.size
    1000
    >>> b.took(37); b.size    # short: caught up
    100
    """

    def __init__(self, smallest: int, largest: int) -> None:
        self.largest = max(1, largest)
        self.smallest = max(1, min(smallest, self.largest))
        self.size = self.smallest

    def took(self, n: int) -> None:
        """The last consume returned `n` messages."""
        self.size = min(self.size * 2, self.largest) if n >= self.size else self.smallest
