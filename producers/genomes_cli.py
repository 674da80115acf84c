"""`lazarus genomes summarize FILE`: a VCF/BCF's per-individual summaries, printed, not
published (`lazarus produce vcf` publishes them)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table

from lazarus.cli.context import make_console, print_json
from lazarus.cli.json_genomes import SummarizeReport
from lazarus.producers.vcf_scan import scan_vcf
from lazarus.producers.vcf_types import ScanResult, VcfProblem
from lazarus.schemas.genomics import HET_METHOD, ROH_METHOD

METHODS = f"{HET_METHOD};{ROH_METHOD}"
CUT_SHORT_EXIT = 1


@click.group()
def genomes() -> None:
    """Read genotype files (VCF, VCF.gz, BCF) into conservation-genetic summaries."""


@genomes.command(
    epilog="""\b
Examples:
  lazarus genomes summarize calls.vcf.gz
  lazarus genomes summarize calls.bcf --samples wolf_01,wolf_02 --region chr2:10000-40000
  lazarus genomes summarize calls.vcf.gz --json > summaries.json

\b
Columns (one row per individual with at least one called site):
  N_SITES  counted sites where both alleles are called. A site counts when it
           has exactly two alleles, every call diploid, and is polymorphic
           (vcftools --het's rules; multi-allelic sites are skipped, as there)
  O(HOM)   of them, homozygous
  E(HOM)   expected homozygous: the sum of 1 - 2pq·n/(n-1), p the ALT frequency
           over every sample's called alleles, n their number
  Ho, He   1 - O(HOM)/N_SITES, 1 - E(HOM)/N_SITES
  F        (O - E)/(N - E), the method-of-moments inbreeding coefficient of
           vcftools --het (negative: more heterozygous than expected)
  F_ROH    length in runs of homozygosity / length covered (McQuillan et al.
           2008); runs as PLINK 1.9 --homozyg finds them with its defaults
           (50-SNP windows, <=1 het and <=5 missing each, runs >= 100 SNPs and
           >= 1000 kb, split at gaps > 1000 kb). 0 on short regions
  missing  share of the sites with GT where the call is missing (vcftools --missing-indv)

\b
Then every problem: the line (of the VCF text) and why a site, a sample or the
file was left out. Exit 0 when the file was read whole, 1 when it was cut
short (then no summaries: those of part of a file are not the file's), 2 for a
bad argument. The methods are in docs/events.md (GenomicSample).
"""
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--samples", help="Comma-separated sample names to summarize (default: all).")
@click.option(
    "--region",
    help="CHROM, CHROM:START or CHROM:START-END (1-based, inclusive). Read through the "
    "file's .tbi/.csi index when there is one, else by streaming the file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def summarize(
    ctx: click.Context, file: Path, samples: str | None, region: str | None, as_json: bool
) -> None:
    """Print the per-individual summaries of a VCF or BCF file: observed and expected
    heterozygosity, F, F_ROH, missingness and called sites, each by a named method."""
    names = [s.strip() for s in samples.split(",") if s.strip()] if samples is not None else None
    with progress_bar(file) as progress:
        result = scan_vcf(file, samples=names, region=region, progress=progress)
    if as_json:
        print_json(report(result), SummarizeReport)
    else:
        print_text(make_console(), result)
    if not result.complete:
        ctx.exit(CUT_SHORT_EXIT)


def report(result: ScanResult) -> dict[str, Any]:
    """The `--json` data (`SummarizeReport`)."""
    return {
        "uri": result.uri,
        "sha256": result.sha256,
        "region": result.region,
        "complete": result.complete,
        "sites_read": result.sites_read,
        "sites_used": result.sites_used,
        "skipped": result.skipped,
        "methods": METHODS,
        "samples": [asdict(s) for s in result.samples],
        "problems": [asdict(p) for p in result.problems],
    }


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_text(console: Console, result: ScanResult) -> None:
    """The table, then the problems, then what was read."""
    if result.samples:
        table = Table("sample", "N_SITES", "O(HOM)", "E(HOM)", "Ho", "He", "F", "F_ROH", "missing")
        for s in result.samples:
            table.add_row(
                escape(s.sample),
                str(s.called_sites),
                str(s.observed_homozygous),
                f"{s.expected_homozygous:.1f}",
                _number(s.observed_heterozygosity, 4),
                _number(s.expected_heterozygosity, 4),
                _number(s.inbreeding_f, 5),
                _number(s.inbreeding_f_roh, 4),
                _number(s.missingness, 4),
            )
        console.print(table)
    for problem in result.problems:
        console.print(escape(problem_line(problem)), highlight=False)
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(result.skipped.items())) or "none"
    console.print(
        f"{len(result.samples)} samples; {result.sites_read} sites read, {result.sites_used} "
        f"counted; skipped: {skipped}",
        highlight=False,
    )
    console.print(f"methods: {METHODS}", highlight=False, soft_wrap=True)


def problem_line(problem: VcfProblem) -> str:
    """`line 7: ...`, `sample NA1: ...` or `file: ...` (`FATAL` first when fatal).

    >>> problem_line(VcfProblem("no GT in FORMAT: site skipped", line=7))
    'line 7: no GT in FORMAT: site skipped'
    """
    where = (
        f"line {problem.line}"
        if problem.line is not None
        else f"sample {problem.sample}"
        if problem.sample is not None
        else "file"
    )
    return f"{'FATAL ' if problem.fatal else ''}{where}: {problem.reason}"


@contextmanager
def progress_bar(file: Path) -> Iterator[Callable[[int, int, int], None] | None]:
    """Progress on stderr, on a terminal only; it appears with the scan's first report
    (after a fraction of a second: short files show none). Refreshed only when the scan
    reports, while htslib's stderr capture is paused."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn(f"[bold]{escape(file.name)}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[sites]} sites"),
        console=Console(stderr=True),
        auto_refresh=False,
        transient=True,
    )
    task = bar.add_task("scan", total=None, sites=0)

    def update(sites: int, done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total, sites=sites, refresh=True)

    try:
        yield update
    finally:
        bar.stop()
