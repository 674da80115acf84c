"""`lazarus produce sensors|genomes|replay` (also `python -m lazarus.producers ...`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.producers.app import ReplayOptions, Report, StrictAbort, run_replay, run_simulation
from lazarus.producers.clock import step_seconds
from lazarus.producers.feed import FeedLimits
from lazarus.producers.genome_sim import GenomicsLab, LabConfig
from lazarus.producers.replay import (
    DEFAULT_ENCODING,
    ReplayConfig,
    Replayer,
    check_encoding,
    check_header,
    file_digest,
)
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas.sensors import SensorKind
from lazarus.schemas.topics import (
    GENOMIC_SAMPLES,
    HABITAT_OUTCOMES,
    SENSOR_READINGS,
    VIABILITY_OUTCOMES,
)

F = Callable[..., Any]


def pacing(f: F) -> F:
    """The options every producer shares."""
    for decorator in reversed(
        [
            click.option(
                "--rate",
                type=click.FloatRange(min=0.001),
                default=None,
                help="Events per second (default: as fast as the broker takes them).",
            ),
            click.option(
                "--label-delay",
                type=click.FloatRange(min=0.0),
                default=5.0,
                show_default=True,
                help="Seconds between an event and its outcome.",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0.5),
                default=30.0,
                show_default=True,
                help="Give up (exit 1) if the broker has not answered by then.",
            ),
        ]
    ):
        f = decorator(f)
    return f


def simulation(f: F) -> F:
    for decorator in reversed(
        [
            click.option(
                "--count",
                type=click.IntRange(min=0),
                default=None,
                help="Stop after this many events (default: run until --duration or Ctrl-C).",
            ),
            click.option(
                "--duration",
                type=click.FloatRange(min=0.0),
                default=None,
                help="Stop after this many seconds.",
            ),
            click.option(
                "--seed",
                type=int,
                default=7,
                show_default=True,
                help="Same seed, same events (ids, values and outcomes).",
            ),
            click.option(
                "--start",
                type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
                default=None,
                help="Simulated time of the first event, UTC (default: now).",
            ),
            click.option(
                "--drift-at",
                type=int,
                default=None,
                help="Event number where the concept drift starts (negative: never).",
            ),
            click.option(
                "--label-fraction",
                type=click.FloatRange(0.0, 1.0),
                default=1.0,
                show_default=True,
                help="Share of events that get an outcome.",
            ),
        ]
    ):
        f = decorator(f)
    return pacing(f)


def _start(start: datetime | None) -> datetime:
    return (start.replace(tzinfo=UTC) if start else datetime.now(UTC)).replace(microsecond=0)


def _finish(cli: CliContext, report: Report) -> None:
    cli.err.print(report.line(), highlight=False)
    if report.failed:
        raise click.exceptions.Exit(1)


@click.group(
    epilog="""\b
Examples:
  lazarus produce sensors --rate 500                 a live sensor network
  lazarus produce genomes --count 1000 --seed 3      a reproducible batch of assays
  lazarus produce replay logger.csv --key-column site --label-column occupied
"""
)
def produce() -> None:
    """Publish events: simulated feeds with delayed outcomes, or replays of real recordings.

    Ctrl-C flushes what is queued, prints the counts (sent, acked, failed,
    dead-lettered) and exits 0.

    Simulated events carry their simulated event time as their Kafka timestamp.
    With --rate, simulated time keeps step with the wall clock, so an outcome
    --label-delay seconds later is that much later in event time too. Without,
    it advances by --interval per step, and each outcome goes out once the feed
    reaches its event time (or after --label-delay, if that comes first).
    """


@produce.command(
    epilog="""\b
The network has SITES × SENSORS sensors of five kinds (climate, soil,
vegetation, acoustic, eDNA) with seasonal and daily cycles, noise, missing
readings and the odd faulty value. Hidden habitat-occupancy outcomes follow
each reading after --label-delay; at --drift-at the climate shifts.
"""
)
@simulation
@click.option("--sites", type=click.IntRange(1, 100_000), default=12, show_default=True)
@click.option(
    "--sensors",
    "sensors_per_site",
    type=click.IntRange(1, 1000),
    default=5,
    show_default=True,
    help="Sensors per site.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.001),
    default=None,
    help="Simulated seconds between two readings of one sensor (default: with --rate, what "
    "keeps simulated time in step with the wall clock; without, 600).",
)
@pass_cli
def sensors(
    cli: CliContext,
    rate: float | None,
    label_delay: float,
    timeout: float,
    count: int | None,
    duration: float | None,
    seed: int,
    start: datetime | None,
    drift_at: int | None,
    label_fraction: float,
    sites: int,
    sensors_per_site: int,
    interval: float | None,
) -> None:
    """Simulate a habitat sensor network."""
    step = step_seconds(rate, sites * sensors_per_site, SimConfig.interval_s)
    cfg = SimConfig(
        seed=seed,
        sites=sites,
        sensors_per_site=sensors_per_site,
        interval_s=step if interval is None else interval,
        drift_at=SimConfig.drift_at if drift_at is None else drift_at,
        label_fraction=label_fraction,
        label_delay_s=label_delay,
    )
    report = run_simulation(
        cli.settings,
        "producer:sensors",
        SensorNetwork(cfg, _start(start)).stamped(),
        SENSOR_READINGS,
        HABITAT_OUTCOMES,
        FeedLimits(rate, count, duration, label_delay),
        timeout,
    )
    _finish(cli, report)


@produce.command(
    epilog="""\b
