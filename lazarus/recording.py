"""A recording's rows (CSV or JSONL, in any text encoding), each with its line number and bytes.

A row that cannot be read is a `Record` with a `problem`, never a crash: bytes not
valid in the file's encoding, a line that is not JSON, a CSV row with the wrong
number of fields. `producers.replay` turns the rows into events.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from lazarus.errors import ConfigError

DEFAULT_ENCODING = "utf-8"
_UNDECODED = re.compile("[\udc80-\udcff]")
"""What `surrogateescape` puts in place of a byte it could not decode."""


class UnreadableHeader(ConfigError):
    """The CSV header cannot be read (bytes the encoding cannot decode): every row would be
    misread, so nothing is sent."""


@dataclass(frozen=True)
class Record:
    """One data row as read from the file: its cells by column, or why there are none."""

    line: int
    """The file line the row starts on (1-based)."""
    raw: bytes
    """The row's bytes as in the file, without its final line break."""
    row: dict[str, Any] | None = None
    problem: str | None = None


def parse_time(value: Any, column: str | None = None) -> datetime:
    """ISO 8601 or epoch seconds; a time without a zone is taken as UTC. ValueError naming
    `column` (when given) for anything else.

    >>> parse_time("2026-01-01T00:00:00"), parse_time(1767225600).year
    (datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), 2026)
    >>> parse_time("01/03/2025", "survey_date")
    Traceback (most recent call last):
    ...
    ValueError: column 'survey_date': '01/03/2025' is not a time (ISO 8601, e.g. 2025-03-01T09:30:00Z, or epoch seconds)
    """
    try:
        if isinstance(value, int | float) or re.fullmatch(r"-?\d+(\.\d+)?", str(value).strip()):
            return datetime.fromtimestamp(float(value), tz=UTC)
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        where = f"column {column!r}: " if column else ""
        raise ValueError(
            f"{where}{str(value)[:80]!r} is not a time (ISO 8601, e.g. 2025-03-01T09:30:00Z, "
            "or epoch seconds)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
