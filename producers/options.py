"""The click options the producer commands share, and how a run's report ends the command."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from lazarus.cli.context import CliContext
from lazarus.producers.app import Report

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
    """The options the simulated feeds share (with `pacing`)."""
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


def start_time(start: datetime | None) -> datetime:
    """`--start` as a UTC time, or now; whole seconds."""
    return (start.replace(tzinfo=UTC) if start else datetime.now(UTC)).replace(microsecond=0)


def finish(cli: CliContext, report: Report) -> None:
    """Print the run's counts on stderr; exit 1 if any message was never acknowledged."""
    cli.err.print(report.line(), highlight=False)
    if report.failed:
        raise click.exceptions.Exit(1)
