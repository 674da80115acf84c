"""A stopping worker never hangs on a broker that is gone: `GroupConsumer.close` is bounded."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from lazarus.kafka.consumer import GroupConsumer


class Outputs:
    def flush(self, timeout: float) -> int:
        return 0

    def settle_failures(self, failures: list[Any]) -> None:
        pass


class StuckConsumer:
    """A confluent_kafka Consumer whose synchronous commit never returns (the broker died)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.closed = False

    def commit(self, asynchronous: bool = True) -> None:
        self.release.wait()

    def close(self) -> None:
        self.closed = True

    def store_offsets(self, offsets: Any = None) -> None:
        pass


def test_close_gives_up_on_a_commit_the_broker_never_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    group = GroupConsumer({}, Outputs())
    stuck = StuckConsumer()
    group._consumer = stuck  # type: ignore[assignment]
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="lazarus.kafka"):
        assert group.close(timeout=0.3) is False
    assert time.monotonic() - started < 10  # bounded (0.3 s asked), never the forever it was
    assert "did not take the final offset commit" in caplog.text
    assert not group.subscribed
    stuck.release.set()  # the broker answers after all: the closer thread finishes


def test_close_commits_then_closes_when_the_broker_answers() -> None:
    group = GroupConsumer({}, Outputs())
    answering = StuckConsumer()
    answering.release.set()
    group._consumer = answering  # type: ignore[assignment]
    assert group.close(timeout=5) is True
    assert answering.closed and not group.subscribed
