"""Consumer lag: committed offset against log end, per group, topic and partition, each figure
with the time it was sampled.

`sample_lag()` is the one reader (`lazarus lag`, `lazarus status`, the `up` table, the
dashboard, the exporter). One sample costs, whatever the number of groups:
- admin requests (`lag_broker`): the groups, each group's committed offsets (concurrently), and
  the low and high watermarks of every partition;
- at most one read of records (`lag_fetch`), bounded by `budget_s`, for what the admin API
  cannot say. Some Kafka-protocol brokers (Tansu 0.6) report the last batch's base offset + 1 as
  the high watermark, so the log end is read from the last batch (its last offset + 1), which is
  correct on every broker; and the age of a group's oldest unconsumed record is its timestamp.
  A `LagMemo` kept between samples skips both where the answer cannot have changed.

A broker that fails during a sample, even in the middle of one, gives ServiceUnavailable naming
LAZARUS_KAFKA_BOOTSTRAP_SERVERS (`lazarus.kafka.admin.broker_calls`), never a KafkaException.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from lazarus.kafka.admin import admin_client, broker_calls
from lazarus.kafka.config import KafkaConfig
from lazarus.lag_broker import (
    ADMIN_TIMEOUT_S,
    committed_offsets,
    lazarus_groups,
    partitions_of,
    watermarks,
)
from lazarus.lag_fetch import Plan, Reads, reached_end, read_logs, read_with
from lazarus.lag_memo import LagMemo, age_seconds

__all__ = [
    "FETCH_BUDGET_S",
    "LagMemo",
    "LagSample",
    "PartitionLag",
    "group_lag",
    "iso",
    "lag_exact",
    "log_end",
    "log_ends",
    "max_age",
    "reached_end",
    "sample_lag",
    "total_lag",
]

log = logging.getLogger(__name__)

TP = tuple[str, int]
LOG_END_PROBE_S = 2.0
FETCH_BUDGET_S = 0.3
"""Seconds a sample may spend reading records (log ends, oldest unconsumed ages)."""
BROKER_CHECK_S = 1.0
"""Seconds to wait for the broker to answer when records were not all read in time."""


def iso(epoch: float) -> str:
    """Epoch seconds as ISO 8601 UTC, e.g. `2026-05-01T12:00:00.250Z`.

    >>> iso(0.25)
    '1970-01-01T00:00:00.250Z'
    """
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    """The group's next offset to read; None: it never committed (lag counts the whole log)."""
    end: int
    lag: int
    lag_seconds: float | None
    """Age of the oldest unconsumed message (0 when caught up; None: not known in time)."""
    sampled_at: float
    """When the offsets were read (epoch s); `as_dict` gives it as ISO 8601."""
    end_exact: bool = True
    """False: the log end was not read in time, so `end` is the high watermark (or the
    furthest record read), which some brokers (Tansu) report short: `end` and `lag` are then
    lower bounds, shown as `≥N`."""

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sampled_at": iso(self.sampled_at)}


@dataclass(frozen=True)
class LagSample:
    """One reading of lag: `groups` (group -> its partitions' lag, in the order asked, then
    the groups found on the broker) and `logs` ((topic, partition) -> (first offset kept, log
    end)) for every partition read, `sampled_at` epoch s."""

    sampled_at: float
    groups: dict[str, tuple[PartitionLag, ...]]
    logs: dict[TP, tuple[int, int]] = field(default_factory=dict)

    def messages(self, topic: str) -> int | None:
        """Messages kept on `topic` (None: it was not read, or does not exist)."""
        parts = [end - low for (t, _), (low, end) in self.logs.items() if t == topic]
        return sum(parts) if parts else None


