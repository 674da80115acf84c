"""Model spec files: a model over the user's own tabular data, described in TOML.

`lazarus spec init DATA.csv ...` writes one from a sample of the data; the user edits it; every
command that takes a model takes its path (`lazarus train survey.toml`). It reads into three
parts, each for whoever needs it:

- `contract`: the `ModelContract` (`lazarus.schemas.tabular`): columns, task, classes, topics;
- `data`: the `DataLayout`, how a recording's rows become records and labels (replay reads it);
- `recipe`: the `Recipe`, how the model learns (the trainer builds the river pipeline from it,
  `lazarus.trainer.specfile`; the estimator's name and parameters are checked there, against
  the catalogue).

The optional `[lifecycle]` table (`lazarus.schemas.spec_lifecycle`) goes into the contract's
`lifecycle`: challengers, promotion, rollback, drift. The optional `[per_key]` table
(`lazarus.schemas.spec_per_key`) makes it a per-key model: one model per value of a column.

A wrong value, a missing key, an unknown key or table (a typo) raises `SpecFileError`, one line
naming the file, the line and the key: `survey.toml:12: [pipeline] scale: must be true or false,
not the string 'yes'`. The format is described in docs/model-specs.md.

>>> spec = parse_spec('''
... [model]
... name = "survey"
... task = "binary"
... classes = ["absent", "present"]
... positive = "present"
... [data]
... label_column = "occupied"
... [features]
... numeric = ["depth_m"]
... categorical = ["habitat"]
... [pipeline]
... estimator = "LogisticRegression"
... ''', "survey.toml")
>>> spec.contract.inputs[0].name, spec.data.columns[1], spec.recipe.metrics
('survey.records.v1', Column(name='habitat', kind='categorical'), ('Accuracy', 'LogLoss'))
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lazarus.schemas.contract import ModelContract
from lazarus.schemas.errors import ConfigError
from lazarus.schemas.labels import same
from lazarus.schemas.records import MODEL_NAME, Column
from lazarus.schemas.spec_lifecycle import KEYS as LIFECYCLE_KEYS
from lazarus.schemas.spec_lifecycle import challenger_contract, read_lifecycle
from lazarus.schemas.spec_per_key import KEYS as PER_KEY_KEYS
from lazarus.schemas.spec_per_key import read_per_key
from lazarus.schemas.spec_tables import SpecFileError, Table, Where, check_tables
from lazarus.schemas.tabular import DEFAULT_METRICS, TASKS, TaskKind, tabular_contract
from lazarus.schemas.tomllines import KeyLines

__all__ = ["DataLayout", "Recipe", "SpecFile", "SpecFileError", "is_spec_file", "read_spec_file"]

SUFFIX = ".toml"
KEYS = {
    "model": (
        "name",
        "task",
        "classes",
        "positive",
        "segment_fields",
        "min_learned",
        "description",
    ),
    "data": ("label_column", "key_column", "time_column", "na_values", "time_features"),
    "features": ("numeric", "categorical", "drop"),
    "pipeline": ("estimator", "scale", "params"),
    "training": ("snapshot_every", "snapshot_seconds", "label_wait_days", "metrics"),
    "lifecycle": LIFECYCLE_KEYS,
    "per_key": PER_KEY_KEYS,
}
"""Every table of a spec file and the keys it may hold."""
TABLES = tuple(KEYS)
DEFAULT_NA_VALUES = ("",)
DEFAULT_LABEL_WAIT_DAYS = 14.0
"""The trainer's default: `ModelSpec.pending_ttl_s` is 14 days."""
_AT_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True)
class DataLayout:
    """How a recording's rows map to a model's records and labels."""

    label_column: str
    key_column: str | None
    """The column whose value keys a row (its subject); None: every row has `DEFAULT_SUBJECT`."""
    time_column: str | None
    """The column holding a row's time; None: the time of sending."""
    na_values: tuple[str, ...]
    """Cells meaning "missing" (compared as written, after stripping spaces)."""
    columns: tuple[Column, ...]
    """The feature columns: the numeric ones, then the categorical ones."""
    time_features: bool
    """Hour and season features of the row's time, on top of its columns."""
    dropped: tuple[str, ...] = ()
    """Columns of the data left out on purpose (documentation; never read)."""


