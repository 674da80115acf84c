"""`lazarus lag-exporter`: consumer lag for Prometheus, in messages and in seconds."""

from __future__ import annotations

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.lag_exporter import DEFAULT_INTERVAL_S, run


@click.command(
    "lag-exporter",
    epilog="""\b
Examples:
  lazarus lag-exporter                            /metrics on a free port (in its log)
  LAZARUS_METRICS_PORT=9308 lazarus lag-exporter  on a fixed port, for Prometheus
  lazarus lag-exporter --interval 10              read the lag every 10 s

\b
Reads the lag of every trainer and scorer group in the background and serves,
at /metrics, per group, topic and partition:
  lazarus_consumer_lag_messages    log end minus the committed offset
  lazarus_consumer_lag_exact       0: the log end was not read in time, the
                                   lag is a lower bound
  lazarus_consumer_lag_seconds     age of the oldest unconsumed message (the
                                   last one read while it cannot be read)
and per group lazarus_lag_sample_age_seconds (how old those figures are) and
lazarus_lag_sample_failures_total. A broker that fails is retried: the
figures stay and their age grows. `lazarus up` runs one; the alert rules in
deploy/prometheus/ read these metrics (docs/operations.md, Alerts).

\b
Exit codes: 0 stopped by Ctrl-C or SIGTERM; 2 LAZARUS_METRICS_PORT is -1.
""",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=DEFAULT_INTERVAL_S,
    show_default=True,
    help="Seconds between two reads of every group's lag.",
)
@pass_cli
def lag_exporter(cli: CliContext, interval: float) -> int:
    """Serve consumer lag (messages and seconds) at /metrics for Prometheus."""
    return run(cli.settings, interval)