def sample_lag(
    conf: KafkaConfig,
    groups: Mapping[str, Sequence[str]],
    *,
    prefix: str | None = None,
    topics: Sequence[str] = (),
    ages: bool = True,
    memo: LagMemo | None = None,
    budget_s: float = FETCH_BUDGET_S,
    timeout: float = ADMIN_TIMEOUT_S,
) -> LagSample:
    """Lag of every group in `groups` (group -> the topics it reads) on every partition of its
    topics and of the topics it has committed on; a group that never committed gets lag = the
    whole log, `committed` None.

    - `prefix`: also every other `{prefix}lazarus.*` group on the broker that has committed
      (e.g. a spec-file model's `lazarus.scorer.survey`), on the topics it committed on;
    - `topics`: more topics whose logs to read (into `LagSample.logs`, e.g. dead letters);
    - `ages`: also the age of each lagging partition's oldest unconsumed message (else None);
    - `memo`: what the previous samples learned (pass the same one to every sample);
    - `budget_s`: seconds for reading records; a log end not read in time falls back to the
      high watermark (the row's `end_exact` False: its lag is a lower bound), an age not read
      in time is None ("age unknown").

    Raises ServiceUnavailable naming the setting when the broker fails, also mid-sample."""
    memo = memo if memo is not None else LagMemo()
    with broker_calls(conf):
        admin = admin_client(conf)
        committed, reading = _groups(admin, groups, prefix, timeout)
        parts = partitions_of(
            admin, [*topics, *(t for ts in reading.values() for t in ts)], timeout
        )
        tps = [(t, p) for t, ps in parts.items() for p in ps]
        marks = watermarks(admin, tps, timeout)
        at = time.time()
        plan = plan_reads(marks.low, marks.high, committed, reading, parts, memo, ages)
        reads = read_logs(conf, plan, budget_s) if plan.partitions() else Reads()
        if reads.late:  # slow, or gone? A broker that went away raises here, with the setting.
            admin.list_topics(timeout=min(timeout, BROKER_CHECK_S))
    _remember(memo, reads, marks.high)
    ends = {tp: _end(tp, marks.low[tp], marks.high[tp], memo, reads) for tp in tps}
    rows = {
        g: tuple(
            partition_lag(
                g,
                (t, p),
                committed[g].get((t, p)),
                marks.low[(t, p)],
                ends[(t, p)][0],
                memo if ages else None,
                at,
                exact=ends[(t, p)][1],
            )
            for t in ts
            for p in parts.get(t, ())
        )
        for g, ts in reading.items()
    }
    return LagSample(at, rows, {tp: (marks.low[tp], ends[tp][0]) for tp in tps})


def _groups(
    admin: AdminClient, groups: Mapping[str, Sequence[str]], prefix: str | None, timeout: float
) -> tuple[dict[str, dict[TP, int]], dict[str, list[str]]]:
    """Each group's committed offsets, and the topics to read for it: those given and those it
    committed on. Groups found by `prefix` are kept only when they committed."""
    wanted = {g: tuple(t) for g, t in groups.items()}
    if prefix is not None:
        for found in lazarus_groups(admin, prefix, timeout):
            wanted.setdefault(found, ())
    committed = committed_offsets(admin, list(wanted), timeout)
    reading = {
        g: sorted({*t, *(topic for topic, _ in committed[g])})
        for g, t in wanted.items()
        if g in groups or committed[g]
    }
    return committed, reading


def plan_reads(
    low: Mapping[TP, int],
    high: Mapping[TP, int],
    committed: Mapping[str, Mapping[TP, int]],
    reading: Mapping[str, Sequence[str]],
    parts: Mapping[str, Sequence[int]],
    memo: LagMemo,
    ages: bool,
) -> Plan:
    """What must be read: log ends not known for this high watermark, and the timestamps of
    oldest unconsumed records not seen before."""
    plan = Plan()
    for tp in high:
        if high[tp] > low[tp] and memo.end(*tp, high[tp]) is None:
            plan.ends[tp] = high[tp] - 1
    if not ages:
        return plan
    for group, topics in reading.items():
        for tp in ((t, p) for t in topics for p in parts.get(t, ())):
            start = committed[group].get(tp, low[tp])
            known_end = memo.end(*tp, high[tp])
            lagging = start < known_end if known_end is not None else tp in plan.ends
            if lagging and memo.stamp(*tp, start) is None:
                plan.stamps.setdefault(tp, set()).add(start)
    return plan


def _remember(memo: LagMemo, reads: Reads, high: Mapping[TP, int]) -> None:
    for tp, end in reads.ends.items():
        memo.ends.put((*tp, high[tp]), end)
    for position, stamp in reads.stamps.items():
        memo.stamps.put(position, stamp)