Cohorts of revived individuals (dire wolf, thylacine and woolly mammoth
proxies) with heterozygosity, F_ROH, edit fractions, off-target counts,
mosaicism and depth. Hidden viability outcomes follow after --label-delay;
at --drift-at a new editing protocol changes what matters.
"""
)
@simulation
@click.option("--cohort-size", type=click.IntRange(1, 100_000), default=40, show_default=True)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.001),
    default=None,
    help="Simulated seconds between two assays (default: with --rate, what keeps simulated "
    "time in step with the wall clock; without, 3600).",
)
@pass_cli
def genomes(
    cli: CliContext,
    rate: float | None,
    label_delay: float,
    timeout: float,
    count: int | None,
    duration: float | None,
    seed: int,
    start: datetime | None,
    drift_at: int | None,
    label_fraction: float,
    cohort_size: int,
    interval: float | None,
) -> None:
    """Simulate a genomics lab assaying revived individuals."""
    step = step_seconds(rate, 1, LabConfig.interval_s)
    cfg = LabConfig(
        seed=seed,
        cohort_size=cohort_size,
        interval_s=step if interval is None else interval,
        drift_at=LabConfig.drift_at if drift_at is None else drift_at,
        label_fraction=label_fraction,
        label_delay_s=label_delay,
    )
    report = run_simulation(
        cli.settings,
        "producer:genomes",
        GenomicsLab(cfg, _start(start)).stamped(),
        GENOMIC_SAMPLES,
        VIABILITY_OUTCOMES,
        FeedLimits(rate, count, duration, label_delay),
        timeout,
    )
    _finish(cli, report)


def _encoding(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_encoding(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _mapping(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} should look like COLUMN=measurement_name")
        column, name = item.split("=", 1)
        out[column] = name
    return out


@produce.command(
    epilog="""\b
Every column that is not --key-column, --label-column, --time-column or
--exclude becomes a measurement (snake_cased; --map renames, e.g.
--map "Air Temp=temperature_c" to get units and range checks). Empty cells
are missing readings. A row that cannot be used (bytes not valid in --encoding,
a line that is not JSON, a CSV row with the wrong number of fields, a value that
fails validation) is reported with its line number and sent to the dead-letter
topic with its bytes; --strict stops at it instead (exit 1). Readings carry the
time they are sent as their Kafka timestamp.

\b
Examples:
  lazarus produce replay station.csv --time-column timestamp --key-column site
  lazarus produce replay surveys.jsonl --label-column occupied --label-delay 2 --rate 100
  lazarus produce replay export.csv --encoding cp1252    a file from a Windows spreadsheet
"""
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pacing
@click.option(
    "--key-column", default=None, help="Column holding the subject (site); default: the row number."
)
@click.option("--label-column", default=None, help="Column turned into outcome events.")
@click.option(
    "--time-column",
    default=None,
    help="Column with the event time (ISO 8601 or epoch seconds); default: now.",
)
@click.option(
    "--columns", default=None, help="Comma-separated measurement columns (default: all others)."
)
@click.option("--exclude", default=None, help="Comma-separated columns to leave out.")
@click.option(
    "--map",
    "rename",
    multiple=True,
    callback=_mapping,
    help="COLUMN=measurement_name (repeatable).",
)
@click.option(
    "--kind", type=click.Choice([k.value for k in SensorKind]), default="climate", show_default=True
)
@click.option("--sensor-id", default="replay", show_default=True)
@click.option("--lat", type=click.FloatRange(-90, 90), default=0.0, show_default=True)
@click.option("--lon", type=click.FloatRange(-180, 180), default=0.0, show_default=True)
@click.option("--loop", is_flag=True, help="Start again at the end (until Ctrl-C).")
@click.option(
    "--encoding",
    default=DEFAULT_ENCODING,
    show_default=True,
    callback=_encoding,
    help="The file's text encoding (cp1252, latin-1, utf-16, ...). A row with bytes it cannot "
    "decode is dead-lettered.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Stop at the first bad row (exit 1) instead of dead-lettering it.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@pass_cli
def replay(
    cli: CliContext,
    file: Path,
    rate: float | None,
    label_delay: float,
    timeout: float,
    key_column: str | None,
    label_column: str | None,
    time_column: str | None,
    columns: str | None,
    exclude: str | None,
    rename: dict[str, str],
    kind: str,
    sensor_id: str,
    lat: float,
    lon: float,
    loop: bool,
    encoding: str,
    strict: bool,
    no_progress: bool,
) -> None:
    """Replay a real recording (CSV or JSONL) as sensor readings, with delayed outcomes."""
    split = functools.partial(_split)
    cfg = ReplayConfig(
        key_column=key_column,
        label_column=label_column,
        time_column=time_column,
        columns=split(columns),
        exclude=split(exclude),
        rename=rename,
        kind=kind,
        sensor_id=sensor_id,
        lat=lat,
        lon=lon,
        label_delay_s=label_delay,
    )
    opts = ReplayOptions(
        rate=rate,
        loop=loop,
        strict=strict,
        label_delay=label_delay,
        progress=not no_progress and cli.err.is_terminal,
        encoding=encoding,
    )
    check_header(file, encoding)  # an unreadable header: one line, exit 2, nothing sent
    try:
        report = run_replay(
            cli.settings,
            file,
            Replayer(cfg, file_digest(file)),
            opts,
            SENSOR_READINGS,
            HABITAT_OUTCOMES,
            timeout,
        )
    except StrictAbort as exc:
        raise click.ClickException(str(exc)) from None
    _finish(cli, report)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()
