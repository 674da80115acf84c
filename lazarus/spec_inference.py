"""What a sample of a recording says about the model to learn from it: `lazarus spec init`'s core.

Pure: rows in (cells by column, as `lazarus.recording.read_rows` gives them), an `Inference` out:

- the NA markers the sample holds, from `NA_MARKERS` (the empty cell always counts);
- per column: numeric (every cell that is not missing is a finite number) or categorical;
  dropped, with the reason, when it cannot help a model: always missing, constant, an
  identifier (a categorical column whose values are nearly all distinct) or a row number;
- the task, from the label column: two values make a binary task; numbers that are not all
  integers, or more than `MAX_INTEGER_CLASSES` distinct integers, a regression; otherwise
  a multiclass task;
- the classes, typed as the data writes them (integers, true/false, else strings), sorted, and
  a binary task's positive class (`positive_class`).

Each bad argument is a `ConfigError` of one line (`lazarus spec init` exits 2).

>>> rows = [{"depth": "1.5", "habitat": "reed", "seen": "present"},
...         {"depth": "NA", "habitat": "bog", "seen": "absent"},
...         {"depth": "2", "habitat": "reed", "seen": "present"}]
>>> found = infer(rows, label_column="seen", name="survey")
>>> found.task, found.classes, found.positive, found.numeric, found.categorical, found.na_values
('binary', ('absent', 'present'), 'present', ('depth',), ('habitat',), ('', 'NA'))
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lazarus.errors import ConfigError
from lazarus.recording import parse_time
from lazarus.schemas.records import MODEL_NAME, Record
from lazarus.schemas.specfile import DEFAULT_LABEL_WAIT_DAYS
from lazarus.schemas.tabular import TASKS, TaskKind

NA_MARKERS = ("", "NA", "N/A", "na", "n/a", "NaN", "nan", "null", "NULL", "None", "?", "-")
"""Cells that mean "missing" when the sample holds them (compared after stripping spaces)."""
MAX_INTEGER_CLASSES = 20
"""More distinct integer labels than this make a regression (counts, ages), not classes."""
MAX_CLASSES = 200
"""More distinct labels than this cannot be a multiclass task worth learning."""
ID_MIN_ROWS = 50
ID_RATIO = 0.95
"""A categorical column is an identifier when it has this share of distinct values in at least
ID_MIN_ROWS cells (an id, a free-text note): one-hot it and every row is a feature of its own."""
POSITIVE_WORDS = ("true", "yes", "y", "present", "positive", "pos", "1", "alive", "occupied")
"""Labels read as a binary task's positive class, case aside; else the greater class."""
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Inference:
    """What the sample says (see the module's docstring)."""

    name: str
    task: TaskKind
    classes: tuple[Any, ...] | None
    positive: Any
    label_column: str
    key_column: str | None
    time_column: str | None
    na_values: tuple[str, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]
    """(column, why), in the data's order: --drop's first, then the ones found useless."""
    rows: int
    """Rows sampled."""
    label_counts: tuple[tuple[Any, int], ...]
    """A classification's rows per class, in the classes' order (empty for a regression)."""
    unlabelled: int
    """Sampled rows whose label cell is missing."""
    time_span_days: float | None = None
    """Newest minus oldest time in the time column (None without one, or no readable time)."""
    label_wait_days: float = DEFAULT_LABEL_WAIT_DAYS
    """How long a row waits for its label: the default, or longer than the time span, so a
    recording whose rows are out of time order loses none (the join gives up on features
    older than this behind the newest row)."""


def infer(
    rows: Sequence[Mapping[str, Any]],
    *,
    label_column: str,
    name: str,
    task: str = "auto",
    key_column: str | None = None,
    time_column: str | None = None,
    drop: Iterable[str] = (),
) -> Inference:
    """What `rows` say about a model `name` predicting `label_column` (`task` "auto" or one
    of `TASKS`). `ConfigError` for no rows, a named column the rows lack, a bad model name, a
    task the labels contradict, or no usable feature column."""
    if not rows:
        raise ConfigError("the sample has no readable data rows")
    if not MODEL_NAME.match(name):
        raise ConfigError(
            f"model name {name!r}: lower-case letters, digits and _, starting with a letter "
            "(it names the model's topics); choose one with --name"
        )
    header = list(dict.fromkeys(k for row in rows for k in row))
    drop = tuple(drop)
    for option, column in [("--label-column", label_column), ("--key-column", key_column),
                           ("--time-column", time_column)] + [("--drop", d) for d in drop]:  # fmt: skip
        if column is not None and column not in header:
            raise ConfigError(
                f"{option} {column!r} is not a column of the data (its columns: "
                f"{', '.join(header)[:300]})"
            )
    columns = {c: [_cell(row.get(c)) for row in rows] for c in header}
    markers = {cell for cells in columns.values() for cell in cells if cell in NA_MARKERS}
    na_values = tuple(m for m in NA_MARKERS if m in markers or m == "")
    labels = [c for c in columns[label_column] if c is not None and c not in na_values]
    kind, classes, positive, counts = read_labels(labels, task, label_column, len(rows))
    special = {label_column, key_column, time_column}
    dropped = [(d, "--drop") for d in drop]
    numeric: list[str] = []
    categorical: list[str] = []
    for column in header:
        if column in special or column in drop:
            continue
        cells = [c for c in columns[column] if c is not None and c not in na_values]
        why = _useless(column, cells)
        if why is not None:
            dropped.append((column, why))
        elif all(_number(c) is not None for c in cells):
            numeric.append(column)
        else:
            categorical.append(column)
    if not numeric and not categorical:
        raise ConfigError(
            f"no feature column is left (the label column is {label_column!r}; dropped: "
            f"{', '.join(d for d, _ in dropped) or 'none'})"
        )
    span = _span_days(columns[time_column], na_values) if time_column else None
    wait = (
        DEFAULT_LABEL_WAIT_DAYS
        if span is None
        else max(DEFAULT_LABEL_WAIT_DAYS, math.ceil(span) + 1.0)
    )
    return Inference(
        name, kind, classes, positive, label_column, key_column, time_column, na_values,
        tuple(numeric), tuple(categorical), tuple(dropped), len(rows), counts,
        len(rows) - len(labels), span, wait,
    )  # fmt: skip


