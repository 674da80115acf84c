"""Replay of recordings: any numeric CSV or JSONL in any text encoding; every row that cannot
be used is an error with its line number, dead-lettered with its bytes, never a crash."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lazarus.producers.feed import drain
from lazarus.producers.replay import (
    ReplayConfig,
    Replayer,
    ReplayRow,
    measurement_name,
    parse_label,
)
from lazarus.producers.replay_run import ReplayOptions, ReplaySender, StrictAbort
from lazarus.recording import (
    Record,
    UnreadableHeader,
    check_encoding,
    check_header,
    count_rows,
    file_digest,
    parse_time,
    read_rows,
)
from lazarus.schemas import DeadLetter, Outcome, SensorReading

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def convert_all(path: Path, cfg: ReplayConfig, encoding: str = "utf-8") -> list[ReplayRow | Record]:
    """Each row converted, or the Record of a row that could not even be read."""
    rp = Replayer(cfg, file_digest(path))
    out: list[ReplayRow | Record] = []
    for record in read_rows(path, encoding):
        if record.row is None:
            out.append(record)
        else:
            out.append(rp.convert(record.line, record.row, record.raw, NOW))
    return out


def errors(rows: list[ReplayRow | Record]) -> dict[int, str]:
    bad = {}
    for r in rows:
        why = r.problem if isinstance(r, Record) else r.error
        if why is not None:
            bad[r.line] = why
    return bad


class Recorder:
    """Stands in for `Publisher`: keeps what was published, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, bytes, int | None]] = []

    def publish(self, topic: str, key: Any, value: bytes, **kwargs: Any) -> None:
        self.sent.append((topic, key, value, kwargs.get("timestamp")))

    def poll(self, timeout: float = 0.0) -> int:
        return 0

    def on(self, topic: str) -> list[bytes]:
        return [value for t, _, value, _ in self.sent if t == topic]


def replay(
    path: Path, cfg: ReplayConfig, encoding: str = "utf-8", strict: bool = False
) -> tuple[ReplaySender, Recorder]:
    """What `lazarus produce replay` sends for `path`, without a broker."""
    recorder = Recorder()
    opts = ReplayOptions(
        rate=None, loop=False, strict=strict, label_delay=0.0, progress=False, encoding=encoding
    )
    sender = ReplaySender(recorder, path, opts, "readings", "outcomes", "dead")  # type: ignore[arg-type]
    replayer = Replayer(cfg, file_digest(path))
    for record in read_rows(path, encoding):
        sender.row(replayer, record, 0)
    drain(sender.held, recorder, "outcomes", sender.stats, lambda: False)  # type: ignore[arg-type]
    return sender, recorder


def test_any_numeric_csv_becomes_readings(tmp_path: Path) -> None:
    path = tmp_path / "iris.csv"
    path.write_text("sepal length,sepal width,petal length,class\n5.1,3.5,1.4,1\n4.9,3.0,1.4,0\n")
    rows = convert_all(path, ReplayConfig(label_column="class"))
    assert errors(rows) == {}
    first = rows[0]
    assert isinstance(first, ReplayRow) and first.outcome
    assert isinstance(first.reading, SensorReading)
    assert first.reading.measurements == {
        "sepal_length": 5.1,
        "sepal_width": 3.5,
        "petal_length": 1.4,
    }
    assert first.reading.site_id == "replay"
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
        "2026-01-01T00:55:00Z,a,11\n"  # line 8: too few fields
        "1e300,a,11,79\n"  # line 9: a time no calendar has
        "2026-01-01T01:00:00Z,b,11,79\n"  # line 10: fine
    )
    cfg = ReplayConfig(time_column="timestamp", key_column="site", rename={"temp": "temperature_c"})
    bad = errors(convert_all(path, cfg))
    assert sorted(bad) == [3, 4, 5, 6, 7, 8, 9]
    assert "not a number" in bad[3] and "outside" in bad[4] and "no measurement" in bad[6]
    assert bad[7] == "the row has 5 fields, the header 4"
    assert bad[8] == "the row has 3 fields, the header 4"