@dataclass(frozen=True)
class Recipe:
    """How the model learns: the trainer's side of the spec file (checked there)."""

    estimator: str
    """A name from the trainer's catalogue for the task (`lazarus.trainer.catalogue`)."""
    params: dict[str, Any]
    """Keyword arguments of the estimator, as written."""
    scale: bool
    """StandardScaler on the numeric columns."""
    snapshot_every: int
    snapshot_seconds: float
    metrics: tuple[str, ...]
    label_wait_days: float = DEFAULT_LABEL_WAIT_DAYS
    """How long (event time, behind the newest row seen) a row waits for its label."""


@dataclass(frozen=True)
class SpecFile:
    """A model spec file, read and checked (but for the recipe's estimator and metrics)."""

    path: Path
    task: TaskKind
    contract: ModelContract
    data: DataLayout
    recipe: Recipe
    where: Where = field(repr=False, compare=False)

    def error(self, table: str, key: str | None, message: str) -> SpecFileError:
        """An error about `key` of `table`, naming this file and the key's line."""
        return self.where.error(table, key, message)


def is_spec_file(name: str) -> bool:
    """Whether a model argument names a spec file (rather than a built-in model or an import
    path): it ends in .toml.

    >>> is_spec_file("survey.toml"), is_spec_file("habitat"), is_spec_file("pkg.mod:spec")
    (True, False, False)
    """
    return name.lower().endswith(SUFFIX)


