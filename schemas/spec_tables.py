"""Typed reading of one table of a model spec file, every error naming the file, line and key.

A `Table` hands out its values by key and type (`text`, `flag`, `integer`, `number`, `real`,
`texts`, `classes`, `table`), and `done()` refuses the keys nobody asked for: a typo in a spec
file is an error, never a silently ignored setting.

>>> from lazarus.schemas.tomllines import KeyLines
>>> where = Where("survey.toml", KeyLines('[training]\\nsnapshot_every = "often"\\n'))
>>> Table(where, "training", {"snapshot_every": "often"}).integer("snapshot_every", 5000)
Traceback (most recent call last):
...
lazarus.schemas.spec_tables.SpecFileError: survey.toml:2: [training] snapshot_every: must be an integer, not the string 'often'
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from lazarus.schemas.errors import ConfigError
from lazarus.schemas.tomllines import KeyLines

_MISSING: Any = object()


class SpecFileError(ConfigError):
    """A model spec file is wrong: one line naming the file, the line and the key."""


@dataclass(frozen=True)
class Where:
    """A spec file's name and the lines of its keys: what every error about it names."""

    path: str
    lines: KeyLines

    def error(self, table: str, key: str | None, message: str) -> SpecFileError:
        """`path:line: [table] key: message`, the line being the key's (or its table's)."""
        line = self.lines.line(table, key)
        return SpecFileError(f"{self.path}:{line}: [{table}]{f' {key}' if key else ''}: {message}")


class Table:
    """One table of the spec file (`name` dotted, as "pipeline.params") and its values."""

    def __init__(self, where: Where, name: str, values: Any, known: tuple[str, ...] = ()) -> None:
        """`known`: every key the table may hold (a missing one misspelt is named as such)."""
        if not isinstance(values, dict):
            raise where.error(name, None, f"must be a table, not {value_kind(values)}")
        self.where, self.name, self.values = where, name, values
        self.known = known
        self._asked: set[str] = set()

    def error(self, key: str | None, message: str) -> SpecFileError:
        return self.where.error(self.name, key, message)

    def get(self, key: str, default: Any = _MISSING, hint: str = "") -> Any:
        """The raw value of `key`; `default` when absent, or an error if there is none."""
        self._asked.add(key)
        if key in self.values:
            return self.values[key]
        if default is _MISSING:
            unknown = [k for k in self.values if k not in self.known]
            typo = difflib.get_close_matches(key, unknown, n=1, cutoff=0.8)
            if typo:  # the key is there, misspelt: say that rather than "missing"
                raise self.error(typo[0], f"unknown key: did you mean {key!r}?")
            raise self.error(key, f"missing{f' ({hint})' if hint else ''}")
        return default

    def text(self, key: str, default: Any = _MISSING, hint: str = "") -> Any:
        value = self.get(key, default, hint)
        if value is not default and not (isinstance(value, str) and value):
            raise self.error(key, f"must be a non-empty string, not {value_kind(value)}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value_kind(value)}")
        return value

    def integer(self, key: str, default: int, minimum: int | None = 1) -> int:
        """An integer, at least `minimum` (None: any)."""
        value = self.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, f"must be an integer, not {value_kind(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, not {value}")
        return value

    def number(self, key: str, default: float) -> float:
        """A positive finite number (an integer is read as a float)."""
        value = self.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.error(key, f"must be a number, not {value_kind(value)}")
        if not (math.isfinite(value) and value > 0):
            raise self.error(key, f"must be a positive number, not {value}")
        return float(value)

    def real(self, key: str, default: float) -> float:
        """A finite number of any sign (an integer is read as a float)."""
        value = self.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.error(key, f"must be a number, not {value_kind(value)}")
        if not math.isfinite(value):
            raise self.error(key, f"must be a finite number, not {value}")
        return float(value)

    def texts(self, key: str, default: Any = _MISSING, hint: str = "") -> tuple[str, ...]:
        """An array of strings."""
        value = self.get(key, default, hint)
        if not isinstance(value, list | tuple):
            raise self.error(key, f"must be an array of strings, not {value_kind(value)}")
        for v in value:
            if not isinstance(v, str):
                raise self.error(
                    key, f"must be an array of strings, not one holding {value_kind(v)}"
                )
        return tuple(value)

    def classes(self, key: str, hint: str) -> tuple[Any, ...]:
        """An array of class labels: strings, integers or booleans, as in the data."""
        value = self.get(key, hint=hint)
        if not isinstance(value, list) or not value:
            raise self.error(key, f"must be an array of labels, not {value_kind(value)}")
        for v in value:
            if not isinstance(v, str | int):  # bool is an int
                raise self.error(
                    key,
                    f"a class is a string, an integer or true/false, not {value_kind(v)} "
                    "(numbers to predict make a regression)",
                )
        return tuple(value)

    def table(self, key: str) -> Table:
        """The sub-table `key` (empty when absent), its keys unchecked."""
        return Table(self.where, f"{self.name}.{key}", self.get(key, {}))

    def done(self) -> None:
        """Refuse keys nobody asked for, suggesting the closest known one."""
        for key in self.values:
            if key not in self._asked:
                raise self.error(key, f"unknown key{_suggest(key, self.known or self._asked)}")


def check_tables(where: Where, doc: dict[str, Any], known: tuple[str, ...]) -> None:
    """Refuse top-level tables (or keys) outside `known`."""
    for name in doc:
        if name not in known:
            raise where.error(
                name, None, f"unknown table{_suggest(name, known)} (tables: {', '.join(known)})"
            )


def _suggest(key: str, known: set[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    if close:
        return f": did you mean {close[0]!r}?"
    return f" (known: {', '.join(sorted(known))})" if known else ""


def value_kind(value: Any) -> str:
    """How a value reads in a message: `the string 'often'`, `the integer 3`."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value[:60]!r}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, list):
        return "an array" + (f" holding {value_kind(value[0])}" if value else " (empty)")
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"
