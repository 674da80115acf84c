"""Lag as people read it: the figure, whether it is stale and how old, what "never committed"
means. Pure: the `up` table, `lazarus lag`, `lazarus status` and the dashboard's server side
all say it the same way (the dashboard's page mirrors these rules in `static/app.js`).
"""

from __future__ import annotations

STALE_AFTER_S = 5.0
"""A lag figure older than this is shown with its age, never as current."""


def duration(seconds: float) -> str:
    """A duration for people: `37 s`, `4 m 10 s`, `2 h 5 m`.

    >>> duration(3.4), duration(250), duration(7500)
    ('3 s', '4 m 10 s', '2 h 5 m')
    """
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} m {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} m"


def staleness(sampled_at: float | None, now: float, after: float = STALE_AFTER_S) -> str | None:
    """None when the sample is fresh (at most `after` seconds old); else how old it is, e.g.
    `37 s old`, or `no sample yet`.

    >>> staleness(100.0, 103.0), staleness(100.0, 137.0), staleness(None, 1.0)
    (None, '37 s old', 'no sample yet')
    """
    if sampled_at is None:
        return "no sample yet"
    age = now - sampled_at
    return None if age <= after else f"{duration(age)} old"


def group_note(committed: bool, lag: int, partitions: int = 1) -> str | None:
    """What to say beside a group's lag, if anything: its topics do not exist, or it never
    committed, so its lag is the whole log it would read.

    >>> group_note(True, 5), group_note(False, 4030), group_note(False, 0)
    (None, 'never committed: lag is the whole log', 'never committed; its topics are empty')
    >>> group_note(False, 0, partitions=0)
    'its topics do not exist'
    """
    if partitions == 0:
        return "its topics do not exist"
    if committed:
        return None
    return (
        "never committed: lag is the whole log" if lag else "never committed; its topics are empty"
    )


def figure(value: int, exact: bool = True) -> str:
    """An offset or a lag for people; `≥` before one that is a lower bound (a log end not read
    in time, `lazarus.lag.PartitionLag.end_exact`).

    >>> figure(4030), figure(4030, exact=False)
    ('4,030', '≥4,030')
    """
    return f"{value:,}" if exact else f"≥{value:,}"


def lag_cell(
    lag: int | None, note: str | None, sampled_at: float | None, now: float, exact: bool = True
) -> str:
    """A group's lag for a table cell: the figure (`≥N` when not `exact`), its `note`
    (`group_note`) in brackets, and the sample's age when stale; `-` when never read.

    >>> lag_cell(4030, None, 100.0, 101.0)
    '4,030'
    >>> lag_cell(4030, None, 100.0, 137.0)
    '4,030 · 37 s old'
    >>> lag_cell(12, group_note(False, 12), 100.0, 101.0)
    '12 (never committed: lag is the whole log)'
    >>> lag_cell(None, None, None, 1.0), lag_cell(3, None, 100.0, 101.0, exact=False)
    ('-', '≥3')
    """
    if lag is None:
        return "-"
    text = figure(lag, exact) if note is None else f"{figure(lag, exact)} ({note})"
    old = staleness(sampled_at, now)
    return text if old is None else f"{text} · {old}"


def age_cell(lag: int | None, seconds: float | None, exact: bool = True) -> str:
    """The age of the oldest unconsumed message: `12.5` (seconds), `0.0` when caught up,
    `age unknown` when lagging (or, lag not `exact`, maybe lagging) but not read in time, `-`
    when lag is not known.

    >>> age_cell(5, 12.53), age_cell(0, 0.0), age_cell(5, None), age_cell(None, None)
    ('12.5', '0.0', 'age unknown', '-')
    >>> age_cell(0, None), age_cell(0, None, exact=False)
    ('0.0', 'age unknown')
    """
    if lag is None:
        return "-"
    if seconds is None:
        return "age unknown" if lag > 0 or not exact else "0.0"
    return f"{seconds:.1f}"
