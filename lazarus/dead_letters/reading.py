"""Reading the dead-letter topic back: every letter, grouped by reason, selected for replay.

Pure helpers (`one_per_input`, `group_by_reason`, `reason_kind`, `select`) plus one reader
that assigns every partition and reads to the end (no consumer group: inspecting never moves
anyone's offsets).

One bad input can have several letters: a bad sensor reading is rejected by the trainer and
by each model's scorer group, each writing its own. `one_per_input` folds them into one
`InputLetters` that names every stage, so `dlq inspect` counts inputs (and says how many
letters it merged) and `dlq replay` sends each input once.
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


def input_key(letter: DeadLetter) -> tuple[object, ...]:
    """What identifies the input a letter is about: its origin (`topic, partition, offset`,
    or `file, line` of a replay) with its payload's SHA-256 (None in letters from before
    sizes); a letter with no origin at all is its own input."""
    if letter.origin_topic is not None:
        where: tuple[object, ...] = (
            "topic",
            letter.origin_topic,
            letter.origin_partition,
            letter.origin_offset,
        )
    elif letter.origin_file is not None:
        where = ("file", letter.origin_file, letter.origin_line)
    else:
        where = ("letter", letter.event_id)
    return (*where, letter.payload_sha256)


@dataclass(frozen=True)
class InputLetters:
    """One bad input and the letters written about it: `letter` is the first read (its
    reason and payload stand for all), `stages` every stage that rejected it (sorted),
    `letters` how many letters there were (1: none merged)."""

    letter: DeadLetter
    stages: tuple[str, ...]
    letters: int


def one_per_input(letters: Iterable[DeadLetter]) -> list[InputLetters]:
    """Letters folded to one per input (`input_key`), in the order their inputs first appear.

    >>> from lazarus.schemas.deadletter import DeadLetter
    >>> def letter(stage, offset):
    ...     return DeadLetter.of(b"{", event_id=f"{stage}-{offset}", stage=stage, reason="bad",
    ...         error_class="ValueError", origin_topic="t", origin_partition=0, origin_offset=offset)
    >>> [(i.stages, i.letters) for i in one_per_input(
    ...     [letter("trainer", 7), letter("scorer", 7), letter("scorer", 7), letter("scorer", 8)])]
    [(('scorer', 'trainer'), 3), (('scorer',), 1)]
    """
    first: dict[tuple[object, ...], DeadLetter] = {}
    stages: dict[tuple[object, ...], set[str]] = {}
    counts: dict[tuple[object, ...], int] = {}
    for letter in letters:
        key = input_key(letter)
        first.setdefault(key, letter)
        stages.setdefault(key, set()).add(letter.stage)
        counts[key] = counts.get(key, 0) + 1
    return [InputLetters(first[k], tuple(sorted(stages[k])), counts[k]) for k in first]


@dataclass
class ReasonGroup:
    kind: str
    count: int = 0
    """Inputs (a letter per stage that rejected one is merged)."""
    letters: int = 0
    """Letters, before merging."""
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
            "letters": self.letters,
            "truncated": self.truncated,
            "stages": sorted(self.stages),
            "origin_topics": sorted(self.origins),
            "first_at": self.first,
            "last_at": self.last,
            "example": self.example,
        }


def group_by_reason(letters: Iterable[DeadLetter]) -> list[ReasonGroup]:
    """One group per kind of reason (`reason_kind`), most inputs first; an input rejected by
    several stages counts once, under its first letter's reason, naming every stage."""
    groups: dict[str, ReasonGroup] = {}
    for one in one_per_input(letters):
        letter = one.letter
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
        g.letters += one.letters
        g.truncated += letter.payload_truncated
        g.stages.update(one.stages)
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
