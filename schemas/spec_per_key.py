"""The `[per_key]` table of a model spec file: one model per value of a column.

>>> import tomllib
>>> from lazarus.schemas.spec_tables import Table, Where
>>> from lazarus.schemas.tomllines import KeyLines
>>> text = '[per_key]\\nfield = "site"\\nmin_history = 30\\n'
>>> where = Where("survey.toml", KeyLines(text))
>>> read_per_key(Table(where, "per_key", tomllib.loads(text)["per_key"], KEYS))
PerKey(field='site', min_history=30, fallback=True)
>>> read_per_key(Table(where, "per_key", {}, KEYS)) is None
True
"""

from __future__ import annotations

from lazarus.schemas.per_key import PerKey
from lazarus.schemas.spec_tables import Table

KEYS = ("field", "min_history", "fallback")


def read_per_key(table: Table) -> PerKey | None:
    """The table as a `PerKey`; None when the spec has no `[per_key]` table. `field` names a
    column of the data (or `subject`, the key column's value); `min_history` defaults to 50
    and `fallback` to true. Raises `SpecFileError` on the line of a wrong key."""
    if not table.values:
        return None
    field = table.text("field", hint='the column whose value keys a model, e.g. "site"')
    default = PerKey(field)
    return PerKey(
        field,
        min_history=table.integer("min_history", default.min_history, minimum=0),
        fallback=table.flag("fallback", default.fallback),
    )
