"""Replay of real recordings (CSV or JSONL) as sensor readings, with outcomes from a label column.

Pure: rows in, validated payloads or errors out. Works on any numeric CSV: every
column that is not the key, label or time becomes a measurement (renamed to
snake_case, or by `rename`), and a row that cannot be used is an error with its
line number, never a crash: bytes not valid in the file's encoding, a line that
is not JSON, a CSV row with the wrong number of fields, a value that fails the
schema.

The file is decoded as a text stream with Python's `surrogateescape` handler:
each byte the encoding cannot decode becomes a placeholder character, and every
other character (quotes, commas, line breaks among them) is decoded as usual. So
the csv module still finds every record, even one whose quoted fields span
lines, and a record holding a placeholder is an error naming its line and byte.
Line numbers count the file's lines (`\n`, `\r\n` or `\r`); a record's is the
line it starts on.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from lazarus.errors import ConfigError
from lazarus.schemas import Outcome, SensorReading

TRUE_WORDS = {"1", "true", "yes", "y", "t", "present", "occupied", "alive"}
FALSE_WORDS = {"0", "false", "no", "n", "f", "absent", "unoccupied", "dead"}
DEFAULT_ENCODING = "utf-8"
_UNDECODED = re.compile("[\udc80-\udcff]")
"""What `surrogateescape` puts in place of a byte it could not decode."""


class UnreadableHeader(ConfigError):
    """The CSV header cannot be read (bytes the encoding cannot decode): every row would be
    misread, so nothing is sent."""


@dataclass(frozen=True)
class ReplayConfig:
    key_column: str | None = None
    label_column: str | None = None
    time_column: str | None = None
    columns: tuple[str, ...] = ()
    """Measurement columns (empty: every other column)."""
    exclude: tuple[str, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    kind: str = "climate"
    sensor_id: str = "replay"
    lat: float = 0.0
    lon: float = 0.0
    label_delay_s: float = 0.0


@dataclass(frozen=True)
class Record:
    """One data row as read from the file: its cells by column, or why there are none."""

    line: int
    """The file line the row starts on (1-based)."""
    raw: bytes
    """The row's bytes as in the file, without its final line break."""
    row: dict[str, Any] | None = None
    problem: str | None = None


@dataclass(frozen=True)
class ReplayRow:
    """One row's outcome: a reading (and maybe an outcome), or an error."""

    line: int
    raw: bytes
    reading: SensorReading | None = None
    outcome: Outcome | None = None
    error: str | None = None
    error_class: str | None = None


def check_encoding(name: str) -> str:
    """The codec's canonical name; ValueError for one Python does not know.

    >>> check_encoding("CP1252"), check_encoding("latin1")
    ('cp1252', 'iso8859-1')
    """
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown encoding {name!r} (try utf-8, cp1252 or latin-1)") from None
    try:
        "\n".encode(info.name)
    except LookupError:  # a bytes-to-bytes or text-to-text codec (base64, rot13)
        raise ValueError(f"{name!r} is not a text encoding") from None
    return info.name


def file_digest(path: Path) -> str:
    """Short content hash: ids stay stable for the same recording, whatever its name."""
    h = hashlib.blake2b(digest_size=6)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def count_rows(path: Path) -> int:
    """Non-blank lines, less a CSV's header: the progress bar's total (a CSV record with
    quoted line breaks counts once per line)."""
    with path.open("rb") as f:
        lines = sum(1 for line in f if line.strip())
    return max(0, lines - 1) if _is_csv(path) else lines


def read_rows(path: Path, encoding: str = DEFAULT_ENCODING) -> Iterator[Record]:
    """Each data row of a CSV (after its header) or JSONL file; blank lines are skipped.

    Raises UnreadableHeader when a CSV's header has bytes `encoding` cannot decode, and
    ValueError for an unknown encoding; a bad row is a Record with a `problem`, never a raise.
    """
    codec = check_encoding(encoding)
    # utf-8-sig drops a byte-order mark (spreadsheets write one); re-encoding uses plain utf-8.
    reading = "utf-8-sig" if codec == "utf-8" else codec
    with path.open(encoding=reading, errors="surrogateescape", newline="") as f:
        lines = _Lines(f, codec)
        yield from _csv_rows(lines, path) if _is_csv(path) else _jsonl_rows(lines)


def check_header(path: Path, encoding: str = DEFAULT_ENCODING) -> None:
    """Raise UnreadableHeader (or ValueError, for an unknown encoding) before anything is sent."""
    if _is_csv(path):
        next(read_rows(path, encoding), None)


class _Lines:
    """The file's lines, for csv.reader, remembering those the current record used."""

    def __init__(self, f: IO[str], codec: str) -> None:
        self._f = f
        self.codec = codec
        self.number = 0
        self._used: list[str] = []
        self._bom = "".encode(codec)  # utf-16 and utf-32 put one before each encoded text

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._f)
        self.number += 1
        self._used.append(line)
        return line

    def take(self) -> tuple[int, list[str]]:
        """The first line number and the lines of the record read since the last take."""
        used, self._used = self._used, []
        return self.number - len(used) + 1, used

    def raw(self, lines: list[str]) -> bytes:
        """The bytes these lines had in the file, without the final line break."""
        text = "".join(lines).rstrip("\r\n")
        try:
            data = text.encode(self.codec, "surrogateescape")
        except UnicodeError:
            return text.encode("utf-8", "backslashreplace")
        return data[len(self._bom) :] if self._bom and data.startswith(self._bom) else data

    def undecoded(self, first: int, lines: list[str]) -> str | None:
        """Why these lines are not text in the file's encoding, or None if they are."""
        for number, line in enumerate(lines, start=first):
            bad = _UNDECODED.search(line)
            if bad is not None:
                byte = ord(bad.group()) - 0xDC00
                return (
                    f"line {number} is not valid {self.codec}: byte 0x{byte:02x} at column "
                    f"{bad.start() + 1} (name the file's encoding with --encoding)"
                )
        return None


