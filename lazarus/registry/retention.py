"""Which snapshot versions a model keeps: backup rotation (grandfather-father-son), pure.

A `Retention` keeps, out of the versions stored:

- the newest `last` (by version number): "last 10";
- the newest version of each of the `minutely` most recent UTC minutes that hold a version:
  "minutely 2026-11-30T14:05";
- the newest version of each of the `hourly` most recent UTC hours that hold a version:
  "hourly 2026-11-30T14";
- the newest version of each of the `daily` most recent UTC days that hold a version:
  "daily 2026-11-29";
- always the version scorers serve ("current"), the one a rollback pinned ("pinned") and
  the newest ("newest": a restarting trainer resumes from it).

"Newest" in a bucket is the highest version number: versions are published in order, so
it is also the last created unless a clock went back. The minutes, hours and days counted are those
that hold a version, as restic's `--keep-hourly` counts them: a trainer stopped over a
weekend still keeps a week of days. A version may be kept for several reasons; at most
`last + minutely + hourly + daily` are kept besides the current, pinned and newest ones. Pruning what
`kept` keeps drops nothing more: a kept version stays until newer ones displace it.

>>> from datetime import UTC, datetime
>>> created = {v: datetime(2026, 11, 30, 13 + v // 3, 10 * v, tzinfo=UTC) for v in range(1, 6)}
>>> kept(created, Retention(last=2, minutely=0, hourly=2, daily=0), current=5, newest=5)
{2: ('hourly 2026-11-30T13',), 4: ('last 2',), 5: ('current', 'newest', 'last 2', 'hourly 2026-11-30T14')}
>>> dropped(created, Retention(last=2, minutely=0, hourly=2, daily=0), current=5, newest=5)
[1, 3]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lazarus.settings import Settings

CURRENT = "current"
PINNED = "pinned"
NEWEST = "newest"


@dataclass(frozen=True)
class Retention:
    """How many versions of a model stay stored (counts, each >= 0; 0 turns a rule off)."""

    last: int = 10
    """The newest versions kept (LAZARUS_SNAPSHOT_KEEP)."""
    minutely: int = 60
    """UTC minutes whose newest version is kept (LAZARUS_SNAPSHOT_KEEP_MINUTELY)."""
    hourly: int = 24
    """UTC hours whose newest version is kept (LAZARUS_SNAPSHOT_KEEP_HOURLY)."""
    daily: int = 7
    """UTC days whose newest version is kept (LAZARUS_SNAPSHOT_KEEP_DAILY)."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"retention {name} must be a whole number >= 0, not {value!r}")

    @classmethod
    def of(cls, keep: Retention | int) -> Retention:
        """`keep` itself, or for a number n only the newest n versions (no per-minute, hourly
        or daily ones).

        >>> Retention.of(3)
        Retention(last=3, minutely=0, hourly=0, daily=0)
        """
        if isinstance(keep, Retention):
            return keep
        return cls(last=keep, minutely=0, hourly=0, daily=0)

    @classmethod
    def of_settings(cls, settings: Settings) -> Retention:
        """The rotation configured by LAZARUS_SNAPSHOT_KEEP, _KEEP_MINUTELY, _KEEP_HOURLY and
        _KEEP_DAILY."""
        return cls(
            last=settings.snapshot_keep,
            minutely=settings.snapshot_keep_minutely,
            hourly=settings.snapshot_keep_hourly,
            daily=settings.snapshot_keep_daily,
        )

    def as_dict(self) -> dict[str, int]:
        """`{"last": ..., "minutely": ..., "hourly": ..., "daily": ...}` (what a store records, what JSON shows)."""
        return asdict(self)

    def describe(self) -> str:
        """In words, for people.

        >>> Retention().describe()
        'the last 10, the newest of each of 60 minutes, 24 hours and 7 days'
        """
        return (
            f"the last {self.last}, the newest of each of {self.minutely} minutes, "
            f"{self.hourly} hours and {self.daily} days"
        )


def kept(
    created: Mapping[int, datetime],
    policy: Retention,
    *,
    current: int | None = None,
    pinned: int | None = None,
    newest: int | None = None,
) -> dict[int, tuple[str, ...]]:
    """Which of the stored versions `policy` keeps, and why: version -> reasons, oldest first.

    `created` maps every stored version to its creation time (timezone-aware; buckets are
    UTC). `current`, `pinned` and `newest` are always kept when stored (None: there is none).
    Raises ValueError on a naive time.
    """
    why: dict[int, list[str]] = {v: [] for v in created}
    for label, version in ((CURRENT, current), (PINNED, pinned), (NEWEST, newest)):
        if version is not None and version in why:
            why[version].append(label)
    newest_first = sorted(created, reverse=True)
    for version in newest_first[: policy.last]:
        why[version].append(f"last {policy.last}")
    rules = (
        ("minutely", policy.minutely, _minute),
        ("hourly", policy.hourly, _hour),
        ("daily", policy.daily, _day),
    )
    for rule, count, bucket in rules:
        for label, version in _newest_per_bucket(created, newest_first, bucket)[:count]:
            why[version].append(f"{rule} {label}")
    return {v: tuple(reasons) for v, reasons in sorted(why.items()) if reasons}


def dropped(
    created: Mapping[int, datetime],
    policy: Retention,
    *,
    current: int | None = None,
    pinned: int | None = None,
    newest: int | None = None,
) -> list[int]:
    """The stored versions `policy` does not keep (see `kept`), oldest first."""
    keep = kept(created, policy, current=current, pinned=pinned, newest=newest)
    return sorted(v for v in created if v not in keep)


def _newest_per_bucket(
    created: Mapping[int, datetime], newest_first: list[int], bucket: Callable[[datetime], str]
) -> list[tuple[str, int]]:
    """(bucket label, its highest version), the most recent bucket first."""
    newest: dict[str, int] = {}
    for version in newest_first:
        newest.setdefault(bucket(created[version]), version)
    return sorted(newest.items(), reverse=True)  # ISO labels sort as their times do


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"a version's creation time must carry its timezone, not {at!r}")
    return at.astimezone(UTC)


def _minute(at: datetime) -> str:
    return _utc(at).strftime("%Y-%m-%dT%H:%M")


def _hour(at: datetime) -> str:
    return _utc(at).strftime("%Y-%m-%dT%H")


def _day(at: datetime) -> str:
    return _utc(at).strftime("%Y-%m-%d")