def test_jsonl_with_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "surveys.jsonl"
    path.write_text(
        '{"plot": "p1", "ndvi": 0.5, "occupied": "yes"}\n{oops\n[1,2]\n\n'
        + "[" * 100_000
        + "\n"
        + '{"plot": "p2", "ndvi": 0.2, "occupied": "no"}\n'
    )
    rows = convert_all(
        path, ReplayConfig(key_column="plot", label_column="occupied", kind="vegetation")
    )
    bad = errors(rows)
    assert sorted(bad) == [2, 3, 5]
    assert bad[2].startswith("not JSON") and "object" in bad[3] and bad[5].startswith("not JSON")
    good = [r for r in rows if isinstance(r, ReplayRow) and r.reading is not None]
    assert [g.reading.site_id for g in good if isinstance(g.reading, SensorReading)] == ["p1", "p2"]
    assert [g.outcome.label for g in good if g.outcome] == [True, False]


CAFE_CP1252 = (
    "site,site_name,temp,occupied\r\n"
    "s1,Café du Lac,12.5,yes\r\n"  # line 2: é is 0xe9 in cp1252, not valid UTF-8
    "s2,North Ridge,11.0,no\r\n"
    "s3,Rivière,13.0,yes\r\n"  # line 4
    "s4,East Marsh,10.5,no\r\n"
).encode("cp1252")
SITES = ReplayConfig(key_column="site", label_column="occupied", exclude=("site_name",))


def test_a_cp1252_csv_read_as_utf8_dead_letters_exactly_its_undecodable_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes(CAFE_CP1252)
    sender, sent = replay(path, SITES)
    assert sender.stats.events == 2 and sender.stats.dead_lettered == 2
    assert sender.stats.events + sender.stats.dead_lettered == 4  # every row, once
    letters = [DeadLetter.model_validate_json(v) for v in sent.on("dead")]
    assert [d.origin_line for d in letters] == [2, 4]
    first = letters[0]
    assert first.stage == "producer" and first.origin_file == str(path)
    assert first.error_class == "ParseError"
    assert "line 2 is not valid utf-8: byte 0xe9" in first.reason and "--encoding" in first.reason
    assert first.payload_encoding == "base64"
    assert base64.b64decode(first.payload) == "s1,Café du Lac,12.5,yes".encode("cp1252")
    sites = [SensorReading.model_validate_json(v).site_id for v in sent.on("readings")]
    assert sites == ["s2", "s4"]
    assert len(sent.on("outcomes")) == 2


