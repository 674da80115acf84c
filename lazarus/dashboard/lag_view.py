"""Consumer lag as the dashboard charts it: one `GroupLag` per group per sample, and a bounded
`LagHistory` of samples. Pure: the sampler in `state` reads the broker and adds the samples.

Each `GroupLag` carries when its figures were read (`sampled_at`): when the broker fails, the
table keeps the last figures read (`carried`), with the error, and the page shows their age
once they are older than `STALE_AFTER_S` (`lazarus.lag_text`); the chart shows a gap."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from lazarus.lag import PartitionLag, lag_exact, max_age, total_lag
from lazarus.lag_text import group_note

HISTORY_SAMPLES = 300
"""Lag samples kept for the chart (10 minutes at the default 2 s interval)."""


@dataclass(frozen=True)
class GroupLag:
    """One consumer group's lag at one sample."""

    group: str
    lag: int | None
    """Messages not yet committed, over every partition (None: could not be read)."""
    max_age_s: float | None = None
    """Age of the oldest unconsumed message (0 when caught up)."""
    committed: bool = False
    """The group has committed offsets (False: it never ran, or never committed yet)."""
    partitions: int = 0
    error: str | None = None
    sampled_at: float | None = None
    """When `lag` and `max_age_s` were read (epoch s; None: never)."""
    note: str | None = None
    """What to say beside the lag (`lazarus.lag_text.group_note`), e.g. that it never committed."""
    exact: bool = True
    """False: a log end was not read in time, so `lag` is a lower bound (the page shows `≥N`)."""

    @classmethod
    def of(cls, group: str, rows: Sequence[PartitionLag], sampled_at: float) -> GroupLag:
        """A group's figures from its partitions' lag in one sample."""
        lag = total_lag(rows)
        committed = any(r.committed is not None for r in rows)
        return cls(
            group,
            lag,
            max_age(rows),
            committed,
            len(rows),
            sampled_at=sampled_at,
            note=group_note(committed, lag, len(rows)),
            exact=lag_exact(rows),
        )


def carried(
    shown: Mapping[str, GroupLag], groups: Iterable[str], error: str
) -> dict[str, GroupLag]:
    """The table after a failed sample: each group's last figures (with their `sampled_at`, so
    their age shows) and the error; a group never read has no figures.

    >>> old = {"g": GroupLag("g", 7, sampled_at=10.0)}
    >>> carried(old, ["g", "h"], "down")["g"]
    GroupLag(group='g', lag=7, max_age_s=None, committed=False, partitions=0, error='down', \
sampled_at=10.0, note=None, exact=True)
    >>> carried(old, ["g", "h"], "down")["h"].lag is None
    True
    """
    return {
        g: replace(shown[g], error=error) if g in shown else GroupLag(g, None, error=error)
        for g in groups
    }


class LagHistory:
    """The last `size` lag samples, oldest first: a ring buffer, safe to read while written."""

    def __init__(self, size: int = HISTORY_SAMPLES) -> None:
        if size < 1:
            raise ValueError("a lag history keeps at least one sample")
        self._samples: deque[tuple[float, tuple[GroupLag, ...]]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, at: float, groups: Iterable[GroupLag]) -> None:
        """Append one sample taken at `at` (epoch s); the oldest falls off when full."""
        sample = (at, tuple(groups))
        with self._lock:
            self._samples.append(sample)

    def __len__(self) -> int:
        with self._lock:
            return len(self._samples)

    def latest(self) -> tuple[float, tuple[GroupLag, ...]] | None:
        """The newest sample as `(epoch s, groups)`, None before the first."""
        with self._lock:
            return self._samples[-1] if self._samples else None

    def series(self) -> dict[str, Any]:
        """`{"at": [epoch s, ...], "groups": {group: [lag or None, ...]}}`, one value per sample
        for every group (None where a sample lacks it), groups in the order first seen."""
        with self._lock:
            samples = list(self._samples)
        names: dict[str, None] = {}
        for _, groups in samples:
            for g in groups:
                names.setdefault(g.group, None)
        values: dict[str, list[int | None]] = {name: [] for name in names}
        for _, groups in samples:
            here = {g.group: g.lag for g in groups if g.error is None}
            for name in names:
                values[name].append(here.get(name))
        return {"at": [at for at, _ in samples], "groups": values}
