"""`lazarus schemas export DIR`."""

from __future__ import annotations

from pathlib import Path

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.cli.json_schemas import export_cli_schemas
from lazarus.schemas.export import export_json_schemas


@click.group()
def schemas() -> None:
    """The event contracts and the CLI's JSON outputs, for consumers in other languages."""


@schemas.command(
    "export",
    epilog="""\b
Example:
  lazarus schemas export ./schemas
  # ./schemas/SensorReading.v1.schema.json, ... and ./schemas/cli/lazarus-status.schema.json, ...""",
)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@pass_cli
def export(cli: CliContext, directory: Path) -> None:
    """Write one JSON Schema file per event into DIRECTORY, and one per `--json` output of
    the CLI into DIRECTORY/cli (`lazarus-status.schema.json`, ...)."""
    for path in [*export_json_schemas(directory), *export_cli_schemas(directory / "cli")]:
        cli.console.print(f"wrote {path}", highlight=False)
