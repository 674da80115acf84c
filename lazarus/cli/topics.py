"""`lazarus topics create|list`."""

from __future__ import annotations

import click

from lazarus.cli.context import CliContext, pass_cli, print_json
from lazarus.cli.json_shapes import TopicList
from lazarus.kafka.admin import ensure_topics, list_topics, wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.schemas.topics import ALL_TOPICS


@click.group()
def topics() -> None:
    """Create and list the pipeline's topics (declared once, in schemas/topics.py)."""


@topics.command("create")
@click.option(
    "--partitions",
    type=click.IntRange(1, 1024),
    default=None,
    help="Partitions per topic.  [env var: LAZARUS_TOPIC_PARTITIONS; default: 4]",
)
@pass_cli
def create(cli: CliContext, partitions: int | None) -> None:
    """Create every declared topic that is missing (safe to run again)."""
    s = cli.settings
    conf = client_config(s, quiet=True)
    wait_for_broker(conf)
    result = ensure_topics(
        conf,
        [t.full(s.topic_prefix) for t in ALL_TOPICS],
        partitions or s.topic_partitions,
        s.topic_replication_factor,
    )
    for name, created in result.items():
        cli.console.print(f"{'created' if created else 'exists '}  {name}", highlight=False)


@topics.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True, help="Also list topics Lazarus did not declare.")
@pass_cli
def list_(cli: CliContext, as_json: bool, show_all: bool) -> None:
    """List topics on the broker with their partitions and the event each carries."""
    s = cli.settings
    conf = client_config(s, quiet=True)
    wait_for_broker(conf)
    declared = {t.full(s.topic_prefix): t for t in ALL_TOPICS}
    rows = [
        {
            "topic": t.name,
            "partitions": t.partitions,
            "event": declared[t.name].event.__name__ if t.name in declared else None,
        }
        for t in list_topics(conf)
        if show_all or t.name in declared
    ]
    if as_json:
        print_json(rows, TopicList)
        return
    from rich.table import Table

    table = Table("topic", "partitions", "event")
    for row in rows:
        table.add_row(str(row["topic"]), str(row["partitions"]), str(row["event"] or "-"))
    cli.console.print(table)
