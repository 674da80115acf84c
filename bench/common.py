"""Shared bench helpers: an embedded broker on a free port, timing, a small table printer."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lazarus import redisconn
from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port
from lazarus.embedded.redis_server import EmbeddedRedis
from lazarus.settings import DEFAULT_REDIS_URL, Settings


@contextmanager
def embedded_broker(**overrides: Any) -> Iterator[tuple[EmbeddedBroker, Settings]]:
    broker = EmbeddedBroker(free_port())
    broker.start()
    try:
        yield (
            broker,
            Settings(embedded=False, kafka_bootstrap_servers=broker.bootstrap, **overrides),
        )
    finally:
        broker.stop()


def redis_url(stack: ExitStack) -> str:
    """The Redis at the default URL if one answers, else an embedded one that `stack` stops."""
    if redisconn.answers(DEFAULT_REDIS_URL):
        return DEFAULT_REDIS_URL
    server = EmbeddedRedis()
    server.start()
    stack.callback(server.stop)
    return server.url


@contextmanager
def broker_settings(**overrides: object) -> Iterator[Settings]:
    with embedded_broker(**overrides) as (_, settings):
        yield settings


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuMark:
    """CPU seconds used so far by the calling thread, by this process (all its threads), by its
    reaped children, and by one other process (a broker) if given."""

    thread: float
    own: float
    children: float
    other: float

    @classmethod
    def now(cls, other_pid: int | None = None) -> CpuMark:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            time.thread_time(),
            time.process_time(),
            kids.ru_utime + kids.ru_stime,
            process_cpu_s(other_pid) if other_pid else 0.0,
        )

    def __sub__(self, earlier: CpuMark) -> CpuMark:
        return CpuMark(
            self.thread - earlier.thread,
            self.own - earlier.own,
            self.children - earlier.children,
            self.other - earlier.other,
        )


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    n = fn()
    return time.perf_counter() - started, n


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):,.0f}  best {max(values):,.0f}  worst {min(values):,.0f}"
