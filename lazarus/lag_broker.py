"""Offsets for lag from the broker's admin API, for every group and partition at once.

One `AdminClient` asks, each in one round trip or in concurrent ones:
- which consumer groups exist (to find every `{prefix}lazarus.*` group, also a spec-file
  model's);
- each group's committed offsets (one request per group, all in flight together: the admin
  API takes one group per request);
- the low and high watermarks of every partition (two `ListOffsets` requests in all).

Every call raises KafkaException (or TimeoutError) when the broker fails: callers run them
inside `lazarus.kafka.admin.broker_calls`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

log = logging.getLogger(__name__)

TP = tuple[str, int]
ADMIN_TIMEOUT_S = 5.0
NOT_ALLOWED = frozenset(
    {KafkaError.CLUSTER_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED}
)


@dataclass(frozen=True)
class Watermarks:
    """Per partition: `low` (the first offset kept) and `high` (the high watermark)."""

    low: dict[TP, int]
    high: dict[TP, int]


def partitions_of(
    admin: AdminClient, topics: Iterable[str], timeout: float
) -> dict[str, list[int]]:
    """Each of `topics` that exists, with its partition numbers in order."""
    wanted = set(topics)
    if not wanted:
        return {}
    md = admin.list_topics(timeout=timeout)
    return {
        t: sorted(md.topics[t].partitions)
        for t in sorted(wanted)
        if t in md.topics and md.topics[t].error is None
    }


def lazarus_groups(admin: AdminClient, prefix: str, timeout: float) -> list[str]:
    """Every consumer group on the broker named `{prefix}lazarus.*`, sorted; [] when our
    credentials may not list groups (the groups asked for by name are still read)."""
    try:
        listed = admin.list_consumer_groups(request_timeout=timeout).result(timeout)
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        if isinstance(err, KafkaError) and err.code() in NOT_ALLOWED:
            log.info("consumer groups cannot be listed (%s): only the known ones", err.name())
            return []
        raise
    mark = f"{prefix}lazarus."
    return sorted({g.group_id for g in listed.valid if g.group_id.startswith(mark)})


def committed_offsets(
    admin: AdminClient, groups: Sequence[str], timeout: float
) -> dict[str, dict[TP, int]]:
    """Each group's committed offsets (partition -> next offset to read); {} for a group that
    never committed."""
    futures = {
        group: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=timeout
        )[group]
        for group in groups
    }
    out: dict[str, dict[TP, int]] = {}
    for group, future in futures.items():
        result = future.result(timeout)
        out[group] = {
            (tp.topic, tp.partition): int(tp.offset)
            for tp in result.topic_partitions or []
            if tp.offset >= 0 and tp.error is None
        }
    return out


def watermarks(admin: AdminClient, tps: Iterable[TP], timeout: float) -> Watermarks:
    """The low and high watermark of each partition (two requests, whatever their number)."""
    wanted = sorted(set(tps))
    if not wanted:
        return Watermarks({}, {})
    return Watermarks(
        _offsets(admin, wanted, OffsetSpec.earliest(), timeout),  # type: ignore[no-untyped-call]
        _offsets(admin, wanted, OffsetSpec.latest(), timeout),  # type: ignore[no-untyped-call]
    )


def _offsets(admin: AdminClient, tps: list[TP], spec: OffsetSpec, timeout: float) -> dict[TP, int]:
    futures = admin.list_offsets(
        {TopicPartition(t, p): spec for t, p in tps}, request_timeout=timeout
    )
    return {(tp.topic, tp.partition): int(f.result(timeout).offset) for tp, f in futures.items()}