def _span_days(cells: list[str | None], na_values: tuple[str, ...]) -> float | None:
    """Days between the oldest and newest readable time of `cells`."""
    times = []
    for cell in cells:
        if cell is None or cell in na_values:
            continue
        try:
            times.append(parse_time(cell).timestamp())
        except ValueError:
            continue
    return (max(times) - min(times)) / 86400.0 if times else None


def read_labels(
    cells: list[str], task: str, column: str, sampled: int
) -> tuple[TaskKind, tuple[Any, ...] | None, Any, tuple[tuple[Any, int], ...]]:
    """(task, classes, positive class, rows per class) from the label cells present."""
    if task != "auto" and task not in TASKS:
        raise ConfigError(f"--task {task!r} is not one of auto, {', '.join(TASKS)}")
    numbers = [_number(c) for c in cells]
    numeric = bool(cells) and all(n is not None for n in numbers)
    integers = numeric and all(n is not None and n.is_integer() for n in numbers)
    words = not numeric and all(c.lower() in ("true", "false") for c in cells)
    typed = [_typed(c, integers, words) for c in cells]
    distinct = len(set(numbers) if numeric else set(typed))
    where = f"label column {column!r} has {distinct} distinct value(s) in {sampled} sampled rows"
    if distinct < 2:
        raise ConfigError(f"{where}: nothing to learn (sample more with --sample-rows?)")
    if task == "auto":
        if distinct == 2:
            task = "binary"
        elif numeric and (not integers or distinct > MAX_INTEGER_CLASSES):
            task = "regression"
        else:
            task = "multiclass"
    if task == "regression":
        if not numeric:
            bad = next(c for c, n in zip(cells, numbers, strict=True) if n is None)
            raise ConfigError(
                f"label {bad[:80]!r} in column {column!r} is not a number: not a regression"
            )
        return "regression", None, None, ()
    if task == "binary" and distinct != 2:
        raise ConfigError(f"{where}: a binary task has two (--task multiclass or regression?)")
    if task == "multiclass" and distinct == 2:
        raise ConfigError(f"{where}: that is a binary task (--task binary)")
    if distinct > MAX_CLASSES:
        raise ConfigError(f"{where}: too many classes (is it a regression? --task regression)")
    counts = Counter(typed)
    classes = tuple(sorted(counts))
    positive = positive_class(classes) if task == "binary" else None
    return task, classes, positive, tuple((c, counts[c]) for c in classes)  # type: ignore[return-value]


def positive_class(classes: tuple[Any, ...]) -> Any:
    """A binary task's positive class: True, 1, a word of `POSITIVE_WORDS`, else the greater.

    >>> positive_class((False, True)), positive_class((-1, 1)), positive_class(("No", "Yes"))
    (True, 1, 'Yes')
    >>> positive_class(("cat", "dog"))
    'dog'
    """
    for c in classes:
        if c is True or (type(c) is int and c == 1):
            return c
    for word in POSITIVE_WORDS:
        for c in classes:
            if isinstance(c, str) and c.lower() == word:
                return c
    return classes[-1]


def model_name(stem: str) -> str:
    """A model name from a file's name: "Site Survey 2024" -> "site_survey_2024".

    >>> model_name("Site Survey (2024)"), model_name("2024-birds"), model_name("***")
    ('site_survey_2024', 'm_2024_birds', 'model')
    """
    name = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    if name and not name[0].isalpha():
        name = f"m_{name}"
    return name[:63].rstrip("_") or "model"


def _useless(column: str, cells: list[str]) -> str | None:
    """Why `column` cannot help a model, or None."""
    if not column.strip() or len(column) > 200:
        return "its name is empty or longer than 200 characters"
    if column in Record.model_fields:
        return f"named like a record field ({column!r}): rename the column to use it"
    if not cells:
        return "every sampled cell is missing"
    distinct = set(cells)
    if len(distinct) == 1:
        return f"the same value ({cells[0][:40]!r}) in every sampled row"
    numbers = [_number(c) for c in cells]
    if all(n is not None for n in numbers):
        values = [n for n in numbers if n is not None]
        if (
            len(values) >= ID_MIN_ROWS
            and all(n.is_integer() for n in values)
            and all(a < b for a, b in itertools.pairwise(values))
        ):
            return "a row number (integers that only increase)"
        return None
    if len(cells) >= ID_MIN_ROWS and len(distinct) >= ID_RATIO * len(cells):
        return f"an identifier or free text ({len(distinct)} distinct values in {len(cells)} rows)"
    return None


def _cell(value: Any) -> str | None:
    """A cell as text, stripped; None for a JSON null (missing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    return str(value) if isinstance(value, int | float) else repr(value)


def _number(cell: str) -> float | None:
    """The finite number a cell writes, or None ("1_000" and "inf" are text, as for humans)."""
    if "_" in cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _typed(cell: str, integers: bool, words: bool) -> Any:
    """A label cell as its class: an integer, a boolean (true/false), or the text."""
    if integers:
        return int(cell) if _INTEGER.match(cell) else int(float(cell))
    if words:
        return cell.lower() == "true"
    return cell