def _end(tp: TP, low: int, high: int, memo: LagMemo, reads: Reads) -> tuple[int, bool]:
    """The log end of `tp` and whether it is exact (read to the end, now or before, or an
    empty log); else the furthest of the high watermark and the records read, a lower bound."""
    end = reads.ends.get(tp)
    if end is None:
        end = memo.end(*tp, high)
    if end is not None:
        return max(end, high), True
    return max(high, reads.seen.get(tp, high)), high <= low


def partition_lag(
    group: str,
    tp: TP,
    committed: int | None,
    low: int,
    end: int,
    stamps: LagMemo | None,
    at: float,
    *,
    exact: bool = True,
) -> PartitionLag:
    """One partition's lag from its offsets: `end - committed`, or `end - low` (the whole log)
    when the group never committed; the age from `stamps` (None without, or not known). Not
    `exact` (`end` a lower bound): a lag of 0 may not be caught up, so its age is not known.

    >>> memo = LagMemo(); memo.stamps.put(("t", 0, 3), 1_000)
    >>> r = partition_lag("g", ("t", 0), 3, 0, 10, memo, 4.0)
    >>> r.lag, r.lag_seconds, partition_lag("g", ("t", 0), None, 2, 10, None, 4.0).lag
    (7, 3.0, 8)
    >>> partition_lag("g", ("t", 0), 10, 0, 10, memo, 4.0, exact=False).lag_seconds is None
    True
    """
    start = low if committed is None else committed
    lag = max(0, end - start)
    age: float | None = None
    if stamps is not None:
        caught_up = lag == 0 and exact
        age = 0.0 if caught_up else age_seconds(stamps.stamp(*tp, start), at)
    return PartitionLag(group, tp[0], tp[1], committed, end, lag, age, at, exact)


def group_lag(
    conf: KafkaConfig, group: str, topics: list[str], *, ages: bool = False
) -> list[PartitionLag]:
    """Lag of `group` on every partition of `topics` and of the topics it committed on
    (`sample_lag` for one group). Raises ServiceUnavailable when the broker fails."""
    return list(sample_lag(conf, {group: topics}, ages=ages).groups[group])


def log_ends(
    consumer: Consumer, tps: Iterable[TopicPartition], timeout: float = LOG_END_PROBE_S
) -> dict[TP, int]:
    """The offset after the last record of each partition, read with `consumer` (assigned
    for the read, unassigned after); a log whose last batch is not read within `timeout`
    gives its high watermark."""
    plan = Plan()
    highs: dict[TP, int] = {}
    for tp in tps:
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
        highs[(tp.topic, tp.partition)] = int(high)
        if high > low:
            plan.ends[(tp.topic, tp.partition)] = int(high) - 1
    reads = Reads()
    if plan.ends:
        read_with(consumer, plan, reads, time.monotonic() + timeout)
    return {
        tp: max(high, reads.ends.get(tp, reads.seen.get(tp, high))) for tp, high in highs.items()
    }


def log_end(consumer: Consumer, tp: TopicPartition, timeout: float = LOG_END_PROBE_S) -> int:
    """The offset after the last record of `tp` (`log_ends` of one partition)."""
    return log_ends(consumer, [tp], timeout)[(tp.topic, tp.partition)]


def total_lag(rows: Iterable[PartitionLag]) -> int:
    return sum(r.lag for r in rows)


def lag_exact(rows: Iterable[PartitionLag]) -> bool:
    """Whether `total_lag(rows)` is exact: False when a log end was not read in time (the
    total is then a lower bound)."""
    return all(r.end_exact for r in rows)


def max_age(rows: Iterable[PartitionLag]) -> float | None:
    """Age of the group's oldest unconsumed message: the oldest over its partitions, None when
    that of a lagging partition (or of one whose log end was not read) is not known, or none
    was measured."""
    ages = []
    for r in rows:
        if r.lag_seconds is None:
            if r.lag > 0 or not r.end_exact:
                return None
            continue
        ages.append(r.lag_seconds)
    return max(ages) if ages else None
