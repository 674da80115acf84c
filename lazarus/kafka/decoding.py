"""Kafka messages in, events and rejections out: the one schema-decoding step of every consumer.

Decoding never raises for a bad input. As bytewax's Kafka operators split a stream into oks
and errs, `decode_batch` splits a batch into events and `Rejection`s, which the caller hands
to its dead-letter sink. (The trainer, which must keep every message in its place for the
merge, decodes message by message: `trainer.decoding`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from lazarus.dead_letters.rejection import Rejection, Stage
from lazarus.schemas.base import Event
from lazarus.schemas.topics import Topic

E = TypeVar("E", bound=Event)


class Message(Protocol):
    """The part of `confluent_kafka.Message` decoding reads (a message without an error)."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> Any: ...
    def value(self) -> bytes | None: ...


M = TypeVar("M", bound=Message)


def decode_batch(
    topic: Topic[E], messages: Sequence[M], *, stage: Stage
) -> tuple[list[tuple[M, E]], list[Rejection]]:
    """`(events, rejections)`: each valid message paired with its event, in order, and a
    `Rejection` for each message whose value fails the topic's schema. Never raises for a bad
    value."""
    decoded = topic.decode_many([m.value() or b"" for m in messages])
    events: list[tuple[M, E]] = []
    rejections: list[Rejection] = []
    for msg, event in zip(messages, decoded, strict=True):  # one pass: it is on the hot path
        if isinstance(event, ValidationError):
            rejections.append(rejection_of(msg, event, stage=stage))
        else:
            events.append((msg, event))
    return events, rejections


def rejection_of(msg: Message, exc: BaseException, *, stage: Stage, prefix: str = "") -> Rejection:
    """The rejection of a consumed message because of `exc`, at the message's position."""
    return Rejection.of(
        exc,
        stage=stage,
        raw=msg.value() or b"",
        key=msg.key(),
        topic=msg.topic() or "",
        partition=msg.partition() or 0,
        offset=msg.offset() or 0,
        prefix=prefix,
    )