def _csv_rows(lines: _Lines, path: Path) -> Iterator[Record]:
    reader = csv.reader(lines)
    header: list[str] | None = None
    while True:
        try:
            cells: list[str] | None = next(reader)
            problem = None
        except StopIteration:
            return
        except csv.Error as exc:
            cells, problem = None, f"not CSV: {exc}"
        first, used = lines.take()
        if problem is None and not "".join(used).strip():
            continue  # a blank line
        problem = lines.undecoded(first, used) or problem
        if header is None:
            if problem is not None:
                raise UnreadableHeader(f"{path}:{first}: the CSV header is unreadable: {problem}")
            header = cells
            continue
        raw = lines.raw(used)
        if problem is None and cells is not None and len(cells) != len(header):
            problem = f"the row has {len(cells)} fields, the header {len(header)}"
        if problem is not None or cells is None:
            yield Record(first, raw, problem=problem or "not CSV")
            continue
        yield Record(first, raw, row=dict(zip(header, cells, strict=True)))


def _jsonl_rows(lines: _Lines) -> Iterator[Record]:
    for line in lines:
        number, used = lines.take()
        if not line.strip():
            continue
        raw = lines.raw(used)
        problem = lines.undecoded(number, used)
        if problem is not None:
            yield Record(number, raw, problem=problem)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Record(number, raw, problem=f"not JSON: {exc.msg} at column {exc.colno}")
            continue
        except RecursionError:
            yield Record(number, raw, problem="not JSON: nested too deeply")
            continue
        if not isinstance(obj, dict):
            yield Record(number, raw, problem="a JSONL line must be an object")
            continue
        yield Record(number, raw, row=obj)


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() not in (".jsonl", ".ndjson", ".json")


def measurement_name(column: str) -> str:
    """snake_case, as the schema wants.

    >>> measurement_name("Air Temp (°C)")
    'air_temp_c'
    >>> measurement_name("2m_wind")
    'm_2m_wind'
    """
    name = re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"m_{name}"
    return name[:64]


def parse_label(value: Any) -> bool | float:
    """Booleans from the usual words and 0/1; any other number as a float (regression)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return float(text)


def parse_time(value: Any) -> datetime:
    """ISO 8601 or epoch seconds; a time without a zone is taken as UTC."""
    if isinstance(value, int | float) or re.fullmatch(r"-?\d+(\.\d+)?", str(value).strip()):
        return datetime.fromtimestamp(float(value), tz=UTC)
    parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Replayer:
    """Turns rows into payloads: `Replayer(cfg, digest).convert(line, row, raw, now, loop)`."""

    def __init__(self, cfg: ReplayConfig, digest: str) -> None:
        self.cfg = cfg
        self.digest = digest
        self._skip = {c for c in (cfg.key_column, cfg.label_column, cfg.time_column) if c}
        self._skip |= set(cfg.exclude)

    def convert(
        self, line: int, row: dict[str, Any], raw: bytes, now: datetime, loop: int = 0
    ) -> ReplayRow:
        """The row's reading and outcome; any failure is the row's error, never a raise."""
        cfg = self.cfg
        try:
            missing = [c for c in self._skip - set(cfg.exclude) if c not in row]
            if missing:
                raise KeyError(f"column {missing[0]!r} is not in this row")
            measurements = self._measurements(row)
            at = parse_time(row[cfg.time_column]) if cfg.time_column else now
            key = str(row[cfg.key_column]).strip() if cfg.key_column else f"row-{line}"
            event_id = f"replay-{self.digest}-{loop}-{line}"
            reading = SensorReading.model_validate(
                {
                    "event_id": event_id,
                    "event_time": at,
                    "site_id": key,
                    "sensor_id": cfg.sensor_id,
                    "kind": cfg.kind,
                    "location": {"lat": cfg.lat, "lon": cfg.lon},
                    "measurements": measurements,
                }
            )
            outcome = None
            if cfg.label_column is not None and str(row[cfg.label_column]).strip() != "":
                outcome = Outcome.model_validate(
                    {
                        "event_id": f"{event_id}-outcome",
                        "event_time": at + timedelta(seconds=cfg.label_delay_s),
                        "kind": "habitat_occupancy",
                        "subject": key,
                        "event_ref": event_id,
                        "label": parse_label(row[cfg.label_column]),
                    }
                )
        except Exception as exc:  # one row's data must never stop a replay: it is dead-lettered
            return ReplayRow(line, raw, error=_reason(exc), error_class=type(exc).__name__)
        return ReplayRow(line, raw, reading=reading, outcome=outcome)

    def _measurements(self, row: dict[str, Any]) -> dict[str, float]:
        names = self.cfg.columns or tuple(c for c in row if c not in self._skip)
        out: dict[str, float] = {}
        for column in names:
            if column not in row:
                raise KeyError(f"column {column!r} is not in this row")
            value = row[column]
            if value is None or (isinstance(value, str) and value.strip() == ""):
                continue  # a missing reading, not an error
            if isinstance(value, bool):
                raise ValueError(f"column {column!r}: {value!r} is not a number")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"column {column!r}: {value!r} is not a number") from None
            out[self.cfg.rename.get(column, measurement_name(column))] = number
        if not out:
            raise ValueError("the row has no measurement values")
        return out


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        return "; ".join(parts)[:4000]
    if isinstance(exc, KeyError):
        return str(exc.args[0])[:4000]
    return str(exc)[:4000] or type(exc).__name__
