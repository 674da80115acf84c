"""The snapshot rotation (`lazarus.registry.retention`): which versions stay, and why."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lazarus.errors import ConfigError
from lazarus.registry.retention import Retention, dropped, kept
from lazarus.settings import load_settings

T0 = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)
TWO_WEEKS_S = 14 * 86_400
ZONES = [timezone(timedelta(hours=h)) for h in (-11, -5, 0, 1, 5.5, 13)]


@st.composite
def registries(draw: st.DrawFn) -> tuple[dict[int, datetime], Retention, dict[str, int | None]]:
    """Stored versions with creation times (in any time zone, a clock that may go back), a
    rotation, and the current, pinned and newest versions."""
    versions = sorted(draw(st.sets(st.integers(1, 400), max_size=60)))
    span_s = draw(st.sampled_from([3_600, TWO_WEEKS_S]))  # minutes that share versions, or not
    created = {
        v: (T0 + timedelta(seconds=draw(st.integers(0, span_s)))).astimezone(
            draw(st.sampled_from(ZONES))
        )
        for v in versions
    }
    policy = Retention(
        last=draw(st.integers(0, 12)),
        minutely=draw(st.integers(0, 90)),
        hourly=draw(st.integers(0, 30)),
        daily=draw(st.integers(0, 10)),
    )
    pick = st.one_of(st.none(), st.sampled_from(versions)) if versions else st.none()
    latest = versions[-1] if versions else None
    marks = {"current": draw(pick), "pinned": draw(pick), "newest": latest}
    return created, policy, marks


def newest_per(created: dict[int, datetime], fmt: str) -> list[tuple[str, int]]:
    """Oracle: (UTC bucket, its highest version), most recent bucket first."""
    buckets: dict[str, list[int]] = {}
    for v, at in created.items():
        buckets.setdefault(at.astimezone(UTC).strftime(fmt), []).append(v)
    return [(b, max(vs)) for b, vs in sorted(buckets.items(), reverse=True)]


@settings(max_examples=300, deadline=None)
@given(registries())
def test_the_rotation_keeps_what_it_promises_and_nothing_else(
    case: tuple[dict[int, datetime], Retention, dict[str, int | None]],
) -> None:
    created, policy, marks = case
    why = kept(created, policy, **marks)
    assert set(why) <= set(created)
    assert sorted(set(created) - set(why)) == dropped(created, policy, **marks)
    for name, version in marks.items():
        if version is not None:
            assert name in why[version]  # never drops current, pinned or newest
    specials = {v for v in marks.values() if v is not None}
    assert len(why) <= policy.last + policy.minutely + policy.hourly + policy.daily + len(specials)
    expected = {v: [k for k, m in marks.items() if m == v] for v in specials}
    for v in sorted(created, reverse=True)[: policy.last]:
        expected.setdefault(v, []).append(f"last {policy.last}")
    for rule, fmt, count in (
        ("minutely", "%Y-%m-%dT%H:%M", policy.minutely),
        ("hourly", "%Y-%m-%dT%H", policy.hourly),
        ("daily", "%Y-%m-%d", policy.daily),
    ):
        for bucket, v in newest_per(created, fmt)[:count]:
            expected.setdefault(v, []).append(f"{rule} {bucket}")  # each bucket: its newest
    assert why == {v: tuple(r) for v, r in sorted(expected.items())}


@settings(max_examples=200, deadline=None)
@given(registries())
def test_pruning_again_drops_nothing_and_order_or_zone_change_nothing(
    case: tuple[dict[int, datetime], Retention, dict[str, int | None]],
) -> None:
    created, policy, marks = case
    why = kept(created, policy, **marks)
    survivors = {v: created[v] for v in why}
    assert dropped(survivors, policy, **marks) == []
    reordered = dict(sorted(created.items(), key=lambda item: -item[0]))
    in_utc = {v: at.astimezone(UTC) for v, at in created.items()}
    assert kept(reordered, policy, **marks) == why == kept(in_utc, policy, **marks)


def test_a_week_at_ten_second_cadence_keeps_last_minutes_hours_and_days() -> None:
    """One version every 10 s for a week: 10 newest, one per minute for an hour, one per hour
    for a day, one per day."""
    created = {n + 1: T0 + timedelta(seconds=10 * n) for n in range(7 * 8640)}
    newest = len(created)
    why = kept(created, Retention(), current=newest - 3, newest=newest)
    # the last 10 (100 s) hold the newest two minutes; the newest hour and day are among them
    assert len(why) == 10 + 58 + 23 + 6
    assert why[newest] == (
        "newest",
        "last 10",
        f"minutely {created[newest]:%Y-%m-%dT%H:%M}",
        f"hourly {created[newest]:%Y-%m-%dT%H}",
        f"daily {created[newest]:%Y-%m-%d}",
    )
    assert why[newest - 3] == ("current", "last 10")
    hourly = [v for v, r in why.items() if any(x.startswith("hourly") for x in r)]
    assert all(created[v].minute == 59 and created[v].second == 55 for v in hourly[:-1])
    # the oldest kept is the last version of the first day: 7 days counting today's
    assert created[newest] - created[min(why)] == timedelta(days=6)


def test_a_pinned_old_version_is_kept_beyond_the_schedule() -> None:
    created = {v: T0 + timedelta(minutes=v) for v in range(1, 31)}
    why = kept(created, Retention.of(3), current=2, pinned=2, newest=30)
    assert why == {
        2: ("current", "pinned"),
        28: ("last 3",),
        29: ("last 3",),
        30: ("newest", "last 3"),
    }
    assert kept({}, Retention()) == {}


def test_with_the_defaults_a_rollback_reaches_five_minutes_back_at_ten_second_cadence() -> None:
    """The issue's case: an hour of versions every 10 s; the one made 5 minutes before the
    newest is kept (by its minute), and every minute of the last hour has one."""
    created = {n + 1: T0 + timedelta(seconds=10 * n) for n in range(360)}
    newest = len(created)
    why = kept(created, Retention(), current=newest, newest=newest)
    five_back = newest - 30  # 30 versions of 10 s
    assert created[newest] - created[five_back] == timedelta(minutes=5)
    assert why[five_back] == (f"minutely {created[five_back]:%Y-%m-%dT%H:%M}",)
    assert five_back not in kept(created, Retention(minutely=0), newest=newest)  # as before
    minutes = {created[v].replace(second=0) for v in why}
    assert len(minutes) == 60  # T0 is 00:00:05: the hour's 60 minutes


def test_a_gap_in_publishing_counts_hours_that_hold_versions() -> None:
    """A trainer stopped for two days: its older hours are still reachable."""
    before = {v: T0 + timedelta(minutes=20 * v) for v in range(1, 7)}  # 00:20 .. 02:00
    after = {v: T0 + timedelta(days=2, minutes=v) for v in range(7, 10)}
    why = kept({**before, **after}, Retention(last=1, minutely=0, hourly=3, daily=0), newest=9)
    assert why == {
        5: ("hourly 2026-11-23T01",),
        6: ("hourly 2026-11-23T02",),
        9: ("newest", "last 1", "hourly 2026-11-25T00"),
    }


def test_rotations_are_checked_and_a_number_means_the_newest_only() -> None:
    assert Retention.of(3) == Retention(last=3, minutely=0, hourly=0, daily=0)
    assert Retention.of(Retention(1, 2, 3, 4)) == Retention(1, 2, 3, 4)
    assert Retention(**Retention(4, 5, 6, 7).as_dict()) == Retention(4, 5, 6, 7)
    with pytest.raises(ValueError, match="hourly"):
        Retention(1, 0, -1, 0)
    with pytest.raises(ValueError, match="minutely"):
        Retention(minutely=True)
    with pytest.raises(ValueError, match="timezone"):
        kept({1: datetime(2026, 1, 1)}, Retention())  # a naive time


def test_the_rotation_comes_from_four_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZARUS_SNAPSHOT_KEEP", "5")
    monkeypatch.setenv("LAZARUS_SNAPSHOT_KEEP_MINUTELY", "15")
    monkeypatch.setenv("LAZARUS_SNAPSHOT_KEEP_HOURLY", "0")
    monkeypatch.setenv("LAZARUS_SNAPSHOT_KEEP_DAILY", "30")
    assert Retention.of_settings(load_settings()) == Retention(
        last=5, minutely=15, hourly=0, daily=30
    )
    for name in ("LAZARUS_SNAPSHOT_KEEP_DAILY", "LAZARUS_SNAPSHOT_KEEP_MINUTELY"):
        monkeypatch.setenv(name, "-1")
        with pytest.raises(ConfigError) as caught:
            load_settings()
        line = str(caught.value)
        assert line.startswith(f"setting {name} is invalid: ") and "\n" not in line
        monkeypatch.setenv(name, "1")


def test_a_bad_rotation_setting_exits_2_with_one_line() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_")}
    env["LAZARUS_SNAPSHOT_KEEP_HOURLY"] = "many"
    result = subprocess.run(
        [sys.executable, "-m", "lazarus", "models", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "LAZARUS_SNAPSHOT_KEEP_HOURLY" in result.stderr
