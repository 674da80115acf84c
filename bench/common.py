"""Shared bench helpers: an embedded broker on a free port, timing, a small table printer."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port
from lazarus.settings import Settings


@contextmanager
def broker_settings(**overrides: object) -> Iterator[Settings]:
    broker = EmbeddedBroker(free_port())
    broker.start()
    try:
        yield Settings(embedded=False, kafka_bootstrap_servers=broker.bootstrap, **overrides)  # type: ignore[arg-type]
    finally:
        broker.stop()


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    n = fn()
    return time.perf_counter() - started, n


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):,.0f}  best {max(values):,.0f}  worst {min(values):,.0f}"
