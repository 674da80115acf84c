"""`lazarus lag`: consumer lag per group, topic and partition, in messages and in seconds."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from lazarus.cli.context import CliContext, pass_cli, print_json
from lazarus.cli.json_shapes import LagReport
from lazarus.errors import LazarusError, ServiceUnavailable
from lazarus.groups import known_groups
from lazarus.kafka.admin import wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.lag import LagMemo, PartitionLag, iso, lag_exact, max_age, sample_lag, total_lag
from lazarus.lag_text import age_cell, figure, group_note

UNKNOWN_GROUP_EXIT = 3


class UnknownGroup(LazarusError):
    """No such consumer group."""


def collect(
    cli: CliContext, group: str | None, memo: LagMemo | None = None
) -> tuple[list[dict[str, Any]], ServiceUnavailable | None]:
    """Each group's lag, all read in one sample, and the error that stopped the sample (None:
    it was read). Without `group`: the trainer and scorer groups of the built-in models, and
    every other `{prefix}lazarus.*` group on the broker that has committed.

    A broker that does not answer at the start raises ServiceUnavailable (exit 1); one that
    goes away during the sample returns no groups, with the error. `memo`: what earlier
    samples of this process learned (`--watch`)."""
    s = cli.settings
    conf = client_config(s, quiet=True)
    wait_for_broker(conf, timeout=5.0)
    groups = known_groups(s.topic_prefix)
    try:
        if group is None:
            sample = sample_lag(conf, groups, prefix=s.topic_prefix, memo=memo)
        else:
            sample = sample_lag(conf, {group: groups.get(group, ())}, memo=memo)
    except ServiceUnavailable as exc:
        return [], exc
    if group is not None and group not in groups and not sample.groups[group]:
        raise UnknownGroup(
            f"no consumer group {group!r} with committed offsets; known: {', '.join(groups)}"
        )
    return [_group_row(name, rows, sample.sampled_at) for name, rows in sample.groups.items()], None


def _group_row(name: str, rows: tuple[PartitionLag, ...], at: float) -> dict[str, Any]:
    return {
        "group": name,
        "total_lag": total_lag(rows),
        "total_lag_exact": lag_exact(rows),
        "max_lag_seconds": max_age(rows),
        "committed": any(r.committed is not None for r in rows),
        "sampled_at": iso(at),
        "partitions": [r.as_dict() for r in rows],
    }


def render(groups: list[dict[str, Any]]) -> Table:
    """One row per partition and a total per group; a group that never committed says that its
    lag is the whole log; a log end not read in time shows `≥N` (it and the lag are lower
    bounds); a lagging partition whose age was not read in time, `age unknown`."""
    sampled = groups[0]["sampled_at"] if groups else None
    table = Table(
        "group",
        "topic",
        "partition",
        "committed",
        "log end",
        "lag",
        "lag (s)",
        caption=f"sampled at {sampled}" if sampled else "no groups",
    )
    for g in groups:
        for r in g["partitions"]:
            table.add_row(
                g["group"],
                r["topic"],
                str(r["partition"]),
                "never" if r["committed"] is None else str(r["committed"]),
                figure(r["end"], r["end_exact"]),
                figure(r["lag"], r["end_exact"]),
                age_cell(r["lag"], r["lag_seconds"], r["end_exact"]),
            )
        said = group_note(g["committed"], g["total_lag"], len(g["partitions"]))
        note = "" if said is None else f" ({said})"
        total = figure(g["total_lag"], g["total_lag_exact"])
        age = age_cell(
            g["total_lag"] if g["partitions"] else None,
            g["max_lag_seconds"],
            g["total_lag_exact"],
        )
        table.add_row(
            f"[bold]{g['group']}[/bold]",
            "[bold]total[/bold]",
            "",
            "",
            "",
            f"[bold]{total}[/bold]{note}",
            f"[bold]{age}[/bold]",
            end_section=True,
        )
    return table


@click.command(
    epilog="""\b
