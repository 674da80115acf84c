"""A click group that imports a subcommand only when it is used.

The CLI lives in `lazarus/` but some commands belong to roles (`producers`,
`trainer`, `scorer`); loading them lazily keeps `lazarus` free of role imports
and `lazarus --help` fast.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    def __init__(
        self, *args: object, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy = lazy or {}
        """name -> ("module:attribute", one-line help shown in the command list)"""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy and cmd_name not in self.commands:
            target, _ = self._lazy[cmd_name]
            module, attr = target.split(":")
            command = getattr(importlib.import_module(module), attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, without importing role commands just to show their one-line help."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self._lazy and name not in self.commands:
                rows.append((name, self._lazy[name][1]))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
