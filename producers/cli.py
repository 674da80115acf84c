"""`lazarus produce sensors|genomes|replay|vcf` (also `python -m lazarus.producers ...`)."""

from __future__ import annotations

from datetime import datetime

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.producers.app import run_simulation
from lazarus.producers.clock import step_seconds
from lazarus.producers.feed import FeedLimits
from lazarus.producers.genome_sim import GenomicsLab, LabConfig
from lazarus.producers.options import finish, simulation, start_time
from lazarus.producers.replay_cli import replay
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.producers.vcf_cli import vcf
from lazarus.schemas.topics import (
    GENOMIC_SAMPLES,
    HABITAT_OUTCOMES,
    SENSOR_READINGS,
    VIABILITY_OUTCOMES,
)


@click.group(
    epilog="""\b
Examples:
  lazarus produce sensors --rate 500                 a live sensor network
  lazarus produce genomes --count 1000 --seed 3      a reproducible batch of assays
  lazarus produce replay logger.csv --key-column site --label-column occupied
  lazarus produce vcf wolves.vcf.gz --species dire_wolf --label-file survival.csv
"""
)
def produce() -> None:
    """Publish events: simulated feeds with delayed outcomes, or real recordings and VCFs.

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
        SensorNetwork(cfg, start_time(start)).stamped(),
        SENSOR_READINGS,
        HABITAT_OUTCOMES,
        FeedLimits(rate, count, duration, label_delay),
        timeout,
    )
    finish(cli, report)


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
        GenomicsLab(cfg, start_time(start)).stamped(),
        GENOMIC_SAMPLES,
        VIABILITY_OUTCOMES,
        FeedLimits(rate, count, duration, label_delay),
        timeout,
    )
    finish(cli, report)


produce.add_command(replay)
produce.add_command(vcf)
