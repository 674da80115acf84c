"""A log end not read in time is a lower bound, said as one (`≥N`, `end_exact` false, "age
unknown" rather than caught up), and `lazarus lag --watch --json` prints one JSON object a line
per refresh."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lazarus.cli import lag_cmd
from lazarus.cli.json_shapes import LagReport
from lazarus.cli.main import main
from lazarus.cli.status_render import groups_table
from lazarus.dashboard.lag_view import GroupLag
from lazarus.errors import ServiceUnavailable
from lazarus.lag import PartitionLag, _end, lag_exact, max_age, partition_lag
from lazarus.lag_fetch import Reads
from lazarus.lag_memo import LagMemo
from lazarus.lag_text import age_cell, lag_cell
from lazarus.statusview import lag_text_of
from tests.unit.test_lag_core import NOW, rendered, sample_of

TP = ("t", 0)


def test_a_log_end_is_exact_only_when_read_to_the_end_now_or_before() -> None:
    memo = LagMemo()
    assert _end(TP, 0, 50, memo, Reads(ends={TP: 57})) == (57, True)
    memo.ends.put(("t", 0, 50), 57)
    assert _end(TP, 0, 50, memo, Reads()) == (57, True)  # read by an earlier sample
    assert _end(TP, 0, 60, memo, Reads()) == (60, False)  # not read: the high watermark
    assert _end(TP, 0, 60, memo, Reads(seen={TP: 64})) == (64, False)  # read part of the way
    assert _end(TP, 60, 60, memo, Reads()) == (60, True)  # an empty log needs no read


def test_a_lag_of_zero_on_a_lower_bound_is_not_caught_up() -> None:
    memo = LagMemo()
    short = partition_lag("g", TP, 10, 0, 10, memo, NOW, exact=False)
    assert (short.lag, short.lag_seconds, short.end_exact) == (0, None, False)
    assert age_cell(short.lag, short.lag_seconds, short.end_exact) == "age unknown"
    caught_up = partition_lag("g", TP, 10, 0, 10, memo, NOW)
    assert (caught_up.lag_seconds, caught_up.end_exact) == (0.0, True)
    assert max_age([caught_up, short]) is None and max_age([caught_up]) == 0.0
    assert lag_exact([caught_up]) and not lag_exact([caught_up, short])
    assert short.as_dict()["end_exact"] is False


def lower(lag: int) -> PartitionLag:
    return PartitionLag("g", "t", 1, 5, 5 + lag, lag, None, NOW, end_exact=False)


def test_a_lower_bound_is_shown_with_a_sign_everywhere() -> None:
    exact = PartitionLag("g", "t", 0, 5, 35, 30, 2.0, NOW)
    assert lag_cell(4_030, None, NOW, NOW, exact=False) == "≥4,030"
    assert lag_text_of(sample_of([exact, lower(3)], NOW), "g", NOW) == "≥33"
    assert lag_text_of(sample_of([exact], NOW), "g", NOW) == "30"
    assert GroupLag.of("g", [exact, lower(3)], NOW).exact is False
    groups = [
        {"group": "a", "committed": True, "lag": 7, "lag_exact": False, "lag_seconds": None,
         "sampled_at": NOW},
        {"group": "b", "committed": True, "lag": 0, "lag_exact": False, "lag_seconds": None,
         "sampled_at": NOW},
    ]  # fmt: skip
    table = rendered(groups_table(groups, now=NOW))
    assert "≥7" in table and "≥0" in table and "0.0" not in table
    assert table.count("age unknown") == 2


def test_lag_table_marks_each_partition_and_the_total_of_a_lower_bound() -> None:
    rows = (PartitionLag("g", "t", 0, 5, 35, 30, 2.0, NOW), lower(3))
    table = rendered(lag_cmd.render([lag_cmd._group_row("g", rows, NOW)]))
    (first,) = [line for line in table.splitlines() if "│ 0 " in line]
    (second,) = [line for line in table.splitlines() if "│ 1 " in line]
    assert "≥" not in first and "≥8 " in second and "≥3 " in second
    assert "≥33" in table and "age unknown" in table


def test_watch_json_prints_one_object_a_line_per_refresh_until_the_broker_is_lost(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = (PartitionLag("g", "t", 0, 5, 35, 30, 2.0, NOW), lower(3))
    reads: list[tuple[list[dict[str, Any]], ServiceUnavailable | None]] = [
        ([lag_cmd._group_row("g", rows, NOW)], None),
        ([lag_cmd._group_row("g", rows[:1], NOW)], None),
        ([], ServiceUnavailable("Kafka stopped answering")),
    ]
    monkeypatch.setattr(lag_cmd, "collect", lambda *_: reads.pop(0))
    with pytest.raises(SystemExit) as done:
        main(["lag", "--watch", "--json", "--interval", "0.5"])
    out, err = capsys.readouterr()
    assert done.value.code == 1 and "Kafka stopped answering" in err
    lines = out.splitlines()
    assert len(lines) == 3 and not reads  # the first sample too, then each refresh
    objects = [LagReport.model_validate(json.loads(line)) for line in lines]
    assert [[g.total_lag_exact for g in o.groups] for o in objects] == [[False], [True], []]
    assert objects[2].error == "Kafka stopped answering"
