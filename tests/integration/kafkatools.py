"""Test helpers that read what landed on a topic."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from lazarus.kafka.config import client_config
from lazarus.schemas.topics import PREQUENTIAL
from lazarus.settings import Settings


def read_all(
    settings: Settings,
    topic: str,
    *,
    expect: int | None = None,
    timeout: float = 30.0,
    idle: float = 2.0,
    read_committed: bool = False,
) -> list[Message]:
    """Every message on `topic` (by assignment, no group join): stops at `expect`, or after
    `idle` s of silence. `read_committed`: only committed transactions' messages."""
    conf = client_config(settings, quiet=True)
    conf.update(
        {
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "isolation.level": "read_committed" if read_committed else "read_uncommitted",
        }
    )
    consumer = Consumer(conf)
    try:
        md = consumer.list_topics(topic, timeout=10)
        parts = md.topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        out: list[Message] = []
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.consume(1000, 0.2)
            for msg in batch:
                if msg.error() is None:
                    out.append(msg)
            if batch:
                last = time.monotonic()
            if expect is not None and len(out) >= expect:
                break
            if expect is None and time.monotonic() - last > idle:
                break
        return out
    finally:
        consumer.close()


def value_of(msg: Message) -> bytes:
    """The payload of a message `read_all` returned (every one it returns has a value)."""
    value = msg.value()
    assert value is not None, f"a message without a value at offset {msg.offset()}"
    return value


def key_of(msg: Message) -> bytes:
    """The key of a message `read_all` returned, for topics whose producers always key."""
    key = msg.key()
    assert key is not None, f"a message without a key at offset {msg.offset()}"
    return key


def prequential_entries(
    settings: Settings, *, expect: int, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """What the prequential topic holds, one dict per learned event: a batch's entries (version
    2) one by one, a record (version 1) as it is; read again until there are `expect` (or
    `timeout` passed: then what there is)."""
    deadline = time.monotonic() + timeout
    while True:
        out: list[dict[str, Any]] = []
        for msg in read_all(settings, PREQUENTIAL.full(settings.topic_prefix), idle=1.0):
            data = json.loads(value_of(msg))
            out.extend(data["entries"] if data.get("schema_version") == 2 else [data])
        if len(out) >= expect or time.monotonic() > deadline:
            return out
