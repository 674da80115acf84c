"""Reading the dead-letter topic back: every letter, grouped by reason, selected for replay.

Pure helpers (`group_by_reason`, `reason_kind`, `select`) plus one reader that
assigns every partition and reads to the end (no consumer group: inspecting
never moves anyone's offsets).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import TopicPartition
from pydantic import ValidationError

from lazarus.kafka.config import KafkaConfig
from lazarus.kafka.consumer import assigned_consumer
from lazarus.lag import log_end, reached_end
from lazarus.schemas.deadletter import DeadLetter

_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?", re.IGNORECASE)


def reason_kind(letter: DeadLetter) -> str:
    """The reason with its numbers blanked: `temperature_c=9999.0 is outside -70..65` and
    `temperature_c=120.5 is outside -70..65` are one kind of problem."""
    return f"{letter.error_class}: {_NUMBER.sub('#', letter.reason)}"


def payload_summary(letter: DeadLetter) -> str:
    """Size, SHA-256 and whether the payload was cut, for a person: `750000 B, cut, sha256 1a2b3c4d`.

    Letters written before these fields existed show the size of the payload they carry."""
    if letter.payload_size is None:
        return f"{len(letter.payload)} chars ({letter.payload_encoding})"
    cut = ", cut" if letter.payload_truncated else ""
    return f"{letter.payload_size} B{cut}, sha256 {(letter.payload_sha256 or '')[:12]}"


@dataclass
class ReasonGroup:
    kind: str
    count: int = 0
    truncated: int = 0
    stages: set[str] = field(default_factory=set)
    origins: set[str] = field(default_factory=set)
    first: str = ""
    last: str = ""
    example: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.kind,
            "count": self.count,
            "truncated": self.truncated,
            "stages": sorted(self.stages),
            "origin_topics": sorted(self.origins),
            "first_at": self.first,
            "last_at": self.last,
            "example": self.example,
        }


def group_by_reason(letters: Iterable[DeadLetter]) -> list[ReasonGroup]:
    groups: dict[str, ReasonGroup] = {}
    for letter in letters:
        kind = reason_kind(letter)
        g = groups.get(kind)
        if g is None:
            g = groups[kind] = ReasonGroup(kind)
            g.example = {
                "dead_letter_id": letter.event_id,
                "reason": letter.reason,
                "origin": _origin(letter),
                "payload": letter.payload[:300],
                "payload_size": letter.payload_size,
                "payload_sha256": letter.payload_sha256,
                "payload_truncated": letter.payload_truncated,
                "payload_summary": payload_summary(letter),
            }
        g.count += 1
        g.truncated += letter.payload_truncated
        g.stages.add(letter.stage)
        g.origins.add(letter.origin_topic or letter.origin_file or "?")
        at = letter.event_time.isoformat()
        g.first = min(g.first, at) if g.first else at
        g.last = max(g.last, at)
    return sorted(groups.values(), key=lambda g: -g.count)


def _origin(letter: DeadLetter) -> str:
    if letter.origin_topic is not None:
        return f"{letter.origin_topic}[{letter.origin_partition}]@{letter.origin_offset}"
    return f"{letter.origin_file}:{letter.origin_line}"


def select(
    letters: Iterable[DeadLetter],
    *,
    origin_topic: str | None = None,
    reason: str | None = None,
    stage: str | None = None,
) -> list[DeadLetter]:
    """Letters matching every filter given (reason: a case-insensitive substring)."""
    out = []
    for letter in letters:
        if origin_topic is not None and letter.origin_topic != origin_topic:
            continue
        if reason is not None and reason.lower() not in letter.reason.lower():
            continue
        if stage is not None and letter.stage != stage:
            continue
        out.append(letter)
    return out


def read_letters(
    conf: KafkaConfig, topic: str, limit: int | None = None, timeout: float = 30.0
) -> tuple[list[DeadLetter], int]:
    """Every dead letter on `topic` (oldest first, up to `limit` newest), and how many did not parse."""
    consumer = assigned_consumer(
        {
            **conf,
            "group.id": f"lazarus-dlq-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    letters: list[DeadLetter] = []
    unreadable = 0
    try:
        md = consumer.list_topics(topic, timeout=10)
        meta = md.topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            return [], 0
        parts = sorted(meta.partitions)
        ends = {p: log_end(consumer, TopicPartition(topic, p)) for p in parts}
        starts = {}
        for p in parts:
            low, _ = consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=5, cached=False
            )
            starts[p] = low
            if limit is not None:  # only the newest `limit` of each partition are needed
                starts[p] = max(low, ends[p] - limit)
        pending = {p for p in parts if ends[p] > starts[p]}
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in pending])
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.2):
                p = msg.partition() or 0
                if reached_end(msg):  # raises if the broker failed under the read
                    pending.discard(p)
                    continue
                try:
                    letters.append(DeadLetter.model_validate_json(msg.value() or b""))
                except ValidationError:
                    unreadable += 1
                if (msg.offset() or 0) + 1 >= ends[p]:
                    pending.discard(p)
    finally:
        consumer.close()
    letters.sort(key=lambda x: x.event_time)
    if limit is not None:
        letters = letters[-limit:]
    return letters, unreadable
