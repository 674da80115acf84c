"""Records: rows of tabular data, typed by the model spec that declares their columns.

A programme's own data (site surveys, assay tables, any CSV) travels as records: one event per
row, its `values` exactly the row's cells. A column is numeric (a finite float) or
categorical (a string, which river's OneHotEncoder turns into a feature of its own); a missing
cell (an NA marker in the file) is absent or null, and river treats an absent feature as
missing. Nothing is injected: a record's features are its values, and time features (hour and
season of `event_time`) only when the spec asks for them.

Each model spec that reads records gets its own record class (`record_type`), whose columns
are part of the schema fingerprint, so trainer and scorer share one `to_features()` and one
fingerprint exactly as for the built-in events.

>>> Survey = record_type("survey", (Column("depth_m", "numeric"), Column("habitat", "categorical")))
>>> r = Survey.model_validate_json(
...     '{"event_id": "r1", "event_time": "2026-05-01T10:00:00Z",'
...     ' "values": {"depth_m": 2.5, "habitat": "reed bed"}}')
>>> r.to_features(), r.subject
({'depth_m': 2.5, 'habitat': 'reed bed'}, 'all')
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from lazarus.schemas.base import ClassName, Event, FiniteFloat, Identifier
from lazarus.schemas.errors import ConfigError

ColumnKind = Literal["numeric", "categorical"]
DEFAULT_SUBJECT = "all"
"""A record's subject when the data names none: one subject, so one partition and one order."""
TIME_FEATURES = ("hour_sin", "hour_cos", "season_sin", "season_cos")
MODEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""A model's name: also the first part of its topics' names."""
_TAU = 2 * math.pi


@dataclass(frozen=True)
class Column:
    """One column of a model's records: its name as in the data, and its kind."""

    name: str
    kind: ColumnKind

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 200:
            raise ConfigError(f"column name {self.name!r}: 1 to 200 characters")
        if not self.name.isprintable():
            raise ConfigError(f"column name {self.name!r}: control characters are not allowed")
        if self.kind not in ("numeric", "categorical"):
            raise ConfigError(f"column {self.name!r}: kind must be numeric or categorical")


class Record(Event):
    """One row. Key: `subject` (the data's key column, or `DEFAULT_SUBJECT`)."""

    KEY_FIELD: ClassVar[str] = "subject"
    COLUMNS: ClassVar[tuple[Column, ...]] = ()
    KINDS: ClassVar[dict[str, ColumnKind]] = {}
    WITH_TIME: ClassVar[bool] = False
    FEATURE_SPEC: ClassVar[tuple[str, ...]] = ()
    MODEL: ClassVar[str] = ""

    schema_version: Literal[1] = 1
    subject: Identifier = Field(DEFAULT_SUBJECT, description="the row's key, if the data has one")
    values: dict[str, FiniteFloat | ClassName | None] = Field(
        max_length=1000,
        description="column -> value: a number (numeric column), a string (categorical), or "
        "null/absent (missing)",
    )

    @model_validator(mode="after")
    def _check_columns(self) -> Record:
        kinds = self.KINDS
        for name, value in self.values.items():
            kind = kinds.get(name)
            if kind is None:
                raise ValueError(
                    f"{name!r} is not a column of {self.MODEL} "
                    f"(its columns: {', '.join(kinds) or 'none'})"
                )
            if value is None:
                continue
            if kind == "numeric" and isinstance(value, str):
                raise ValueError(f"column {name!r} is numeric, not {value[:80]!r}")
            if kind == "categorical" and not isinstance(value, str):
                raise ValueError(
                    f"column {name!r} is categorical: its value {value!r} must be a string"
                )
        return self

    def to_features(self) -> dict[str, float | str]:
        """The row's present values, then the time features if the spec asks for them:
        the only feature code trainer and scorer run."""
        feats: dict[str, float | str] = {k: v for k, v in self.values.items() if v is not None}
        if self.WITH_TIME:
            t = self.event_time
            hour = (t.hour + t.minute / 60.0) / 24.0
            day = (t.timetuple().tm_yday - 1) / 365.25
            feats["hour_sin"] = math.sin(_TAU * hour)
            feats["hour_cos"] = math.cos(_TAU * hour)
            feats["season_sin"] = math.sin(_TAU * day)
            feats["season_cos"] = math.cos(_TAU * day)
        return feats

    def field_text(self, name: str) -> str:
        """A segment field's value as text: `subject`, or a column's value (missing: "None")."""
        if name == "subject":
            return self.subject
        return str(self.values.get(name))


@functools.cache
def record_type(
    model: str, columns: tuple[Column, ...], time_features: bool = False
) -> type[Record]:
    """The record class of `model` (one class per arguments, in every process), whose columns
    are `columns`; `ConfigError` for a bad model name, no columns, a repeated column or one
    named like a record field."""
    if not MODEL_NAME.match(model):
        raise ConfigError(
            f"model name {model!r}: lower-case letters, digits and _, starting with a letter "
            "(it names the model's topics)"
        )
    names = [c.name for c in columns]
    if not names:
        raise ConfigError(f"model {model!r} has no feature columns")
    if len(set(names)) < len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"model {model!r}: column {repeated[0]!r} is listed twice")
    clash = [n for n in names if n in Record.model_fields or (n in TIME_FEATURES and time_features)]
    if clash:
        raise ConfigError(
            f"model {model!r}: column {clash[0]!r} has the name of a record field; rename it"
        )
    name = "".join(part.capitalize() for part in model.split("_")) + "Record"
    spec = tuple(f"{c.name}:{c.kind}" for c in columns) + (TIME_FEATURES if time_features else ())
    namespace = {
        "__module__": __name__,
        "__qualname__": name,
        "__doc__": f"A row of {model}'s data ({len(columns)} columns).",
        "COLUMNS": columns,
        "KINDS": {c.name: c.kind for c in columns},
        "WITH_TIME": time_features,
        "FEATURE_SPEC": spec,
        "MODEL": model,
    }
    return type(name, (Record,), namespace)


def record_columns(names: Sequence[str], kinds: Sequence[ColumnKind]) -> tuple[Column, ...]:
    """Columns from parallel name and kind lists."""
    return tuple(Column(n, k) for n, k in zip(names, kinds, strict=True))
