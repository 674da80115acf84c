"""What every command gets: settings read once, and a console."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click
from rich.console import Console

from lazarus.settings import Settings, load_settings


@dataclass
class CliContext:
    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    console: Console = field(default_factory=lambda: Console(stderr=False, soft_wrap=True))
    err: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))

    @property
    def settings(self) -> Settings:
        """Settings, read from the environment and `.env` the first time they are needed.

        Raises ConfigError, one line naming each invalid variable (exit 2)."""
        if self._settings is None:
            self._settings = load_settings(**self.overrides)
        return self._settings

    def replace_settings(self, settings: Settings) -> None:
        self._settings = settings


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
