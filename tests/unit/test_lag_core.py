"""The pure parts of lag sampling: what is remembered, what is read, how long reading may take,
how a figure is computed and how it is said (fresh, stale, never committed, age unknown)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from lazarus.cli.status_render import groups_table
from lazarus.dashboard.lag_view import GroupLag, LagHistory, carried
from lazarus.lag import LagSample, PartitionLag, max_age, partition_lag, plan_reads, total_lag
from lazarus.lag_fetch import PartitionRead, Plan, Reads, read_with
from lazarus.lag_memo import NO_TIMESTAMP, Bounded, LagMemo, age_seconds
from lazarus.lag_text import STALE_AFTER_S, age_cell, group_note, lag_cell, staleness
from lazarus.statusview import lag_text_of

NOW = 1_800_000_000.0


# -- what is remembered --------------------------------------------------------------------------


def test_bounded_table_drops_the_least_recently_used() -> None:
    table = Bounded[str](3)
    for i, key in enumerate("abc"):
        table.put(key, i)
    assert table.get("a") == 0  # now the most recent
    table.put("d", 3)
    assert table.get("b") is None and [table.get(k) for k in "acd"] == [0, 2, 3]
    assert len(table) == 3
    with pytest.raises(ValueError):
        Bounded[str](0)


def test_memo_keeps_stamps_by_position_and_ends_by_high_watermark() -> None:
    memo = LagMemo()
    memo.stamps.put(("t", 1, 40), 1_000)
    memo.ends.put(("t", 1, 31), 57)
    assert memo.stamp("t", 1, 40) == 1_000 and memo.stamp("t", 1, 41) is None
    assert memo.end("t", 1, 31) == 57
    assert memo.end("t", 1, 32) is None  # the watermark moved: a new batch, read again


def test_ages_are_never_negative_and_unknown_without_a_timestamp() -> None:
    assert age_seconds(int(NOW * 1000) - 2_500, NOW) == 2.5
    assert age_seconds(int(NOW * 1000) + 9_000, NOW) == 0.0  # a producer's clock ahead of ours
    assert age_seconds(NO_TIMESTAMP, NOW) is None and age_seconds(None, NOW) is None


# -- what is read ----------------------------------------------------------------------------


def plan_for(memo: LagMemo, committed: dict[str, dict[tuple[str, int], int]]) -> Plan:
    low = {("t", 0): 0, ("t", 1): 10, ("e", 0): 0}
    high = {("t", 0): 100, ("t", 1): 10, ("e", 0): 5}
    reading = {g: ["t"] for g in committed}
    return plan_reads(low, high, committed, reading, {"t": [0, 1], "e": [0]}, memo, ages=True)


def test_a_plan_reads_ends_and_oldest_unconsumed_records_not_known_yet() -> None:
    plan = plan_for(LagMemo(), {"a": {("t", 0): 40}, "b": {}})
    # every non-empty log's last batch; t/1 is empty (low == high)
    assert plan.ends == {("t", 0): 99, ("e", 0): 4}
    # a: its committed offset; b never committed: the log's first offset kept
    assert plan.stamps == {("t", 0): {40, 0}}


def test_a_plan_skips_what_the_memo_knows() -> None:
    memo = LagMemo()
    memo.ends.put(("t", 0, 100), 130)  # Tansu: the last batch behind watermark 100 ends at 130
    memo.ends.put(("e", 0, 5), 5)
    memo.stamps.put(("t", 0, 40), 1_000)
    plan = plan_for(memo, {"a": {("t", 0): 40}, "b": {("t", 0): 130}, "c": {("t", 0): 120}})
    assert plan.ends == {}
    # a's age is known; b is caught up (130 is the end); c lags inside the last batch
    assert plan.stamps == {("t", 0): {120}}


def test_without_ages_only_ends_are_read() -> None:
    plan = plan_reads(
        {("t", 0): 0}, {("t", 0): 9}, {"a": {}}, {"a": ["t"]}, {"t": [0]}, LagMemo(), False
    )
    assert plan.ends == {("t", 0): 8} and plan.stamps == {}


def test_one_partition_reads_its_places_in_order_and_seeks_over_gaps() -> None:
    reads = Reads()
    part = PartitionRead(("t", 0), end_from=5_000, offsets=[7, 3, 2_000])
    assert part.position == 3
    assert part.record(2, 111, reads) is None  # before the position: fetched before a seek
    assert part.record(3, 333, reads) is None
    assert part.record(4, 444, reads) is None
    assert part.record(9, 999, reads) == 2_000  # 7 is compacted away: 9 is its oldest record
    assert reads.stamps == {("t", 0, 3): 333, ("t", 0, 7): 999}
    assert part.record(2_000, 2_222, reads) == 5_000  # then on to the last batch
    part.record(5_000, 5, reads)
    part.record(5_041, 5, reads)
    part.reached(5_042, reads)
    assert part.done and reads.ends == {("t", 0): 5_042}
    assert reads.stamps[("t", 0, 2_000)] == 2_222


def test_a_place_at_or_past_the_end_has_no_record() -> None:
    reads = Reads()
    part = PartitionRead(("t", 0), end_from=None, offsets=[50])
    part.reached(50, reads)
    assert part.done and reads.stamps == {} and reads.ends == {}


class SilentConsumer:
    """A consumer whose broker never answers in time: consume() returns nothing."""

    def __init__(self) -> None:
        self.assigned: list[TopicPartition] = []
        self.unassigned = False

    def assign(self, tps: list[TopicPartition]) -> None:
        self.assigned = tps

    def consume(self, n: int, timeout: float) -> list[Any]:
        return []

    def unassign(self) -> None:
        self.unassigned = True


def test_reading_is_bounded_by_its_deadline_and_says_what_it_missed() -> None:
    consumer = SilentConsumer()
    plan = Plan(ends={("t", 0): 9}, stamps={("t", 0): {3}, ("t", 1): {5}})
    reads = Reads()
    read_with(consumer, plan, reads, deadline=time.monotonic() + 0.05)  # type: ignore[arg-type]
    assert reads.late == 2 and reads.ends == {} and reads.stamps == {}
    assert consumer.unassigned
    assert sorted((tp.partition, tp.offset) for tp in consumer.assigned) == [(0, 3), (1, 5)]
    # what the sample then shows: the lag, and "age unknown"
    row = partition_lag("g", ("t", 0), 3, 0, 10, LagMemo(), NOW)
    assert (row.lag, row.lag_seconds) == (7, None)
    assert age_cell(row.lag, row.lag_seconds) == "age unknown"


# -- figures -------------------------------------------------------------------------------------


def row(lag: int, age: float | None, committed: int | None = 5, at: float = NOW) -> PartitionLag:
    return PartitionLag("g", "t", 0, committed, 5 + lag, lag, age, at)


def test_a_group_that_never_committed_lags_by_the_whole_log_kept() -> None:
    r = partition_lag("g", ("t", 0), None, 20, 120, None, NOW)
    assert (r.committed, r.lag, r.lag_seconds) == (None, 100, None)
    assert partition_lag("g", ("t", 0), 130, 0, 120, None, NOW).lag == 0


def test_the_oldest_age_is_unknown_when_a_lagging_partition_age_is() -> None:
    assert max_age([row(3, 4.0), row(0, 0.0)]) == 4.0
    assert max_age([row(3, 4.0), row(2, None)]) is None
    assert max_age([row(0, None)]) is None
    assert total_lag([row(3, 4.0), row(2, None)]) == 5


def test_partition_lag_as_json_gives_sampled_at_in_iso_8601() -> None:
    data = row(3, 1.5, at=0.25).as_dict()
    assert data["sampled_at"] == "1970-01-01T00:00:00.250Z" and data["lag"] == 3


def test_a_sample_counts_the_messages_kept_on_a_topic() -> None:
    sample = LagSample(NOW, {}, {("d", 0): (2, 7), ("d", 1): (0, 4), ("x", 0): (0, 9)})
    assert sample.messages("d") == 9 and sample.messages("nope") is None


# -- how it is said ------------------------------------------------------------------------------


def test_staleness_starts_after_five_seconds() -> None:
    assert STALE_AFTER_S == 5.0
    assert staleness(NOW, NOW + 5.0) is None
    assert staleness(NOW, NOW + 5.5) == "6 s old"
    assert staleness(NOW, NOW + 250) == "4 m 10 s old"
    assert staleness(None, NOW) == "no sample yet"


def test_never_committed_is_said_plainly_and_never_as_lag_zero() -> None:
    note = group_note(False, 4_030)
    assert lag_cell(4_030, note, NOW, NOW) == "4,030 (never committed: lag is the whole log)"
    assert group_note(False, 0) == "never committed; its topics are empty"
    assert group_note(False, 0, partitions=0) == "its topics do not exist"


def sample_of(rows: Sequence[PartitionLag], at: float) -> LagSample:
    return LagSample(at, {"g": tuple(rows)})


def test_up_table_shows_a_stale_lag_with_its_age() -> None:
    rows = [row(4_000, 3.0, at=NOW), row(30, 1.0, at=NOW)]
    assert lag_text_of(sample_of(rows, NOW), "g", NOW + 1) == "4,030"
    assert lag_text_of(sample_of(rows, NOW), "g", NOW + 37) == "4,030 · 37 s old"
    assert lag_text_of(sample_of(rows, NOW), "other", NOW) == "-"
    assert lag_text_of(None, "g", NOW) == "-"
    never = [row(12, 1.0, committed=None)]
    assert (
        lag_text_of(sample_of(never, NOW), "g", NOW) == "12 (never committed: lag is the whole log)"
    )


def rendered(table: Any) -> str:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_status_groups_table_says_stale_never_committed_and_age_unknown() -> None:
    groups = [
        {"group": "a", "committed": True, "lag": 4_030, "lag_seconds": 12.0, "sampled_at": NOW},
        {"group": "b", "committed": False, "lag": 9, "lag_seconds": 3.0, "sampled_at": NOW},
        {"group": "c", "committed": True, "lag": 5, "lag_seconds": None, "sampled_at": NOW},
    ]
    fresh = rendered(groups_table(groups, now=NOW + 1))
    assert "4,030 " in fresh and "old" not in fresh
    assert "9 (never committed: lag is the whole log)" in fresh and "age unknown" in fresh
    stale = rendered(groups_table(groups, now=NOW + 37))
    assert "4,030 · 37 s old" in stale


def test_dashboard_keeps_the_last_figures_with_their_age_when_a_sample_fails() -> None:
    first = GroupLag.of("g", [row(3, 2.0), row(1, 1.0)], NOW)
    assert (first.lag, first.max_age_s, first.committed, first.partitions) == (4, 2.0, True, 2)
    assert first.sampled_at == NOW and first.note is None
    history = LagHistory()
    history.add(NOW, [first])
    shown = carried({"g": first}, ["g", "h"], "Kafka stopped answering")
    history.add(NOW + 2, shown.values())
    assert shown["g"].lag == 4 and shown["g"].sampled_at == NOW  # its age shows on the page
    assert shown["g"].error == "Kafka stopped answering" and shown["h"].lag is None
    assert history.series()["groups"]["g"] == [4, None]  # a gap in the chart, not a flat line
    never = GroupLag.of("n", [row(9, 1.0, committed=None)], NOW)
    assert never.note == "never committed: lag is the whole log" and never.lag == 9
