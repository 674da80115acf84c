"""The fault both cluster tests inject, and how long the roles took to get over it.

`kill_and_restart`: `kill -9` the node leading a readings partition while the feed runs; wait
until the producer and the role under test resume (both without a restart); let more events
through; start the node again on its storage; wait until every replica is back in sync; let
more events through. Each wait is bounded, on a condition.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.cluster.clusterkit import Cluster
from tests.cluster.feedkit import Ack, AckedFeed, wait_until

AFTER = 600
"""Readings acknowledged after the role resumed, and again after the node is back in sync."""
RESUME_S = 180.0
"""Bound on each wait for a role (the controller fences a dead broker after ~9 s; a loaded
2-core machine running three JVMs takes much longer to do everything)."""
IN_SYNC_S = 300.0


@dataclass
class Fault:
    """Which node died, leading which readings partition, and the times around it (s)."""

    node: int
    partition: int
    killed: float = 0.0
    """monotonic time of the kill"""
    killed_wall: float = 0.0
    """the same, on the wall clock (roles stamp their outputs with it)"""
    producer_resumed_s: float = 0.0
    """kill -> the first reading written to the partition after the kill, acknowledged"""
    role_resumed_s: float = 0.0
    """kill -> the role's first output made from such a reading"""
    restart_s: float = 0.0
    """scripts/kafka restart-node: until the node serves again"""
    back_in_sync_s: float = 0.0
    """restart -> every replica of the topics in sync again"""

    def first_ack(self, feed: AckedFeed) -> Ack | None:
        """The first reading sent to the partition after the kill and acknowledged."""
        after = feed.acked_since(self.killed, self.partition)
        return after[0][1] if after else None

    def times(self) -> dict[str, float]:
        return {
            "producer_resumed_s": round(self.producer_resumed_s, 2),
            "role_resumed_s": round(self.role_resumed_s, 2),
            "node_restart_s": round(self.restart_s, 2),
            "back_in_sync_s": round(self.back_in_sync_s, 2),
        }


def more(feed: AckedFeed, n: int) -> None:
    """Wait until `n` more readings are acknowledged."""
    now = len(feed.acked())
    wait_until(lambda: len(feed.acked()) >= now + n, RESUME_S, f"{n} more acknowledged readings")


def kill_and_restart(
    cluster: Cluster,
    feed: AckedFeed,
    fault: Fault,
    topics: list[str],
    role_output: Callable[[Ack], float | None],
) -> Fault:
    """Kill `fault.node`, see the producer and the role resume, restart it, see `topics` back
    in sync. `role_output(first)` is the wall-clock time of the role's first output made from
    a reading at or after `first` (the first reading written after the kill), None before."""
    fault.killed, fault.killed_wall = time.monotonic(), time.time()
    cluster.kill(fault.node)
    wait_until(lambda: fault.first_ack(feed) is not None, RESUME_S, "the producer to resume")
    first = fault.first_ack(feed)
    assert first is not None
    fault.producer_resumed_s = first.at - fault.killed
    wait_until(lambda: role_output(first) is not None, RESUME_S, "the role to resume")
    fault.role_resumed_s = (role_output(first) or 0.0) - fault.killed_wall
    more(feed, AFTER)
    restarting = time.monotonic()
    cluster.restart(fault.node)
    fault.restart_s = time.monotonic() - restarting
    wait_until(lambda: cluster.fully_in_sync(topics), IN_SYNC_S, "every replica in sync")
    fault.back_in_sync_s = time.monotonic() - restarting
    more(feed, AFTER)
    return fault
