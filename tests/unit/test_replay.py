"""Replay of recordings: any numeric CSV or JSONL, bad rows reported with their line numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.replay import (
    ReplayConfig,
    Replayer,
    count_rows,
    file_digest,
    measurement_name,
    parse_label,
    parse_time,
    read_rows,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def convert_all(path: Path, cfg: ReplayConfig) -> list:  # type: ignore[type-arg]
    rp = Replayer(cfg, file_digest(path))
    out = []
    for line, row, raw, problem in read_rows(path):
        out.append((line, problem) if row is None else rp.convert(line, row, raw, NOW))
    return out


def test_any_numeric_csv_becomes_readings(tmp_path: Path) -> None:
    path = tmp_path / "iris.csv"
    path.write_text("sepal length,sepal width,petal length,class\n5.1,3.5,1.4,1\n4.9,3.0,1.4,0\n")
    rows = convert_all(path, ReplayConfig(label_column="class"))
    assert [r.error for r in rows] == [None, None]
    first = rows[0]
    assert first.reading.measurements == {
        "sepal_length": 5.1,
        "sepal_width": 3.5,
        "petal_length": 1.4,
    }
    assert first.reading.site_id == "row-2"
    assert first.outcome.label is True and first.outcome.event_ref == first.reading.event_id
    assert count_rows(path) == 2


def test_bad_rows_are_errors_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "station.csv"
    path.write_text(
        "timestamp,site,temp,rh\n"
        "2026-01-01T00:00:00Z,a,12.5,80\n"  # line 2: fine
        "2026-01-01T00:10:00Z,a,n/a,80\n"  # line 3: not a number
        "2026-01-01T00:20:00Z,a,999,80\n"  # line 4: out of range once mapped
        "not-a-time,a,12,80\n"  # line 5: bad time
        "2026-01-01T00:40:00Z,a,,\n"  # line 6: no values at all
        "2026-01-01T00:50:00Z,a,11,79,extra\n"  # line 7: too many fields
        "2026-01-01T01:00:00Z,b,11,79\n"  # line 8: fine
    )
    cfg = ReplayConfig(time_column="timestamp", key_column="site", rename={"temp": "temperature_c"})
    rows = convert_all(path, cfg)
    errors = {
        (r.line if hasattr(r, "line") else r[0]): (r.error if hasattr(r, "error") else r[1])
        for r in rows
    }
    bad = {line: why for line, why in errors.items() if why}
    assert sorted(bad) == [3, 4, 5, 6, 7]
    assert "not a number" in bad[3] and "outside" in bad[4] and "no measurement" in bad[6]
    assert "more fields" in bad[7]


def test_jsonl_with_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "surveys.jsonl"
    path.write_text(
        '{"plot": "p1", "ndvi": 0.5, "occupied": "yes"}\n{oops\n[1,2]\n\n'
        '{"plot": "p2", "ndvi": 0.2, "occupied": "no"}\n'
    )
    rows = convert_all(
        path, ReplayConfig(key_column="plot", label_column="occupied", kind="vegetation")
    )
    assert [(r[0], "JSON" in r[1] or "object" in r[1]) for r in rows if isinstance(r, tuple)] == [
        (2, True),
        (3, True),
    ]
    good = [r for r in rows if not isinstance(r, tuple)]
    assert [g.reading.site_id for g in good] == ["p1", "p2"]
    assert [g.outcome.label for g in good] == [True, False]


def test_ids_are_deterministic_per_recording(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x\n1\n")
    b.write_text("x\n1\n")
    assert (
        convert_all(a, ReplayConfig())[0].reading.event_id
        == convert_all(b, ReplayConfig())[0].reading.event_id
    )


@pytest.mark.parametrize(
    "raw, expected", [("1", True), ("no", False), ("Present", True), ("0.75", 0.75)]
)
def test_labels(raw: str, expected: object) -> None:
    assert parse_label(raw) == expected


def test_times() -> None:
    assert parse_time("2026-01-01T00:00:00") == NOW
    assert parse_time("1767225600") == NOW
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_names() -> None:
    assert measurement_name("Soil Moisture %") == "soil_moisture"
