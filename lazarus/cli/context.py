"""What every command gets: settings read once, and a console."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console

from lazarus.errors import ConfigError
from lazarus.settings import Settings, env_name


@dataclass
class CliContext:
    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    console: Console = field(default_factory=lambda: Console(stderr=False, soft_wrap=True))
    err: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))

    @property
    def settings(self) -> Settings:
        """Settings, read from the environment and `.env` the first time they are needed."""
        if self._settings is None:
            try:
                self._settings = Settings(
                    **{k: v for k, v in self.overrides.items() if v is not None}
                )
            except ValidationError as exc:
                first = exc.errors()[0]
                name = str(first["loc"][0]) if first["loc"] else "?"
                raise ConfigError(f"setting {env_name(name)} is invalid: {first['msg']}") from exc
        return self._settings

    def replace_settings(self, settings: Settings) -> None:
        self._settings = settings


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
