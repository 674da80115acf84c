"""The trainer's decoding stage: Kafka messages in, learner rows out, in the merge's order.

Pure (no I/O): it validates each message with its topic's schema, turns what is
valid into a row (`trainer.rows`) and releases everything through the
`OrderedMerge`, so the learner sees one deterministic sequence. It runs in its
own process (`trainer.feed`) beside the learner; holding nothing a snapshot
needs, it can be restarted from the learner's offsets at any time.

Released items are flat tuples, cheap to pickle across the pipe:

- `(FEATURES, topic, partition, offset, *FeatureRow)`
- `(LABEL, topic, partition, offset, *LabelRow)`
- `(INVALID, topic, partition, offset, rejection, join_key)`, where `rejection` is the
  `Rejection` to dead-letter and `join_key` names the features a dead-lettered input message
  held (when it can be read), so their outcome is given up on at once instead of waiting for them
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from confluent_kafka import KafkaError
from pydantic import ValidationError

from lazarus.inputchecks import InputRejected
from lazarus.kafka.decoding import rejection_of
from lazarus.schemas.topics import Topic, without_frames
from lazarus.trainer.merge import OrderedMerge, PartitionKey
from lazarus.trainer.rows import RowMaker

FEATURES, LABEL, INVALID = 0, 1, 2
PARTITION_EOF = KafkaError._PARTITION_EOF

Released = tuple[Any, ...]


class Message(Protocol):
    """The part of confluent_kafka.Message the stage reads."""

    def error(self) -> Any: ...
    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def timestamp(self) -> tuple[int, int]: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...


class Decoder:
    def __init__(
        self,
        topics: dict[str, Topic[Any]],
        outcomes: str,
        partitions: list[PartitionKey],
        rank: dict[str, int],
        rows: RowMaker,
    ) -> None:
        # One str object per topic name: the pickled batch then stores each name once.
        self._names = {name: name for name in topics}
        # Per topic: its schema's validator (pydantic-core, called per message) and its role.
        self._plans = {
            name: (topic.event.__pydantic_validator__.validate_json, name == outcomes)
            for name, topic in topics.items()
        }
        self._merge = OrderedMerge(partitions, rank)
        self._rows = rows
        self.counts: dict[str, int] = {}
        """Messages consumed per topic since the caller last cleared it."""

    def add(self, messages: Sequence[Message]) -> list[Any]:
        """Decode a consumed batch into the merge; returns the broker errors among it.

        One pass in the batch's order (markers only count after the messages before them)."""
        merge_add, at_end = self._merge.add, self._merge.at_end
        names, counts, decode = self._names, self.counts, self._decode
        errors = []
        for msg in messages:
            err = msg.error()
            if err is None:
                name = names[msg.topic() or ""]
                partition, offset, stamp = msg.partition() or 0, msg.offset() or 0, msg.timestamp()
                merge_add(
                    name, partition, offset, stamp[1], decode(name, msg, partition, offset, stamp)
                )
                counts[name] = counts.get(name, 0) + 1
            elif err.code() == PARTITION_EOF:
                at_end(names.get(msg.topic() or "", ""), msg.partition() or 0)
            else:
                errors.append(err)
        return errors

    def ready(self) -> list[Released]:
        """Every decoded message no unseen message can precede, in learning order."""
        return [item.payload for item in self._merge.ready()]

    @property
    def merge(self) -> OrderedMerge:
        return self._merge

    def _decode(
        self, name: str, msg: Message, partition: int, offset: int, stamp: tuple[int, int]
    ) -> Released:
        """The message's row, or its rejection (with the join key it names, if readable)."""
        validate, is_outcome = self._plans[name]
        raw = msg.value() or b""
        try:
            event = validate(raw)
        except ValidationError as exc:
            rejection = rejection_of(msg, without_frames(exc), stage="trainer")
            ref = None if is_outcome else _join_key_in(raw, self._rows.join_key)
            return (INVALID, name, partition, offset, rejection, ref)
        try:
            if is_outcome:
                return (LABEL, name, partition, offset, *self._rows.label(event, stamp))
            return (FEATURES, name, partition, offset, *self._rows.features(event, stamp))
        except InputRejected as exc:  # a skewed clock, non-finite features, a wrong label
            ref = None if is_outcome else self._rows.join_key_of(event)
            return _invalid(name, msg, exc, ref=ref)
        except Exception as exc:  # a custom event whose features raise
            ref = None if is_outcome else self._rows.join_key_of(event)
            return _invalid(name, msg, exc, "features: ", ref)


def _invalid(
    topic: str, msg: Message, exc: BaseException, prefix: str = "", ref: str | None = None
) -> Released:
    rejection = rejection_of(msg, exc, stage="trainer", prefix=prefix)
    return (INVALID, topic, msg.partition() or 0, msg.offset() or 0, rejection, ref)


def _join_key_in(raw: bytes | None, field: str) -> str | None:
    """The join key of a message that failed its schema, if it is a JSON object that has one."""
    try:
        value = json.loads(raw or b"").get(field)
    except Exception:  # not JSON, not an object, nested too deep (RecursionError): no key
        return None
    return value if isinstance(value, str) and value else None


class Throttle:
    """Which partitions to pause so the merge is not starved, and which to resume.

    A broker may serve one partition's backlog long before another's. The merge can
    release nothing while any partition it waits on has nothing queued, so without
    this a catch-up would hold most of the backlog in memory before learning
    starts. A partition with more than `high` messages queued is paused while
    another is blocked; it is resumed at `low` or fewer, before it could block.
    """

    def __init__(self, high: int, low: int) -> None:
        if not 0 < low < high:
            raise ValueError("need 0 < low < high")
        self.high, self.low = high, low
        self.paused: set[PartitionKey] = set()

    def update(
        self, queued: dict[PartitionKey, int], blocked: list[PartitionKey]
    ) -> tuple[list[PartitionKey], list[PartitionKey]]:
        """(to pause, to resume), given messages queued per partition and the blocking ones."""
        resume = [k for k in self.paused if queued.get(k, 0) <= self.low]
        self.paused.difference_update(resume)
        pause = []
        if blocked:
            pause = [k for k, n in queued.items() if n > self.high and k not in self.paused]
            self.paused.update(pause)
        return pause, resume
