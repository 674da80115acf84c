"""`lazarus produce sensors|genomes|replay`."""

from __future__ import annotations

import click


@click.group()
def produce() -> None:
    """Publish events: simulated feeds, or a replay of real recordings."""
