"""`lazarus config show`."""

from __future__ import annotations

import click
from rich.table import Table

from lazarus.cli.context import CliContext, pass_cli, print_json
from lazarus.cli.json_shapes import config_shape
from lazarus.settings import Settings, env_name


@click.group()
def config() -> None:
    """Inspect configuration."""


@config.command(
    "show",
    epilog="""\b
Examples:
  lazarus config show
  lazarus config show --json | jq -r .LAZARUS_KAFKA_BOOTSTRAP_SERVERS""",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON instead of a table: one key per variable (LAZARUS_...), typed.",
)
@pass_cli
def show(cli: CliContext, as_json: bool) -> None:
    """Print the effective settings (environment, then ./.env, then defaults), secrets masked."""
    values = cli.settings.masked()
    if as_json:
        print_json({env_name(name): value for name, value in values.items()}, config_shape())
        return
    table = Table("setting", "value", "about")
    for name, value in values.items():
        about = Settings.model_fields[name].description or ""
        table.add_row(env_name(name), "" if value is None else str(value), about)
    cli.console.print(table)
