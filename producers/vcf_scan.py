"""Read a VCF or BCF into per-individual summaries and the problems met (`scan_vcf`).

cyvcf2 (htslib) reads the file; the summaries are `producers.vcf_summary` (vcftools --het)
and `producers.vcf_roh` (PLINK 1.9 --homozyg). What this shell adds to htslib:

* a line number and a reason for every record left out: htslib's own `[E::...]` message is
  captured from fd 2 (`HtslibLog`), the line counted from the header's length; a record htslib
  reported an error on is never touched (cyvcf2 can crash on one). Lines are None in a BCF,
  and when `region` is read through an index;
* a file cut short (a truncated gzip, a BGZF file without its end-of-file marker) is one fatal
  problem, at the line where reading stopped, and gives NO summaries: the summaries of part of
  a file are not the file's;
* sites skipped, counted by reason in `ScanResult.skipped`, each listed as a problem up to
  `MAX_LISTED` per reason: `malformed`, `no_gt` (FORMAT without GT), `polyploid` (vcftools
  stops at it; we skip the site), `multiallelic` and `not_diploid` (vcftools' rules, so F
  agrees with it), `bad_allele`; only counted: `no_alt`, `uncalled`, `monomorphic`;
* a sample with no call at any counted site: a problem naming it, no summary;
* `region`: through a tabix/CSI index beside the file when there is one, else by streaming
  the file and keeping the sites whose CHROM and POS fall in it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from cyvcf2 import VCF

from lazarus.errors import ConfigError
from lazarus.producers.vcf_file import (
    FileFacts,
    HtslibLog,
    Region,
    htslib_reason,
    inspect_file,
    is_io_error,
    parse_region,
)
from lazarus.producers.vcf_roh import RohScanner
from lazarus.producers.vcf_summary import HetCounts, het_and_missing, site_skip_reason, summarize
from lazarus.producers.vcf_types import ScanResult, VcfProblem

Progress = Callable[[int, int, int], None]
"""progress(sites_read, bytes_read, total_bytes), called at most every `PROGRESS_EVERY_S`."""
PROGRESS_EVERY_S = 0.2
MAX_LISTED = 20
"""Sites listed as problems per reason; the rest are counted in one more problem."""
MAX_FAILURES_IN_A_ROW = 1000
WHY = {
    "malformed": "htslib could not parse it",
    "no_gt": "no GT in FORMAT",
    "polyploid": "a call of more than two alleles (vcftools --het stops at it)",
    "multiallelic": "more than one ALT allele (vcftools --het skips it)",
    "not_diploid": "a haploid call, a lone '.' included (vcftools --het needs every call diploid)",
    "bad_allele": "a GT allele index the site does not have",
}


def scan_vcf(
    path: str | os.PathLike[str],
    *,
    samples: Sequence[str] | None = None,
    region: str | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan `path` (VCF, VCF.gz, BCF) for the summaries of `samples` (default: all) over
    `region` (`chr2:10000-40000`; default: all). Raises ConfigError for a missing file, a bad
    region or a sample the file does not have; every problem in the file's content is a
    `VcfProblem` in the result instead."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{path}: no such file")
    where = parse_region(region) if region else None
    facts = inspect_file(file)
    result = ScanResult(uri=file.resolve().as_uri(), sha256=facts.sha256, region=region)
    with HtslibLog() as log:
        try:
            vcf = VCF(str(file))
        except Exception as exc:  # htslib refused the header
            reason = (
                f"the header cannot be read: {htslib_reason([*log.new_messages(), str(exc)][0])}"
            )
            if facts.cut_short is not None:
                reason = f"the file is cut short ({facts.cut_short}) inside its header"
            result.problems.append(VcfProblem(reason, fatal=True))
            return result
        try:
            names = _choose_samples(vcf, samples, file)
            if not names:
                result.problems.append(VcfProblem("the file has no samples: nothing to summarize"))
                return result
            reader = _Reader(result, log, facts, len(names), progress, _htslib_fd(file))
            records, reader.region = _records(vcf, file, facts, where, reader)
            reader.run(records)
        finally:
            vcf.close()
    reader.finish(names)
    return result


def _choose_samples(vcf: Any, samples: Sequence[str] | None, file: Path) -> list[str]:
    names: list[str] = list(vcf.samples)
    if samples is None:
        return names
    wanted = list(dict.fromkeys(samples))
    if not wanted:
        raise ConfigError("--samples: name at least one sample")
    unknown = [s for s in wanted if s not in names]
    if unknown:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise ConfigError(f"--samples: {file.name} has no sample {unknown[0]!r} (it has {shown})")
    vcf.set_samples(wanted)
    return list(vcf.samples)


def _records(
    vcf: Any, file: Path, facts: FileFacts, where: Region | None, reader: _Reader
) -> tuple[Iterator[Any], Region | None]:
    """The records to read and the region still to filter on (None: htslib's index did)."""
    if where is None:
        return iter(vcf), None
    indexed = facts.compression == "bgzf" and any(
        Path(f"{file}{ext}").is_file() for ext in (".tbi", ".csi")
    )
    if not indexed:
        return iter(vcf), where
    reader.lines_known = False
    return iter(vcf(str(where))), where  # POS filter too: the index returns overlapping records


class _Reader:
    """The record loop: guards, skips, accumulators, progress."""

    def __init__(
        self,
        result: ScanResult,
        log: HtslibLog,
        facts: FileFacts,
        n_samples: int,
        progress: Progress | None,
        fd: int | None,
    ) -> None:
        self.result, self.log, self.facts = result, log, facts
        self.het = HetCounts(n_samples)
        self.roh = RohScanner(n_samples)
        self.region: Region | None = None
        self.lines_known = facts.header_lines is not None
        self.records = 0
        self.failed_line: int | None = None
        self.progress, self.fd = progress, fd
        self.next_tick = time.monotonic() + PROGRESS_EVERY_S

    def line(self) -> int | None:
        return (self.facts.header_lines or 0) + self.records if self.lines_known else None

    def run(self, records: Iterator[Any]) -> None:
        failures = 0
        while True:
            try:
                record, failed = next(records), ""
            except StopIteration:
                break
            except Exception as exc:  # htslib's read failed; its reason is on fd 2
                record, failed = None, str(exc)
            self.records += 1
            errors = self._messages()
            if any(is_io_error(e) for e in errors):
                self.failed_line = self.line()
                self._cut(htslib_reason(errors[-1]))
                return
            bogus = "" if record is None else _bogus_chrom(record.CHROM)
            if failed or errors or record is None or bogus:
                self.failed_line = self.line()
                failures += 1
                if failures > MAX_FAILURES_IN_A_ROW:
                    self._cut(f"{failures} unreadable records in a row")
                    return
                why = htslib_reason(errors[-1]) if errors else bogus or WHY["malformed"]
                self._skip("malformed", f"malformed record: {why}")
                continue
            failures = 0
            self._site(record)
            if self.progress is not None and time.monotonic() >= self.next_tick:
                self._tick()

    def _messages(self) -> list[str]:
        """htslib's errors since the last record. Its warnings (an undeclared contig or tag)
        change no summary and are not listed."""
        return [m for m in self.log.new_messages() if m.startswith("[E::")]

    def _site(self, record: Any) -> None:
        chrom, pos = record.CHROM, record.POS
        if self.region is not None and not self.region.contains(chrom, pos):
            return
        self.result.sites_read += 1
        if "GT" not in record.FORMAT:
            self._skip("no_gt", f"{chrom}:{pos}: {WHY['no_gt']}")
            return
        genotypes = record.genotype.array()
        self.het.add_genotyped(genotypes)
        reason = site_skip_reason(len(record.ALT), genotypes)
        if reason is not None:
            self._skip(reason, f"{chrom}:{pos}: {WHY.get(reason, reason)}")
            return
        pair = genotypes[:, :2].astype(np.int64)
        het, missing = het_and_missing(pair)
        self.roh.add(chrom, pos, het, missing)
        why = self.het.add(pair)
        if why is not None:
            self.result.skipped[why] = self.result.skipped.get(why, 0) + 1

    def _skip(self, reason: str, text: str) -> None:
        count = self.result.skipped[reason] = self.result.skipped.get(reason, 0) + 1
        if reason in WHY and count <= MAX_LISTED:
            self.result.problems.append(VcfProblem(f"{text}: site skipped", line=self.line()))

    def _cut(self, reason: str) -> None:
        self.result.problems.append(
            VcfProblem(f"reading stopped: {reason}", line=self.failed_line, fatal=True)
        )

    def _cut_short(self, why: str) -> None:
        """One fatal problem for a file cut short, at the line where reading stopped (it
        replaces htslib's read errors and the partial record's parse error)."""
        line = self.failed_line
        if line is None and self.lines_known:
            line = (self.facts.header_lines or 0) + self.records + 1
        kept = [p for p in self.result.problems if not p.fatal and (line is None or p.line != line)]
        kept.append(
            VcfProblem(
                f"the file is cut short ({why}): no summaries of part of a file",
                line=line,
                fatal=True,
            )
        )
        self.result.problems = kept

    def _tick(self) -> None:
        assert self.progress is not None
        done = os.lseek(self.fd, 0, os.SEEK_CUR) if self.fd is not None else 0
        self.log.pause()
        try:
            self.progress(self.result.sites_read, min(done, self.facts.size), self.facts.size)
        finally:
            self.log.resume()
        self.next_tick = time.monotonic() + PROGRESS_EVERY_S

    def finish(self, names: list[str]) -> None:
        """Close the scan: listing overflow, the file cut short, else the summaries."""
        result = self.result
        for reason, count in result.skipped.items():
            if reason in WHY and count > MAX_LISTED:
                text = f"{count - MAX_LISTED} more sites skipped as {reason} (first {MAX_LISTED} listed)"
                result.problems.append(VcfProblem(text))
        if self.progress is not None:
            self.progress(result.sites_read, self.facts.size, self.facts.size)
        if self.facts.cut_short is not None:
            self._cut_short(self.facts.cut_short)
        if not result.complete:
            return  # no summaries of part of a file
        self.roh.finish()
        if self.roh.unsorted is not None:
            chrom, pos = self.roh.unsorted
            result.problems.append(
                VcfProblem(
                    f"{chrom}:{pos}: records not sorted by position (F_ROH scans each "
                    "sorted stretch apart)"
                )
            )
        roh = self.roh
        result.sites_used = self.het.sites
        result.samples, uncalled = summarize(
            names, self.het, roh.f_roh(), roh.runs_count, roh.runs_bp
        )
        for name in uncalled:
            result.problems.append(
                VcfProblem(
                    f"no call at any of the {self.het.sites} sites counted: no summary", sample=name
                )
            )


def _bogus_chrom(chrom: str) -> str:
    """Why the CHROM htslib gives shows a misread record (a line of spaces is one column to
    it), or "" when it looks like a CHROM."""
    if not chrom:
        return "no CHROM"
    if any(c.isspace() for c in chrom):
        return "CHROM holds spaces: the columns must be separated by tabs"
    return ""


def _open_fds() -> list[int]:
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            return sorted(int(fd) for fd in os.listdir(directory))
        except OSError:
            continue
    return []


def _htslib_fd(file: Path) -> int | None:
    """The descriptor htslib reads `file` through (its offset is the progress), or None: the
    newest open on the file (this process holds no other)."""
    target = file.stat()
    found = None
    for fd in _open_fds():
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            found = fd
    return found
