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

from lazarus.dead_letters.rejection import Rejection
from lazarus.inputchecks import InputRejected
from lazarus.kafka.decoding import decode_each, rejection_of
from lazarus.schemas.topics import Topic
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
        self._topics = topics
        self._outcomes = outcomes
        # One str object per topic name: the pickled batch then stores each name once.
        self._names = {name: name for name in topics}
        self._merge = OrderedMerge(partitions, rank)
        self._rows = rows
        self.counts: dict[str, int] = {}
        """Messages consumed per topic since the caller last cleared it."""

    def add(self, messages: Sequence[Message]) -> list[Any]:
        """Decode a consumed batch into the merge; returns the broker errors among it."""
        merge = self._merge
        by_topic: dict[str, list[Message]] = {}
        errors = []
        for msg in messages:
            err = msg.error()
            if err is None:
                by_topic.setdefault(msg.topic() or "", []).append(msg)
            elif err.code() == PARTITION_EOF:
                pass
            else:
                errors.append(err)
        decoded = {topic: iter(self._decode(topic, batch)) for topic, batch in by_topic.items()}
        for topic, batch in by_topic.items():
            self.counts[topic] = self.counts.get(topic, 0) + len(batch)
        # Markers only count after the messages before them: walk the batch in its order.
        for msg in messages:
            err = msg.error()
            topic, partition = self._names.get(msg.topic() or "", ""), msg.partition() or 0
            if err is None:
                merge.add(
                    topic, partition, msg.offset() or 0, msg.timestamp()[1], next(decoded[topic])
                )
            elif err.code() == PARTITION_EOF:
                merge.at_end(topic, partition)
        return errors

    def ready(self) -> list[Released]:
        """Every decoded message no unseen message can precede, in learning order."""
        return [item.payload for item in self._merge.ready()]

    @property
    def merge(self) -> OrderedMerge:
        return self._merge

    def _decode(self, topic: str, batch: list[Message]) -> list[Released]:
        name = self._names[topic]
        events = decode_each(self._topics[topic], batch, stage="trainer")
        out: list[Released] = []
        is_outcome = topic == self._outcomes
        features, label = self._rows.features, self._rows.label
        for msg, event in zip(batch, events, strict=True):
            partition, offset = msg.partition() or 0, msg.offset() or 0
            if isinstance(event, Rejection):
                ref = None if is_outcome else _join_key_in(msg.value(), self._rows.join_key)
                out.append((INVALID, name, partition, offset, event, ref))
                continue
            try:
                stamp = msg.timestamp()
                row = label(event, stamp) if is_outcome else features(event, stamp)
            except InputRejected as exc:  # a skewed clock, non-finite features, a wrong label
                ref = None if is_outcome else self._rows.join_key_of(event)
                out.append(_invalid(name, msg, exc, ref=ref))
                continue
            except Exception as exc:  # a custom event whose features raise
                ref = None if is_outcome else self._rows.join_key_of(event)
                out.append(_invalid(name, msg, exc, "features: ", ref))
                continue
            out.append((LABEL if is_outcome else FEATURES, name, partition, offset, *row))
        return out


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