def test_a_cp1252_csv_with_its_encoding_sends_every_row(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes(CAFE_CP1252)
    sender, sent = replay(path, SITES, "cp1252")
    assert sender.stats.events == 4 and sender.stats.dead_lettered == 0
    sites = [SensorReading.model_validate_json(v).site_id for v in sent.on("readings")]
    assert sites == ["s1", "s2", "s3", "s4"]
    outcomes = [Outcome.model_validate_json(v) for v in sent.on("outcomes")]
    assert [o.subject for o in outcomes] == sites and [o.label for o in outcomes] == [
        True,
        False,
        True,
        False,
    ]


LATIN1_JSONL = "\n".join(
    [
        '{"site": "zh", "name": "Zürich See", "ndvi": 0.41, "occupied": 1}',  # ü: 0xfc
        '{"site": "os", "name": "Oslo", "ndvi": 0.38, "occupied": 0}',
        '{"site": "ma", "name": "Málaga", "ndvi": 0.52, "occupied": 1}',  # á: 0xe1
        '{"site": "ly", "name": "Lyon", "ndvi": 0.33, "occupied": 0}',
    ]
).encode("latin-1")
PLOTS = ReplayConfig(
    key_column="site", label_column="occupied", exclude=("name",), kind="vegetation"
)


def test_a_latin1_jsonl_read_as_utf8_dead_letters_its_undecodable_lines(tmp_path: Path) -> None:
    path = tmp_path / "plots.jsonl"
    path.write_bytes(LATIN1_JSONL)
    sender, sent = replay(path, PLOTS)
    letters = [DeadLetter.model_validate_json(v) for v in sent.on("dead")]
    assert [(d.origin_line, d.raw_payload()) for d in letters] == [
        (1, LATIN1_JSONL.split(b"\n")[0]),
        (3, LATIN1_JSONL.split(b"\n")[2]),
    ]
    assert "byte 0xfc" in letters[0].reason and "byte 0xe1" in letters[1].reason
    assert sender.stats.events == 2 and sender.stats.events + sender.stats.dead_lettered == 4


def test_a_latin1_jsonl_with_its_encoding_sends_every_line(tmp_path: Path) -> None:
    path = tmp_path / "plots.jsonl"
    path.write_bytes(LATIN1_JSONL)
    sender, sent = replay(path, PLOTS, "latin-1")
    sites = [SensorReading.model_validate_json(v).site_id for v in sent.on("readings")]
    assert sites == ["zh", "os", "ma", "ly"]
    assert sender.stats.dead_lettered == 0 and len(sent.on("outcomes")) == 4


def test_quoted_line_breaks_keep_csv_records_whole_and_lines_counted(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_bytes(
        b"site,note,temp\n"
        b'a,"two\nlines",1.5\n'  # lines 2-3: one record
        b'b,"caf\xe9\nnoir",2.5\n'  # lines 4-5: not UTF-8 on line 4
        b'c,"plain",3.5\n'  # line 6
        b'd,"x\xff\ny",4.5\n'  # lines 7-8: not UTF-8 on line 7
        b"e,,5.5\n"  # line 9
    )
    cfg = ReplayConfig(key_column="site", exclude=("note",))
    sender, sent = replay(path, cfg)
    letters = [DeadLetter.model_validate_json(v) for v in sent.on("dead")]
    assert [d.origin_line for d in letters] == [4, 7]
    assert letters[0].raw_payload() == b'b,"caf\xe9\nnoir",2.5'
    assert "line 7 is not valid utf-8: byte 0xff" in letters[1].reason
    readings = [SensorReading.model_validate_json(v) for v in sent.on("readings")]
    assert [(r.site_id, r.event_id.rsplit("-", 1)[1]) for r in readings] == [
        ("a", "2"),
        ("c", "6"),
        ("e", "9"),
    ]
    assert sender.stats.events + sender.stats.dead_lettered == 5


def test_a_csv_error_is_a_bad_row_and_the_rest_goes_on(tmp_path: Path) -> None:
    import csv

    path = tmp_path / "big.csv"
    limit = csv.field_size_limit()
    long_row = f"b,{'9' * (limit + 10)}"
    path.write_text(f"site,temp\na,1\n{long_row}\nc,3\n")
    sender, sent = replay(path, ReplayConfig(key_column="site"))
    letters = [DeadLetter.model_validate_json(v) for v in sent.on("dead")]
    assert [d.origin_line for d in letters] == [3] and "not CSV" in letters[0].reason
    assert letters[0].payload_truncated and letters[0].payload_size == len(long_row)
    assert sender.stats.events == 2


def test_strict_stops_at_the_first_bad_row_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes(CAFE_CP1252)
    with pytest.raises(StrictAbort, match=r"sites\.csv:2: line 2 is not valid utf-8"):
        replay(path, SITES, strict=True)


def test_an_undecodable_header_stops_before_anything_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "temps.csv"
    path.write_bytes("site,Température\na,1\n".encode("cp1252"))
    with pytest.raises(UnreadableHeader, match=r"temps\.csv:1: .*byte 0xe9.*--encoding"):
        check_header(path)
    check_header(path, "cp1252")
    assert [r.row for r in read_rows(path, "cp1252")] == [{"site": "a", "Température": "1"}]


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfsite,temp\na,1\n")
    assert [r.row for r in read_rows(path)] == [{"site": "a", "temp": "1"}]
    wide = tmp_path / "wide.csv"
    wide.write_bytes("site,temp\r\nCafé,1\r\n".encode("utf-16"))
    assert [(r.line, r.row, r.raw) for r in read_rows(wide, "utf-16")] == [
        (2, {"site": "Café", "temp": "1"}, "Café,1".encode("utf-16-le"))
    ]


def test_encodings_are_checked_by_name() -> None:
    assert check_encoding("CP1252") == "cp1252" and check_encoding("latin-1") == "iso8859-1"
    for bad in ("bogus", "base64", "rot13"):
        with pytest.raises(ValueError, match=bad):
            check_encoding(bad)


def test_conversion_never_raises_whatever_the_values(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    lines = [
        {"t": 1e300, "x": 1},  # a time no calendar has (OverflowError)
        {"t": "nan", "x": 1},
        {"t": [1], "x": 1},
        {"t": 0, "x": {"nested": 1}},
        {"t": 0, "x": 1e400},  # infinity
        {"t": 0, "x": True},
        {"t": 0, "x": 2.5},  # fine
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    sender, sent = replay(path, ReplayConfig(time_column="t"))
    assert sender.stats.events == 1 and sender.stats.dead_lettered == 6
    assert [DeadLetter.model_validate_json(v).origin_line for v in sent.on("dead")] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]


def test_ids_are_deterministic_per_recording(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x\n1\n")
    b.write_text("x\n1\n")
    first_a, first_b = convert_all(a, ReplayConfig())[0], convert_all(b, ReplayConfig())[0]
    assert isinstance(first_a, ReplayRow) and isinstance(first_b, ReplayRow)
    assert first_a.reading and first_b.reading
    assert first_a.reading.event_id == first_b.reading.event_id


def test_outcomes_go_out_when_the_recordings_clock_reaches_them(tmp_path: Path) -> None:
    """A replay of weeks of data in seconds must not run weeks past its outcomes (held for a
    wall-clock label delay), or the trainer expires their features first."""
    path = tmp_path / "weeks.csv"
    days = [f"2026-01-{d:02d}T00:00:00Z,s,{10 + d},1" for d in range(1, 29)]
    path.write_text("time,site,temp,occupied\n" + "\n".join(days) + "\n")
    cfg = ReplayConfig(
        time_column="time", key_column="site", label_column="occupied", label_delay_s=3600.0
    )
    recorder = Recorder()
    opts = ReplayOptions(rate=None, loop=False, strict=False, label_delay=3600.0, progress=False)
    sender = ReplaySender(recorder, path, opts, "readings", "outcomes", "dead")  # type: ignore[arg-type]
    replayer = Replayer(cfg, file_digest(path))
    for record in read_rows(path):
        sender.row(replayer, record, 0)
    order = [topic for topic, _, _, _ in recorder.sent]
    # Each day's outcome (an hour after its reading) goes out after the next day's reading.
    assert order[:5] == ["readings", "readings", "outcomes", "readings", "outcomes"]
    assert len(sender.held) == 1  # the last one waits for the wall clock
    assert all(ts is None for _, _, _, ts in recorder.sent)  # the producer's clock


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


def lazarus(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_")}
    # No broker answers here: each case must fail before the replay connects.
    env["LAZARUS_KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:1"
    return subprocess.run(
        [sys.executable, "-m", "lazarus", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_an_unknown_encoding_is_one_error_line_naming_the_option(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes(CAFE_CP1252)
    result = lazarus("produce", "replay", str(path), "--encoding", "klingon")
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "'--encoding'" in errors[0] and "klingon" in errors[0]
    assert "Traceback" not in result.stderr


def test_an_unreadable_header_is_one_line_and_exit_2_before_connecting(tmp_path: Path) -> None:
    path = tmp_path / "temps.csv"
    path.write_bytes("site,Température\na,1\n".encode("cp1252"))
    result = lazarus("produce", "replay", str(path), "--timeout", "60")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "temps.csv:1" in result.stderr and "--encoding" in result.stderr
