"""Where a key is written in a TOML text: the line an error about it names.

`tomllib` gives values without positions. `KeyLines` reads the text once and remembers the line
of every table header and of every key written as `key = ...` under it (dotted keys too), so an
error about a value can name its line. It is a reading aid, not a parser: a key it cannot place
(inside an inline table, say) falls back to its table's line, then to line 1.

>>> lines = KeyLines('# spec\\n[model]\\nname = "survey"\\n\\n[pipeline.params]\\nl2 = 0.1\\n')
>>> lines.line("model", "name"), lines.line("pipeline.params", "l2"), lines.line("model", "task")
(3, 6, 2)
>>> lines.line("training", "metrics"), lines.line("pipeline", "params")
(1, 5)
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_PART = r"(?:\"(?:[^\"\\]|\\.)*\"|'[^']*'|[A-Za-z0-9_-]+)"
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
_SPLIT = re.compile(rf"\s*({_PART})\s*(?:\.|$)")


class KeyLines:
    """Line numbers (1-based) of the tables and keys written in one TOML text."""

    def __init__(self, text: str) -> None:
        self._tables: dict[str, int] = {}
        self._keys: dict[tuple[str, str], int] = {}
        table = ""
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                table = ".".join(_parts(header.group(1)))
                self._tables.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                self._add(table, _parts(key.group(1)), number)

    def _add(self, table: str, parts: list[str], number: int) -> None:
        """`a.b.c = 1` under [t] writes key c of [t.a.b], and (as written) a of [t]."""
        for i, part in enumerate(parts):
            owner = ".".join(p for p in (table, *parts[:i]) if p)
            self._keys.setdefault((owner, part), number)
            if i < len(parts) - 1:
                self._tables.setdefault(".".join(p for p in (owner, part) if p), number)

    def line(self, table: str, key: str | None = None) -> int:
        """The line of `key` in `table` (dotted, as "pipeline.params"), else of the sub-table
        `key` names (written as its own header), else of the table, else of the nearest
        enclosing table or key written, else 1."""
        if key is not None and (table, key) in self._keys:
            return self._keys[(table, key)]
        if key is not None and f"{table}.{key}" in self._tables:
            return self._tables[f"{table}.{key}"]
        while table:
            if table in self._tables:
                return self._tables[table]
            owner, _, last = table.rpartition(".")
            if (owner, last) in self._keys:
                return self._keys[(owner, last)]
            table = owner
        return 1


def _parts(dotted: str) -> list[str]:
    """The parts of a dotted key or table name, quotes removed."""
    out = []
    for match in _SPLIT.finditer(dotted):
        part = match.group(1)
        if part[0] in "\"'":
            part = part[1:-1]
        out.append(part)
    return out