Examples:
  lazarus lag                                  every Lazarus group on the broker
  lazarus lag --group lazarus.scorer.habitat   one group (any group with commits)
  lazarus lag --json                           for scripts and alerts
  lazarus lag --watch --interval 2             refresh until Ctrl-C
  lazarus lag --watch --json                   one JSON object a line, per refresh

Groups: the built-in models' trainers and scorers, and every other
{LAZARUS_TOPIC_PREFIX}lazarus.* group with commits (your own models').
Lag is the log-end offset minus the group's committed offset, per partition;
a group that never committed would read the whole log, so that is its lag.
A log end not read in time is the broker's high watermark, which some brokers
report short: it and its lag show as "≥N" (lower bounds; "end_exact": false).
"lag (s)" is the age of the oldest message the group has not consumed (0 when
it is caught up; "age unknown" when it could not be read in time). Trainers
commit their latest snapshot's next offsets to read, so their lag includes
what is learned but not yet saved. Every figure is of one sample, taken at
the time shown ("sampled_at" in JSON).

\b
Exit codes: 0 shown; 1 the broker did not answer, or stopped answering while
it was read (no groups shown); 3 no such group.
"""
)
@click.option("--group", "group", default=None, help="Only this consumer group.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--watch", is_flag=True, help="Refresh until Ctrl-C (with --json: one object a line)."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=2.0,
    show_default=True,
    help="Seconds between refreshes with --watch.",
)
@pass_cli
def lag(cli: CliContext, group: str | None, as_json: bool, watch: bool, interval: float) -> int:
    """Consumer lag per group, topic and partition: committed, log end, lag, lag in seconds."""
    memo = LagMemo()
    try:
        groups, lost = collect(cli, group, memo)
    except UnknownGroup as exc:
        cli.err.print(f"[red]error:[/red] {exc}", highlight=False)
        return UNKNOWN_GROUP_EXIT
    if not watch:
        return _show(cli, groups, lost, as_json)
    try:
        if as_json:
            lost = _watch_json(cli, group, memo, interval, groups, lost)
        else:
            with Live(render(groups), console=cli.console, auto_refresh=False) as live:
                while lost is None:
                    time.sleep(interval)
                    groups, lost = collect(cli, group, memo)
                    live.update(render(groups), refresh=True)
    except KeyboardInterrupt:
        return 0
    return _lost(cli, lost) if lost is not None else 0


def _watch_json(
    cli: CliContext,
    group: str | None,
    memo: LagMemo,
    interval: float,
    groups: list[dict[str, Any]],
    lost: ServiceUnavailable | None,
) -> ServiceUnavailable:
    """`--watch --json`: one `LagReport` a line per refresh (JSON Lines), the first at once,
    until the broker is lost (that report carries the error, returned)."""
    while True:
        line = LagReport.model_validate(_as_json(groups, lost)).model_dump_json(by_alias=True)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        if lost is not None:
            return lost
        time.sleep(interval)
        groups, lost = collect(cli, group, memo)


def _show(
    cli: CliContext, groups: list[dict[str, Any]], lost: ServiceUnavailable | None, as_json: bool
) -> int:
    """Print what was read; a broker lost part-way adds its one line (exit 1)."""
    if as_json:
        print_json(_as_json(groups, lost), LagReport)
    else:
        cli.console.print(render(groups))
    return _lost(cli, lost) if lost is not None else 0


def _as_json(groups: list[dict[str, Any]], lost: ServiceUnavailable | None) -> dict[str, Any]:
    data: dict[str, Any] = {"groups": groups, "at": time.time()}
    if lost is not None:
        data["error"] = str(lost)
    return data


def _lost(cli: CliContext, lost: ServiceUnavailable) -> int:
    cli.err.print(f"[red]error:[/red] {escape(str(lost))}", highlight=False, soft_wrap=True)
    return 1
