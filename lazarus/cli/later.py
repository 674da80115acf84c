"""Command groups whose work lands in later issues: they exist, say so, and exit 1.

Each is replaced by its real module when its issue lands.
"""

from __future__ import annotations

import click

PENDING = {
    "dashboard": ("The live web dashboard.", "#6 (operations)"),
    "status": ("One summary of the whole system.", "#6 (operations)"),
}


def _pending(name: str, about: str, issue: str) -> click.Command:
    @click.command(
        name,
        help=f"{about}\n\nNot available yet: arrives with issue {issue}.",
        context_settings={"ignore_unknown_options": True},
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        raise click.ClickException(
            f"`lazarus {name}` is not available yet; it arrives with issue {issue}"
        )

    return command


COMMANDS = [_pending(name, about, issue) for name, (about, issue) in PENDING.items()]
