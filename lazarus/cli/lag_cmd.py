"""`lazarus lag`: consumer lag per group, topic and partition, in messages and in seconds."""

from __future__ import annotations

import time
from typing import Any

import click
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from lazarus.cli.context import CliContext, pass_cli, print_json
from lazarus.errors import LazarusError, ServiceUnavailable
from lazarus.groups import known_groups
from lazarus.kafka.admin import admin_client, wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.lag import PartitionLag, group_lag, max_age, total_lag

UNKNOWN_GROUP_EXIT = 3


class UnknownGroup(LazarusError):
    """No such consumer group."""


def committed_topics(conf: dict[str, Any], group: str) -> tuple[str, ...]:
    """Topics `group` has committed offsets on (the admin API), or () for an unknown group."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    admin = admin_client(conf)
    try:
        future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
        result = future.result(timeout=10)
    except Exception:
        return ()
    return tuple(sorted({tp.topic for tp in result.topic_partitions or [] if tp.offset >= 0}))


def collect(
    cli: CliContext, group: str | None
) -> tuple[list[dict[str, Any]], ServiceUnavailable | None]:
    """Each group's lag, and the error that stopped reading early (None: every group was read).

    A broker that does not answer at the start raises ServiceUnavailable (exit 1); one that goes
    away part-way returns the groups read before it, with the error."""
    s = cli.settings
    conf = client_config(s, quiet=True)
    wait_for_broker(conf, timeout=5.0)
    groups = known_groups(s.topic_prefix)
    if group is not None:
        topics = groups.get(group) or committed_topics(conf, group)
        if not topics:
            raise UnknownGroup(
                f"no consumer group {group!r} with committed offsets; known: {', '.join(groups)}"
            )
        groups = {group: topics}
    out: list[dict[str, Any]] = []
    for name, topics in groups.items():
        try:
            rows = group_lag(conf, name, list(topics), ages=True)
        except ServiceUnavailable as exc:
            return out, exc
        out.append(_group_row(name, rows))
    return out, None


def _group_row(name: str, rows: list[PartitionLag]) -> dict[str, Any]:
    return {
        "group": name,
        "total_lag": total_lag(rows),
        "max_lag_seconds": max_age(rows),
        "committed": any(r.committed is not None for r in rows),
        "partitions": [r.as_dict() for r in rows],
    }


def render(groups: list[dict[str, Any]]) -> Table:
    table = Table("group", "topic", "partition", "committed", "log end", "lag", "lag (s)")
    for g in groups:
        for r in g["partitions"]:
            table.add_row(
                g["group"],
                r["topic"],
                str(r["partition"]),
                "-" if r["committed"] is None else str(r["committed"]),
                str(r["end"]),
                str(r["lag"]),
                _seconds(r["lag_seconds"]),
            )
        table.add_row(
            f"[bold]{g['group']}[/bold]",
            "[bold]total[/bold]",
            "",
            "",
            "",
            f"[bold]{g['total_lag']}[/bold]",
            f"[bold]{_seconds(g['max_lag_seconds'])}[/bold]",
            end_section=True,
        )
    return table


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@click.command(
    epilog="""\b
Examples:
  lazarus lag                                  every trainer and scorer group
  lazarus lag --group lazarus.scorer.habitat   one group (any group with commits)
  lazarus lag --json                           for scripts and alerts
  lazarus lag --watch --interval 2             refresh until Ctrl-C

Lag is the log-end offset minus the group's committed offset, per partition;
"lag (s)" is the age of the oldest message the group has not consumed (0 when
it is caught up). Trainers commit their latest snapshot's next offsets to
read, so their lag includes what is learned but not yet saved.

\b
Exit codes: 0 shown; 1 the broker did not answer, or stopped answering part-way
(the groups read before are shown); 3 no such group.
"""
)
@click.option("--group", "group", default=None, help="Only this consumer group.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--watch", is_flag=True, help="Refresh until Ctrl-C.")
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
    try:
        groups, lost = collect(cli, group)
    except UnknownGroup as exc:
        cli.err.print(f"[red]error:[/red] {exc}", highlight=False)
        return UNKNOWN_GROUP_EXIT
    if not watch:
        return _show(cli, groups, lost, as_json)
    try:
        with Live(render(groups), console=cli.console, auto_refresh=False) as live:
            while lost is None:
                time.sleep(interval)
                groups, lost = collect(cli, group)
                if as_json:
                    print_json(_as_json(groups, lost))
                else:
                    live.update(render(groups), refresh=True)
    except KeyboardInterrupt:
        return 0
    return _lost(cli, lost) if lost is not None else 0


def _show(
    cli: CliContext, groups: list[dict[str, Any]], lost: ServiceUnavailable | None, as_json: bool
) -> int:
    """Print what was read; a broker lost part-way adds its one line (exit 1)."""
    if as_json:
        print_json(_as_json(groups, lost))
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
