"""In-memory stand-ins for Kafka, so a role's loop can be unit-tested without a broker.

Modelled on bytewax's `testing.py`: `TestingSource` is an in-memory log that hands out
consumers (confluent-kafka's consumer shape: `assign`, `consume`, `pause`, `resume`,
`close`); `TestingSink` is a publisher (`lazarus.kafka.producer.Publisher`'s shape) that
records what it is given and acknowledges at once. Two markers in a source's items drive a
test:

- `EOF`: the run ends here (`consume` returns nothing until the next consumer is built);
- `ABORT`: the consumer raises `Aborted`, as a crash would, the first time it reaches it;
  a consumer built after that (the restart) reads past it.

>>> source = TestingSource([("t", b"k", b"a"), TestingSource.ABORT, ("t", b"k", b"b")])
>>> c = source.consumer({})
>>> c.assign([TopicPartition("t", 0, OFFSET_BEGINNING)])
>>> [m.value() for m in c.consume(10, 0)]
[b'a']
>>> c.consume(10, 0)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
lazarus.testing.Aborted: TestingSource.ABORT at item 1
>>> again = source.consumer({})
>>> again.assign([TopicPartition("t", 0, 1)])
>>> [(m.offset(), m.value()) for m in again.consume(10, 0)]  # the last: end of partition
[(1, b'b'), (2, None)]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_CREATE_TIME,
    KafkaError,
    Message,
    TopicPartition,
)

__all__ = ["ABORT", "EOF", "Aborted", "TestingSink", "TestingSource"]

Record = tuple[str, str | bytes | None, bytes]
"""(topic, key, value), as a publisher is given it."""


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"TestingSource.{self.name}"


EOF = _Marker("EOF")
ABORT = _Marker("ABORT")


class Aborted(Exception):
    """Raised by a `TestingSource` consumer at an `ABORT` marker: a simulated crash."""


class TestingSource:
    """An in-memory log of records or messages (partition 0, offsets in order per topic;
    a message's timestamp is kept) and markers. Each consumer reports the end of every
    assigned partition (a PARTITION_EOF event, as `enable.partition.eof`) when it runs dry."""

    __test__ = False  # not a pytest class, despite its name
    EOF = EOF
    ABORT = ABORT

    def __init__(self, items: Iterable[Record | Message | _Marker]) -> None:
        self._items: list[Message | _Marker] = []
        next_offset: dict[str, int] = {}
        for item in items:
            if isinstance(item, _Marker):
                self._items.append(item)
                continue
            key: str | bytes | None
            if isinstance(item, Message):
                topic, key, value = item.topic() or "", item.key(), item.value() or b""
                timestamp = item.timestamp()
            else:
                topic, key, value = item
                timestamp = (TIMESTAMP_CREATE_TIME, 0)
            offset = next_offset.get(topic, 0)
            next_offset[topic] = offset + 1
            raw_key = key.encode() if isinstance(key, str) else key
            self._items.append(
                Message(
                    topic=topic,
                    partition=0,
                    offset=offset,
                    key=raw_key,
                    value=value,
                    timestamp=timestamp,
                )
            )
        self._tripped: set[int] = set()
        self._ended: set[int] = set()

    def consumer(self, conf: dict[str, Any]) -> _TestingConsumer:
        """A new consumer on this log (`conf` is ignored): the shape of `assigned_consumer`."""
        return _TestingConsumer(self)


class _TestingConsumer:
    def __init__(self, source: TestingSource) -> None:
        self._source = source
        self._at = 0
        self._start: dict[tuple[str, int], int] = {}
        self._next: dict[tuple[str, int], int] = {}
        self._reported: dict[tuple[str, int], int] = {}

    def assign(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            start = 0 if tp.offset == OFFSET_BEGINNING else tp.offset
            self._start[(tp.topic, tp.partition)] = start

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Message]:
        out: list[Message] = []
        items, source = self._source._items, self._source
        while self._at < len(items) and len(out) < num_messages:
            item = items[self._at]
            if item is ABORT and self._at not in source._tripped:
                if out:
                    return out  # what came before the crash is consumed first
                source._tripped.add(self._at)
                self._at += 1
                raise Aborted(f"TestingSource.ABORT at item {self._at - 1}")
            if item is EOF and self._at not in source._ended:
                source._ended.add(self._at)
                return out + self._ends()
            self._at += 1
            if isinstance(item, Message):
                tp = (item.topic() or "", item.partition() or 0)
                start = self._start.get(tp)
                if start is not None and (item.offset() or 0) >= start:
                    out.append(item)
                    self._next[tp] = (item.offset() or 0) + 1
        if self._at >= len(items) and len(out) < num_messages:
            out += self._ends()
        return out

    def _ends(self) -> list[Message]:
        """One end-of-partition event per assigned partition not reported at this position."""
        out = []
        for tp, start in self._start.items():
            at = self._next.get(tp, start)
            if self._reported.get(tp) != at:
                self._reported[tp] = at
                eof = KafkaError(KafkaError._PARTITION_EOF)
                out.append(Message(topic=tp[0], partition=tp[1], offset=at, error=eof))
        return out

    def pause(self, partitions: list[TopicPartition]) -> None:
        """Flow control is a no-op: the log is in memory."""

    def resume(self, partitions: list[TopicPartition]) -> None:
        """Flow control is a no-op: the log is in memory."""

    def close(self) -> None:
        return None


class TestingSink:
    """A publisher that keeps what it is given in `messages` and acknowledges it at once.
    A message's timestamp is the one given (ms since the epoch), else now, as Kafka's."""

    __test__ = False

    def __init__(self) -> None:
        self.messages: list[Message] = []

    @property
    def records(self) -> list[Record]:
        """(topic, key, value) of every message, in order."""
        return [(m.topic() or "", m.key(), m.value() or b"") for m in self.messages]

    def of(self, topic: str) -> list[Message]:
        """The messages published to `topic`, in order."""
        return [m for m in self.messages if m.topic() == topic]

    def start(
        self, timeout: float = 30.0, stopped: Callable[[], bool] | None = None
    ) -> TestingSink:
        return self

    def publish(
        self,
        topic: str,
        key: str | bytes | None,
        value: bytes,
        *,
        timestamp: int | None = None,
        **kwargs: Any,
    ) -> None:
        self._take([(topic, key, value)], kwargs.get("on_delivery"), [timestamp])

    def publish_many(
        self,
        messages: list[Record],
        on_delivery: Callable[[Any, Any], None] | None = None,
        timestamps: Sequence[int | None] | None = None,
    ) -> None:
        self._take(messages, on_delivery, timestamps or [None] * len(messages))

    def _take(
        self,
        messages: list[Record],
        on_delivery: Callable[[Any, Any], None] | None,
        timestamps: Sequence[int | None],
    ) -> None:
        for (topic, key, value), ts in zip(messages, timestamps, strict=True):
            raw_key = key.encode() if isinstance(key, str) else key
            stamp = (TIMESTAMP_CREATE_TIME, ts if ts is not None else int(time.time() * 1000))
            msg = Message(topic=topic, key=raw_key, value=value, timestamp=stamp)
            self.messages.append(msg)
            if on_delivery is not None:
                on_delivery(None, msg)

    def poll(self, timeout: float = 0.0) -> int:
        return 0

    def flush(self, timeout: float = 30.0) -> int:
        return 0

    def close(self, timeout: float = 30.0) -> None:
        return None
