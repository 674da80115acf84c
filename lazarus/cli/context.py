"""What every command gets: settings read once, and a console."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console

from lazarus.attach import attach, describe
from lazarus.settings import Settings, load_settings

UNCUT_WIDTH = 10_000
"""Columns of output to a pipe or a file: wide enough that no table is cut or folded."""


def make_console(stderr: bool = False) -> Console:
    """A console that wraps nothing it prints as text (`soft_wrap`). On a terminal tables fit
    its width; to a pipe or a file they are not cut to rich's default 80 columns (COLUMNS, when
    set, still rules)."""
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, soft_wrap=True, width=UNCUT_WIDTH)
    return console


DETACHED = frozenset({None, "up", "broker", "schemas", "spec", "keys"})
"""Commands that never use a running `lazarus up`'s stack: `up` and `broker` run their own,
the rest touch no service (None: not run as a command)."""


def _command() -> str | None:
    """The `lazarus` subcommand being run (`train` for `python -m lazarus.trainer`), if any."""
    ctx = click.get_current_context(silent=True)
    return None if ctx is None else ctx.find_root().invoked_subcommand


@dataclass
class CliContext:
    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    console: Console = field(default_factory=make_console)
    err: Console = field(default_factory=lambda: make_console(stderr=True))

    @property
    def settings(self) -> Settings:
        """Settings, read from the environment and `.env` the first time they are needed,
        completed from a running `lazarus up` (`lazarus.attach`, announced on stderr).

        Raises ConfigError, one line naming each invalid variable (exit 2)."""
        if self._settings is None:
            self._settings = load_settings(**self.overrides)
            if _command() not in DETACHED:
                say = partial(self.err.print, highlight=False)  # the hint when it cannot
                self._settings, stack = attach(self._settings, say=say)
                if stack is not None:
                    self.err.print(describe(stack), highlight=False)
        return self._settings

    def replace_settings(self, settings: Settings) -> None:
        self._settings = settings


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def print_json(data: Any, shape: type[BaseModel]) -> None:
    """`data` as indented JSON on stdout, validated and typed by its `shape` (every `--json`
    output has one, in `lazarus.cli.json_shapes`): numbers as numbers, times as ISO 8601 UTC,
    keys in the shape's order. A mismatch is a bug: pydantic's ValidationError."""
    text = shape.model_validate(data).model_dump_json(indent=2, by_alias=True)
    sys.stdout.write(text + "\n")
