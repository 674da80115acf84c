"""How a per-key model's trainers split its shards: the group member's configuration, and
which shards an assignment makes whole (pure but for the configuration's settings)."""

from __future__ import annotations

from typing import Any

from lazarus.settings import Settings
from lazarus.trainer.app import trainer_consumer_config


def shard_numbers(owned: set[tuple[str, int]], topics: list[str]) -> set[int]:
    """The partition numbers held for every one of `topics`: the shards a member owns.

    >>> sorted(shard_numbers({("a", 0), ("b", 0), ("a", 1)}, ["a", "b"]))
    [0]
    """
    numbers = {p for _, p in owned}
    return {p for p in numbers if all((t, p) in owned for t in topics)}


def partition_counts(found: list[tuple[str, int]]) -> dict[str, int]:
    """Partitions per topic of `discover()`'s (topic, partition) list."""
    counts: dict[str, int] = {}
    for topic, _ in found:
        counts[topic] = counts.get(topic, 0) + 1
    return counts


def member_config(settings: Settings, group: str) -> dict[str, Any]:
    """The group member's configuration: it holds partitions, never reads them; the range
    assignor (the broker's under KIP-848) gives a member the same partition numbers of every
    topic, so shards stay whole."""
    conf = trainer_consumer_config(settings, group)
    conf["statistics.interval.ms"] = 0
    conf["enable.partition.eof"] = False
    if settings.kafka_group_protocol == "classic":
        conf["partition.assignment.strategy"] = "range"
    else:
        conf["group.remote.assignor"] = "range"
    return conf
