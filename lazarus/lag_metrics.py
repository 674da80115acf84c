"""Consumer lag as Prometheus samples: the last lag read of each group, and how old it is.

Pure: `LagBook` keeps what the lag exporter (`lazarus.lag_exporter`) last read, and `samples()`
turns it into the exporter's metrics at scrape time, with the clock passed in:

| metric | labels | meaning |
|---|---|---|
| `lazarus_consumer_lag_messages` | group, topic, partition | log end minus committed offset |
| `lazarus_consumer_lag_exact` | group, topic, partition | 0: the lag is a lower bound |
| `lazarus_consumer_lag_seconds` | group, topic, partition | age of the oldest unconsumed message |
| `lazarus_lag_sample_age_seconds` | group | seconds since the group's lag was last read |
| `lazarus_lag_sample_failures_total` | group | reads of the group's lag that failed |

A group whose read fails keeps its last figures; only its sample age grows, so a stale figure
is visible as stale. Before a group's first read, its age counts from the book's start.
A log end not read in time gives a lag that is a lower bound (`consumer_lag_exact` 0: the
figure can only be higher). A partition whose age was not read in time keeps its last known
age (also a lower bound while its oldest message waits), so a `for:` clause on
`consumer_lag_seconds` does not start over; a partition never measured has none.

>>> from lazarus.lag import PartitionLag
>>> book = LagBook(["g"], started_at=100.0)
>>> book.record("g", [PartitionLag("g", "t", 0, 5, 12, 7, 3.5, sampled_at=110.0)], at=110.0)
>>> [(s.name, s.value) for s in book.samples(now=112.0)]
[('consumer_lag_messages', 7), ('consumer_lag_exact', 1), ('consumer_lag_seconds', 3.5), \
('lag_sample_age_seconds', 2.0), ('lag_sample_failures', 0)]
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from lazarus.lag import PartitionLag
from lazarus.metrics import Sample

Place = tuple[str, str, int]
"""(group, topic, partition)."""


@dataclass(frozen=True)
class GroupRead:
    """One group's last successful lag read: its rows and when they were read (epoch s)."""

    rows: tuple[PartitionLag, ...]
    at: float


class LagBook:
    """The last lag read of each group, and the failed reads: safe to write from the exporter's
    thread while a scrape reads it."""

    def __init__(self, groups: Iterable[str], started_at: float) -> None:
        """`groups` are shown (their sample age growing) from `started_at` (epoch s) on, before
        their first read."""
        self.started_at = started_at
        self._reads: dict[str, GroupRead] = {}
        self._failures: dict[str, int] = dict.fromkeys(groups, 0)
        self._errors: dict[str, str] = {}
        self._ages: dict[Place, float] = {}
        """The last age read of each partition (s): what is exported while it is unknown."""
        self._lock = threading.Lock()

    def record(self, group: str, rows: Iterable[PartitionLag], at: float) -> None:
        """`group`'s lag as read at `at` (epoch s); it replaces the group's previous read."""
        read = GroupRead(tuple(rows), at)
        with self._lock:
            self._reads[group] = read
            for r in read.rows:
                if r.lag_seconds is not None:
                    self._ages[(r.group, r.topic, r.partition)] = r.lag_seconds
            self._failures.setdefault(group, 0)
            self._errors.pop(group, None)

    def failed(self, group: str, error: str) -> None:
        """A read of `group` failed with `error` (one line): its last figures stay."""
        with self._lock:
            self._failures[group] = self._failures.get(group, 0) + 1
            self._errors[group] = error

    def retain(self, groups: Iterable[str]) -> None:
        """Forget every group not in `groups` (one gone from the broker), with its figures."""
        keep = set(groups)
        with self._lock:
            for table in (self._reads, self._failures, self._errors):
                for group in [g for g in table if g not in keep]:
                    del table[group]
            for place in [p for p in self._ages if p[0] not in keep]:
                del self._ages[place]

    def groups(self) -> list[str]:
        """Every group shown: those given at the start and those read since, sorted."""
        with self._lock:
            return sorted({*self._reads, *self._failures})

    def read_at(self, group: str) -> float | None:
        """When `group`'s lag was last read (epoch s), None before its first read."""
        with self._lock:
            read = self._reads.get(group)
        return None if read is None else read.at

    def errors(self) -> dict[str, str]:
        """The groups whose last read failed, with why."""
        with self._lock:
            return dict(self._errors)

    def samples(self, now: float) -> list[Sample]:
        """Every group's lag per partition, then each group's sample age and failures, at `now`
        (epoch s)."""
        with self._lock:
            reads = dict(self._reads)
            failures = dict(self._failures)
            known = dict(self._ages)
        lag: list[Sample] = []
        exact: list[Sample] = []
        seconds: list[Sample] = []
        for read in reads.values():
            for row in read.rows:
                where = {"group": row.group, "topic": row.topic, "partition": str(row.partition)}
                lag.append(Sample("consumer_lag_messages", "gauge", _LAG_DOC, where, row.lag))
                exact.append(
                    Sample("consumer_lag_exact", "gauge", _EXACT_DOC, where, int(row.end_exact))
                )
                age = known.get((row.group, row.topic, row.partition))
                if age is not None:
                    seconds.append(
                        Sample("consumer_lag_seconds", "gauge", _SECONDS_DOC, where, age)
                    )
        groups = sorted({*reads, *failures})
        ages = [
            Sample(
                "lag_sample_age_seconds",
                "gauge",
                _AGE_DOC,
                {"group": g},
                max(0.0, now - (reads[g].at if g in reads else self.started_at)),
            )
            for g in groups
        ]
        failed = [
            Sample("lag_sample_failures", "counter", _FAILED_DOC, {"group": g}, failures.get(g, 0))
            for g in groups
        ]
        return [*lag, *exact, *seconds, *ages, *failed]


_LAG_DOC = "messages behind the log end: log end minus the group's committed offset"
_EXACT_DOC = (
    "1: the lag is exact; 0: the log end was not read in time, the lag is a lower bound "
    "(the high watermark, which some brokers report short)"
)
_SECONDS_DOC = (
    "age of the oldest message the group has not consumed (0 when caught up); while it cannot "
    "be read in time, the last age read"
)
_AGE_DOC = (
    "seconds since this group's lag was last read (since the exporter started, before its "
    "first read): the figures are this old"
)
_FAILED_DOC = "reads of this group's lag that failed (its last figures stay, growing older)"
