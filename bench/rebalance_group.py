"""The group under watch in bench.rebalance: members that report every assignment change, and
who owns what, as those reports tell it, with since when it has been settled."""

from __future__ import annotations

import threading
import time
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from lazarus.kafka.consumer import GroupConsumer

PARTITIONS = 12
STEP_TIMEOUT_S = 120.0
START_TIMEOUT_S = 60.0


class Ownership:
    """Who owns which partition, as the callbacks tell it, and since when it has been settled.
    Callbacks arrive from the members' threads; the step's waiter reads under the same lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owned: dict[int, set[int]] = {}
        self.live: set[int] = set()
        self.settled_since: float | None = None
        self.unowned_s = 0.0
        """Partition-seconds without an owner since the step began."""
        self._last = 0.0

    def begin(self, now: float, live: set[int]) -> None:
        with self.lock:
            self.live = set(live)
            self.unowned_s, self._last = 0.0, now
            self._judge(now)

    def change(self, member: int, added: set[int], removed: set[int]) -> None:
        now = time.monotonic()
        with self.lock:
            self._account(now)
            mine = self.owned.setdefault(member, set())
            mine |= added
            mine -= removed
            self._judge(now)

    def settled_for(self, now: float) -> float | None:
        """Seconds the assignment has been settled, or None."""
        with self.lock:
            return None if self.settled_since is None else now - self.settled_since

    def _account(self, now: float) -> None:
        if self.settled_since is None:
            owned = set().union(*self.owned.values()) if self.owned else set()
            self.unowned_s += (PARTITIONS - len(owned)) * (now - self._last)
        self._last = now

    def _judge(self, now: float) -> None:
        live = [self.owned.get(m, set()) for m in sorted(self.live)]
        sizes = [len(o) for o in live]
        others = [self.owned.get(m, set()) for m in self.owned if m not in self.live]
        ok = (
            sum(sizes) == PARTITIONS
            and len(set().union(*live)) == PARTITIONS
            and max(sizes) - min(sizes) <= 1
            and not any(others)
        )
        if not ok:
            self.settled_since = None
        elif self.settled_since is None:
            self.settled_since = now


class Member(GroupConsumer):
    """A `GroupConsumer` whose rebalance hooks also report to an `Ownership`."""

    def __init__(self, number: int, conf: dict[str, Any], ownership: Ownership) -> None:
        super().__init__(conf, NoOutputs())
        self.number = number
        self.ownership = ownership

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        super()._on_assign(consumer, partitions)
        self.ownership.change(self.number, {tp.partition for tp in partitions}, set())

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        super()._on_revoke(consumer, partitions)
        self.ownership.change(self.number, set(), {tp.partition for tp in partitions})

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        super()._on_lost(consumer, partitions)
        self.ownership.change(self.number, set(), {tp.partition for tp in partitions})


class NoOutputs:
    def flush(self, timeout: float) -> int:
        return 0

    def settle_failures(self, failures: list[Any]) -> None:
        pass


class Running:
    """A member polling in its own thread: `start()` joins the group (returns when it has
    subscribed, with the time it began), `leave()` closes it in that thread (returns the time
    `close()` began)."""

    def __init__(self, member: Member) -> None:
        self.member = member
        self._stop = threading.Event()
        self._began = threading.Event()
        self._at = 0.0
        self._thread = threading.Thread(target=self._run, name=f"member-{member.number}")

    def start(self, topic: str) -> float:
        self._topic = topic
        self._thread.start()
        if not self._began.wait(START_TIMEOUT_S):
            raise SystemExit(f"member {self.member.number} did not subscribe")
        return self._at

    def leave(self) -> float:
        self._began.clear()
        self._stop.set()
        self._began.wait()
        return self._at

    def join(self) -> None:
        self._thread.join(60)

    def _run(self) -> None:
        self._at = time.monotonic()
        self.member.subscribe([self._topic])
        self._began.set()
        while not self._stop.is_set():
            self.member.consume(100, 0.05)
        self._at = time.monotonic()
        self._began.set()
        self.member.close()


def wait_settled(
    ownership: Ownership, began: float, grace: float, what: str
) -> tuple[float, float]:
    """(seconds from `began` until settled, unowned partition-seconds) once settled for `grace`."""
    deadline = began + STEP_TIMEOUT_S
    while True:
        now = time.monotonic()
        held = ownership.settled_for(now)
        if held is not None and held >= grace:
            with ownership.lock:
                assert ownership.settled_since is not None
                return ownership.settled_since - began, ownership.unowned_s
        if now > deadline:
            raise SystemExit(f"{what}: the assignment did not settle in {STEP_TIMEOUT_S:.0f} s")
        time.sleep(0.01)
