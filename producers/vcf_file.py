"""What `producers.vcf_scan` checks of a VCF/BCF file before and around htslib reads it.

* `inspect_file`: one pass over the bytes: sha256, the compression, the header's line count
  (so a record's line number is known), and whether a compressed file is whole: a plain gzip
  must decompress to its end, a BGZF file (bgzip, BCF) must also end with the 28-byte BGZF
  end-of-file marker (a file cut at a block boundary decompresses cleanly without it).
* `HtslibLog`: htslib writes its reasons (`[E::vcf_parse] Could not parse the position 'xx'`)
  to file descriptor 2 and gives the caller no more than a return code; while it is active,
  fd 2 goes to a temporary file that `new_messages()` reads.
* `parse_region`: `CHROM`, `CHROM:START` or `CHROM:START-END` (1-based, inclusive).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from lazarus.errors import ConfigError

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
CHUNK = 1 << 20
Compression = Literal["plain", "gzip", "bgzf"]


@dataclass(frozen=True)
class FileFacts:
    sha256: str
    size: int
    compression: Compression
    is_bcf: bool
    header_lines: int | None
    """Lines before the first record (None for a BCF: it has no lines)."""
    cut_short: str | None
    """Why the file is incomplete (truncated compressed stream, missing EOF marker), or None."""


class _HeaderCounter:
    """Counts the `#` lines at the start of a text stream fed in pieces."""

    def __init__(self) -> None:
        self.lines = 0
        self.done = False
        self._pending = b""

    def feed(self, data: bytes) -> None:
        if self.done:
            return
        data = self._pending + data
        start = 0
        while start < len(data):
            if data[start : start + 1] != b"#":
                self.done = True
                return
            end = data.find(b"\n", start)
            if end < 0:
                break
            self.lines += 1
            start = end + 1
        self._pending = data[start:]


def inspect_file(path: Path) -> FileFacts:
    """Hash, identify and check `path` in one pass (reads it whole; decompresses gzip)."""
    digest = hashlib.sha256()
    header = _HeaderCounter()
    size = 0
    with path.open("rb") as f:
        head = f.read(CHUNK)
        gz = head[:2] == b"\x1f\x8b"
        bgzf = gz and len(head) >= 16 and head[3] & 4 != 0 and head[12:14] == b"BC"
        inflate = zlib.decompressobj(wbits=31) if gz else None
        tail = b""
        first_text = b""
        cut: str | None = None
        chunk = head
        while chunk:
            digest.update(chunk)
            size += len(chunk)
            tail = (tail + chunk)[-len(BGZF_EOF) :]
            text = chunk
            if inflate is not None and cut is None:
                text, inflate, cut = _inflate(inflate, chunk)
            if len(first_text) < 8:
                first_text += text[:8]
            header.feed(text)
            chunk = f.read(CHUNK)
    if inflate is not None and cut is None and not inflate.eof:
        cut = "its gzip stream ends early"
    if cut is None and bgzf and tail != BGZF_EOF:
        cut = "its BGZF end-of-file marker is missing"
    is_bcf = first_text.startswith(b"BCF")
    compression: Compression = "bgzf" if bgzf else "gzip" if gz else "plain"
    return FileFacts(
        sha256=digest.hexdigest(),
        size=size,
        compression=compression,
        is_bcf=is_bcf,
        header_lines=None if is_bcf else header.lines,
        cut_short=cut,
    )


def _inflate(inflate: zlib._Decompress, chunk: bytes) -> tuple[bytes, zlib._Decompress, str | None]:
    """Decompress `chunk`, going on across gzip members (bgzip writes many)."""
    out = []
    data = chunk
    try:
        while data:
            out.append(inflate.decompress(data))
            if not inflate.eof:
                break
            data = inflate.unused_data
            if data:
                inflate = zlib.decompressobj(wbits=31)
    except zlib.error as exc:
        return b"".join(out), inflate, f"its gzip stream is damaged: {exc}"
    return b"".join(out), inflate, None


class HtslibLog:
    """Send fd 2 to a temporary file while active (a context manager); `new_messages()`
    returns htslib's `[E::...]`/`[W::...]` lines written since its last call (other text, such
    as the offending line htslib echoes after a header error, is dropped), and `pause()` /
    `resume()` give fd 2 back for a moment (to draw progress)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self._saved = -1
        self._read_to = 0

    def __enter__(self) -> HtslibLog:
        sys.stderr.flush()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        sys.stderr.flush()
        self.new_messages()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.close()

    def new_messages(self) -> list[str]:
        """htslib's lines written since the last call (cheap when there are none)."""
        size = os.fstat(self._file.fileno()).st_size
        if size == self._read_to:
            return []
        self._file.seek(self._read_to)
        text = self._file.read(size - self._read_to).decode(errors="replace")
        self._read_to = size
        return [line.strip() for line in text.splitlines() if line.startswith(("[E::", "[W::"))]

    def pause(self) -> None:
        os.dup2(self._saved, 2)

    def resume(self) -> None:
        sys.stderr.flush()
        os.dup2(self._file.fileno(), 2)


_HTSLIB_LINE = re.compile(r"^\[([EW])::[^\]]*\]\s*")


def htslib_reason(line: str) -> str:
    """An htslib log line without its `[E::function]` prefix.

    >>> htslib_reason("[E::vcf_parse] Could not parse the position 'xx'")
    "Could not parse the position 'xx'"
    """
    return _HTSLIB_LINE.sub("", line)


def is_io_error(line: str) -> bool:
    """An htslib error about reading the file rather than parsing a record."""
    return any(word in line for word in ("bgzf", "inflate", "hread", "hts_open", "Gzip"))


_REGION = re.compile(r"^(?P<chrom>[^:\s]+)(?::(?P<start>[\d,]+)(?:-(?P<end>[\d,]+))?)?$")


@dataclass(frozen=True)
class Region:
    chrom: str
    start: int = 1
    end: int | None = None

    def contains(self, chrom: str, pos: int) -> bool:
        """A site is in the region when its POS is (1-based, inclusive)."""
        return chrom == self.chrom and pos >= self.start and (self.end is None or pos <= self.end)

    def __str__(self) -> str:
        if self.end is not None:
            return f"{self.chrom}:{self.start}-{self.end}"
        return self.chrom if self.start == 1 else f"{self.chrom}:{self.start}"


def parse_region(text: str) -> Region:
    """`chr2`, `chr2:10000` or `chr2:10,000-40000`; ConfigError naming `--region` else.

    >>> parse_region("2:10,000-40000")
    Region(chrom='2', start=10000, end=40000)
    """
    match = _REGION.match(text.strip())
    if match is None:
        raise ConfigError(f"--region {text!r}: expected CHROM, CHROM:START or CHROM:START-END")
    start = int(match["start"].replace(",", "")) if match["start"] else 1
    end = int(match["end"].replace(",", "")) if match["end"] else None
    if start < 1 or (end is not None and end < start):
        raise ConfigError(f"--region {text!r}: START must be >= 1 and END >= START")
    return Region(match["chrom"], start, end)
