"""`lazarus schemas export DIR`."""

from __future__ import annotations

from pathlib import Path

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.schemas.export import export_json_schemas


@click.group()
def schemas() -> None:
    """The event contracts, for consumers in other languages."""


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@pass_cli
def export(cli: CliContext, directory: Path) -> None:
    """Write one JSON Schema file per event into DIRECTORY."""
    for path in export_json_schemas(directory):
        cli.console.print(f"wrote {path}", highlight=False)
