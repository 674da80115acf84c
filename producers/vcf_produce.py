"""`lazarus produce vcf`'s shell: read the label file, scan the VCF, publish the events.

The order holds the promise "nothing half-read is published": the label file and the VCF are
read whole before the broker is contacted; a file cut short (a fatal scan problem) stops the
run there (`VcfUnreadable`), with nothing sent. Then the samples go out, the dead letters,
and last the outcomes (a trainer holds an outcome that comes before its features anyway).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import SHUTDOWN_FLUSH_S, Publisher
from lazarus.producers.app import Report
from lazarus.producers.feed import FeedStats
from lazarus.producers.vcf_events import VcfEvents, VcfRun, build_events
from lazarus.producers.vcf_labels import LabelTable, parse_labels
from lazarus.producers.vcf_types import ScanResult
from lazarus.recording import read_rows
from lazarus.schemas.topics import DEAD_LETTERS, GENOMIC_SAMPLES, VIABILITY_OUTCOMES, Topic
from lazarus.settings import Settings
from lazarus.stopsignal import StopRequested

Scan = Callable[..., ScanResult]
"""`producers.vcf_scan.scan_vcf`'s shape: (path, *, samples, region, progress) -> ScanResult."""


@dataclass(frozen=True)
class VcfOptions:
    """The command's options, checked: `samples` None means all, `label_file` None none."""

    samples: tuple[str, ...] | None
    region: str | None
    label_file: Path | None
    progress: bool


def read_labels(path: Path) -> LabelTable:
    """The label file's table; ValueError (naming the file) when it has no `label` column,
    UnreadableHeader when its header is not text in UTF-8."""
    try:
        return parse_labels(read_rows(path))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def scan_file(path: Path, opts: VcfOptions, scan: Scan | None = None) -> ScanResult:
    """The VCF scanned (under a progress bar on a terminal); `scan` defaults to
    `producers.vcf_scan.scan_vcf`."""
    if scan is None:
        from lazarus.producers.vcf_scan import scan_vcf

        scan = scan_vcf
    with _progress(path, opts.progress) as progress:
        return scan(path, samples=opts.samples, region=opts.region, progress=progress)


def fatal_line(scan: ScanResult, path: Path) -> str | None:
    """The one line that says why the file could not be read to its end, or None."""
    for problem in scan.problems:
        if problem.fatal:
            where = f"{path}:{problem.line}" if problem.line is not None else str(path)
            return f"{where}: {problem.reason} (nothing was published)"
    return None


def scan_line(scan: ScanResult, events: VcfEvents, path: Path) -> str:
    """What the scan found, for stderr: samples, sites, what was left out and why."""
    skipped = ", ".join(f"{why} {n}" for why, n in sorted(scan.skipped.items())) or "none"
    samples = len(events.samples) + events.samples_rejected
    return (
        f"{path.name} (sha256 {scan.sha256[:12]}…{', ' + scan.region if scan.region else ''}): "
        f"{samples} samples ({len(events.samples)} to publish, {events.samples_rejected} "
        f"dead-lettered); {scan.sites_read} sites read, {scan.sites_used} used (skipped: "
        f"{skipped}); {events.site_problems} problems with sites or the file dead-lettered"
    )


def publish_events(
    settings: Settings, events: VcfEvents, timeout: float, stopped: Callable[[], bool]
) -> Report:
    """Samples, then dead letters, then outcomes, all flushed; the counts as a Report.

    Raises what `Publisher.start` raises when the broker has not answered within `timeout`."""
    started = time.monotonic()
    prefix = settings.topic_prefix
    publisher = Publisher(producer_config(settings)).start(timeout, stopped)
    sink = DeadLetterSink(publisher, DEAD_LETTERS.full(prefix), "producer")
    stats = FeedStats()
    try:
        publisher.publish_many(
            [(GENOMIC_SAMPLES.full(prefix), e.key, Topic.encode(e)) for e in events.samples]
        )
        stats.events = len(events.samples)
        for rejection in events.rejections:
            sink.send(rejection)
        stats.dead_lettered = sink.count
        publisher.publish_many(
            [(VIABILITY_OUTCOMES.full(prefix), o.key, Topic.encode(o)) for o in events.outcomes]
        )
        stats.outcomes = len(events.outcomes)
    finally:
        counts = publisher.close(SHUTDOWN_FLUSH_S)
    return Report.of(stats, counts, started)


def labels_for(run: VcfRun, opts: VcfOptions) -> LabelTable | None:
    """The label file's table (None without one), read before the VCF. ValueError for a label
    file without a `label` column, or when no sample could have a species (no `--species`, no
    species column); UnreadableHeader for a header that is not UTF-8."""
    labels = read_labels(opts.label_file) if opts.label_file is not None else None
    if run.species is None and (labels is None or not labels.has_species):
        raise ValueError("--species is required (or a 'species' column in --label-file)")
    return labels


def prepare(
    path: Path,
    run: VcfRun,
    opts: VcfOptions,
    labels: LabelTable | None,
    say: Callable[[str], None],
    scan: Scan | None = None,
) -> VcfEvents | None:
    """Scan the VCF and build its events (with `labels_for`'s table); `say` gets the lines for
    stderr (the scan's summary, renamed samples, the label file's counts, the first dead
    letters). None when the file could not be read to its end: `say` got the one line why,
    and nothing is to be published. Raises what `scan_vcf` raises (ConfigError for a region
    or a sample the file does not have)."""
    result = scan_file(path, opts, scan)
    fatal = fatal_line(result, path)
    if fatal is not None:
        say(fatal)
        return None
    events = build_events(result, run, labels)
    say(scan_line(result, events, path))
    for name, ident in events.renamed[:5]:
        say(f"sample {name!r} is not an identifier: published as individual_id {ident!r}")
    if len(events.renamed) > 5:
        say(f"... and {len(events.renamed) - 5} more samples renamed")
    if labels is not None:
        say(
            f"{opts.label_file}: {labels.rows} rows: {len(events.outcomes)} outcomes, "
            f"{events.labels_rejected} dead-lettered, {labels.unknown} not known yet"
            + (f", {events.labels_unselected} not among --samples" if opts.samples else "")
        )
    for rejection in events.rejections[:10]:
        where = rejection.file if rejection.line is None else f"{rejection.file}:{rejection.line}"
        say(f"{where}: {rejection.reason}; sent to the dead-letter topic")
    if len(events.rejections) > 10:
        say(f"... and {len(events.rejections) - 10} more dead letters")
    return events


def run_vcf(settings: Settings, events: VcfEvents, timeout: float) -> Report:
    """Publish `events` (Ctrl-C stops waiting for the broker; what was queued is flushed)."""
    stop = StopRequested.install()
    return publish_events(settings, events, timeout, stop.is_set)


@contextmanager
def _progress(path: Path, shown: bool) -> Iterator[Callable[[int, int, int], None] | None]:
    """`scan_vcf`'s progress callback (sites read, bytes read, total bytes) on a bar."""
    if not shown:
        yield None
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[sites]} sites"),
        TimeRemainingColumn(),
        transient=True,
    )
    with bar:
        task = bar.add_task(f"scan {path.name}", total=path.stat().st_size, sites=0)

        def update(sites: int, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, sites=sites)

        yield update