def read_spec_file(path: Path | str) -> SpecFile:
    """The spec file at `path`; `SpecFileError` if it cannot be read or is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecFileError(
            f"{path}: not UTF-8 text ({exc.reason}); TOML files are UTF-8"
        ) from None
    except OSError as exc:
        raise SpecFileError(
            f"{path}: cannot read the model spec file: {exc.strerror or exc}"
        ) from None
    return parse_spec(text, path)


def parse_spec(text: str, path: Path | str) -> SpecFile:
    """The spec file `path` whose text is `text`; `SpecFileError` if it is wrong."""
    where = Where(str(path), KeyLines(text))
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _AT_LINE.search(str(exc))
        raise SpecFileError(
            f"{path}:{found.group(1) if found else 1}: not valid TOML: {exc}"
        ) from None
    check_tables(where, doc, TABLES)
    t = {name: Table(where, name, doc.get(name, {}), KEYS[name]) for name in TABLES}
    model, task, classes, positive = _model(t["model"])
    data = _data(t["data"], t["features"])
    segment_fields = _segment_fields(t["model"], data)
    recipe = _recipe(t["pipeline"], t["training"], task)
    lifecycle = read_lifecycle(t["lifecycle"], model["name"])
    per_key = read_per_key(t["per_key"])
    for table in t.values():
        table.done()
    try:
        contract = tabular_contract(
            lifecycle.challenger_of or model["name"],  # a challenger reads its champion's data
            data.columns,
            task,
            classes=classes,
            positive=positive,
            time_features=data.time_features,
            segment_fields=segment_fields,
            metrics=recipe.metrics,
            min_learned=model["min_learned"],
            description=model["description"],
        )
    except ConfigError as exc:
        raise where.error("model", None, str(exc)) from None
    contract = challenger_contract(contract, model["name"], lifecycle, model["description"])
    if per_key is not None:
        try:
            contract = dataclasses.replace(contract, per_key=per_key)
        except ConfigError as exc:
            raise where.error("per_key", "field", str(exc)) from None
    return SpecFile(Path(path), task, contract, data, recipe, where)


def _model(m: Table) -> tuple[dict[str, Any], TaskKind, tuple[Any, ...] | None, Any]:
    name = m.text("name", hint="it names the model's topics")
    if not MODEL_NAME.match(name):
        raise m.error("name", f"{name!r}: lower-case letters, digits and _, starting with a letter")
    task = m.text("task", hint=" | ".join(TASKS))
    if task not in TASKS:
        raise m.error("task", f"{task!r} is not one of {', '.join(TASKS)}")
    classes, positive = _classes(m, task)
    fields = {
        "name": name,
        "min_learned": m.integer("min_learned", 1),
        "description": m.text("description", ""),
    }
    return fields, task, classes, positive


def _classes(m: Table, task: TaskKind) -> tuple[tuple[Any, ...] | None, Any]:
    if task == "regression":
        for key in ("classes", "positive"):
            if m.get(key, None) is not None:
                raise m.error(key, "a regression has no classes: remove it")
        return None, None
    classes = m.classes("classes", hint='the labels as in the data, e.g. ["absent", "present"]')
    for i, c in enumerate(classes):
        if any(same(c, other) for other in classes[:i]):
            raise m.error("classes", f"{c!r} is listed twice")
    if task == "binary" and len(classes) != 2:
        raise m.error("classes", f"a binary model has two classes, not {len(classes)}")
    if task == "multiclass" and len(classes) < 3:
        raise m.error(
            "classes",
            f"a multiclass model has three or more classes, not {len(classes)}"
            + (' (two make a binary task: set task = "binary")' if len(classes) == 2 else ""),
        )
    positive = m.get("positive", None)
    if positive is not None:
        if task != "binary":
            raise m.error("positive", "only a binary model has a positive class: remove it")
        if not any(same(positive, c) for c in classes):
            typed = ", ".join(map(_toml, classes))
            raise m.error(
                "positive",
                f"{_toml(positive)} is not one of the classes [{typed}] (typed as written)",
            )
    return classes, positive


def _data(d: Table, f: Table) -> DataLayout:
    label = d.text("label_column", hint="the column holding the labels")
    key = d.text("key_column", None)
    time = d.text("time_column", None)
    special = {"label_column": label, "key_column": key, "time_column": time}
    for k in ("key_column", "time_column"):
        if special[k] is not None and special[k] == label:
            raise d.error(k, f"{label!r} is the label column")
    if key is not None and key == time:
        raise d.error("time_column", f"{time!r} is the key column")
    na_values = d.texts("na_values", DEFAULT_NA_VALUES)
    time_features = d.flag("time_features", False)
    if time_features and time is None:
        raise d.error(
            "time_features", "needs a time_column (without one, the time is the time of sending)"
        )
    numeric, categorical = f.texts("numeric", ()), f.texts("categorical", ())
    dropped = f.texts("drop", ())
    seen: dict[str, str] = {}
    for key_name, names in (("numeric", numeric), ("categorical", categorical)):
        for name in names:
            if name in seen:
                raise f.error(key_name, f"{name!r} is listed twice (also in {seen[name]})")
            for role, column in special.items():
                if name == column:
                    raise f.error(key_name, f"{name!r} is the {role.replace('_', ' ')}")
            if name in dropped:
                raise f.error("drop", f"{name!r} is both a feature and dropped")
            seen[name] = key_name
    if not seen:
        raise f.error(None, "no feature columns: list some under numeric or categorical")
    try:
        columns = tuple(Column(n, "numeric") for n in numeric) + tuple(
            Column(n, "categorical") for n in categorical
        )
    except ConfigError as exc:
        raise f.error(None, str(exc)) from None
    return DataLayout(label, key, time, na_values, columns, time_features, dropped)


def _segment_fields(m: Table, data: DataLayout) -> tuple[str, ...]:
    fields = m.texts("segment_fields", ())
    allowed = ["subject", *(c.name for c in data.columns if c.kind == "categorical")]
    for name in fields:
        if name not in allowed:
            raise m.error(
                "segment_fields",
                f'{name!r} is neither "subject" nor a categorical column '
                f"(choose from: {', '.join(map(repr, allowed))})",
            )
    return fields


def _recipe(p: Table, t: Table, task: TaskKind) -> Recipe:
    estimator = p.text("estimator", hint="a name from the catalogue: see docs/model-specs.md")
    scale = p.flag("scale", True)
    params = dict(p.table("params").values)
    metrics = t.texts("metrics", DEFAULT_METRICS[task])
    if not metrics:
        raise t.error("metrics", "name at least one metric (the first is the primary one)")
    return Recipe(
        estimator=estimator,
        params=params,
        scale=scale,
        snapshot_every=t.integer("snapshot_every", 5000),
        snapshot_seconds=t.number("snapshot_seconds", 10.0),
        metrics=metrics,
        label_wait_days=t.number("label_wait_days", DEFAULT_LABEL_WAIT_DAYS),
    )


def _toml(value: Any) -> str:
    """A value as TOML writes it (`"1"`, `1`, `true`)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
