"""`lazarus produce vcf FILE`: parses the options and calls `producers.vcf_produce`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.errors import ConfigError
from lazarus.producers.options import finish
from lazarus.producers.vcf_events import VcfRun, cohort_of
from lazarus.producers.vcf_file import parse_region
from lazarus.producers.vcf_produce import VcfOptions, labels_for, prepare, run_vcf
from lazarus.recording import UnreadableHeader, parse_time

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")


def _identifier(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not _IDENTIFIER.fullmatch(value):
        raise click.BadParameter(f"{value!r}: letters, digits and _.:- only (e.g. dire_wolf)")
    return value


def _region(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(parse_region(value))
    except ConfigError as exc:
        raise click.BadParameter(str(exc).removeprefix(f"--region {value!r}: ")) from None


def _time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        at = parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if at > datetime.now(UTC):
        raise click.BadParameter(f"{value!r} is in the future")
    return at


def _samples(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    if not names:
        raise click.BadParameter("name at least one sample")
    return names


@click.command(
    epilog="""\b
Each individual of the VCF (or of --samples) becomes one GenomicSample event
on genomics.samples.v1, keyed by its individual_id: its summaries (called
sites, observed and expected homozygosity, F, F_ROH, missingness; methods in
docs/events.md) and the file by reference: its URI, sha256 and the --region
read. Genotypes never leave this machine. The event id comes from the file's
sha256, the region and the sample, so running the same file again repeats
the ids and consumers drop the repeats.

\b
--label-file: a CSV with a header (or JSONL). Column `sample` (else the first
column) names the individual as in the VCF header; `label` says whether it
survived: true/false, 1/0, yes/no, alive/dead, survived/died or
viable/nonviable (any case); empty, na or unknown: not known yet, no outcome.
An optional `species` column overrides --species for its row. Each label
becomes a viability Outcome on genomics.viability_outcomes.v1 naming its
sample's event (event_ref), sent after the samples.

\b
Dead letters (lazarus.dead_letters.v1, with file and line): a sample with no
calls, a site that could not be read, a sample whose event fails its schema,
a label row that cannot be read, names a sample not in the file, or labels
one twice. They carry the problem, never the VCF line. A sample name that is
not an identifier (letters, digits, _.:-) is published under a sanitised
individual_id, printed on stderr. A file cut short (a truncated gzip) is one
line on stderr and exit 1, with nothing published.

\b
Events carry --time as their event time (default: now, one time for the
whole file); their Kafka timestamp is when they are sent.

\b
Examples:
  lazarus produce vcf wolves.vcf.gz --species dire_wolf --label-file survival.csv
  lazarus produce vcf 1kg.vcf.gz --species homo_sapiens --region 2:10000-40000
  lazarus produce vcf calls.bcf --samples W01,W02 --species dire_wolf --cohort pack_a
"""
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--samples",
    callback=_samples,
    help="Comma-separated samples to publish (default: every sample in the file).",
)
@click.option(
    "--region",
    callback=_region,
    help="Only this region, CHROM:START-END (1-based, inclusive); uses an index (.tbi/.csi) "
    "when there is one (default: the whole file).",
)
@click.option(
    "--label-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV (or JSONL) of sample,label[,species]: viability outcomes for those individuals.",
)
@click.option(
    "--species",
    callback=_identifier,
    help="Species slug of the individuals (dire_wolf, homo_sapiens); required unless the "
    "label file has a species column.",
)
@click.option(
    "--cohort",
    callback=_identifier,
    help="Cohort id of the individuals (default: the file's name without .vcf.gz).",
)
@click.option(
    "--time",
    "at",
    callback=_time,
    help="Event time of the samples and outcomes, ISO 8601 or epoch seconds, not in the "
    "future (default: now).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.5),
    default=30.0,
    show_default=True,
    help="Give up (exit 1) if the broker has not answered by then.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@pass_cli
def vcf(
    cli: CliContext,
    file: Path,
    samples: tuple[str, ...] | None,
    region: str | None,
    label_file: Path | None,
    species: str | None,
    cohort: str | None,
    at: datetime,
    timeout: float,
    no_progress: bool,
) -> None:
    """Publish a VCF's individuals as genomic samples, with outcomes from a label file."""
    run = VcfRun(
        file=str(file),
        cohort=cohort or cohort_of(file.name),
        species=species,
        at=at,
        label_file=None if label_file is None else str(label_file),
        selected=samples,
    )
    opts = VcfOptions(samples, region, label_file, progress=not no_progress and cli.err.is_terminal)

    def say(line: str) -> None:
        cli.err.print(line, highlight=False, markup=False)

    try:
        labels = labels_for(run, opts)
    except (ValueError, UnreadableHeader) as exc:  # the label file or --species: nothing read
        raise click.UsageError(str(exc)) from None
    events = prepare(file, run, opts, labels, say)
    if events is None:
        raise click.exceptions.Exit(1)
    finish(cli, run_vcf(cli.settings, events, timeout))
