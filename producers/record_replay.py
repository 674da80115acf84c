"""Replay of a recording as records of a model over tabular data, with outcomes typed by its task.

Pure: rows in (from `lazarus.recording`), validated events or errors out. A row's record
carries exactly the row's cells of the model's columns (`lazarus.schemas.records`): numbers for
numeric columns, text for categorical ones, and nothing for a cell that is an NA marker.
Nothing is added. Its label becomes an `Outcome` of kind `label`, typed as the model declares
its classes (`typed_label`); a label that is no class of the model is still sent, as text, and
the trainer dead-letters it with the reason, as it would any producer's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lazarus.errors import ConfigError
from lazarus.inputchecks import InputRejected, check_label
from lazarus.producers.replay import FALSE_WORDS, TRUE_WORDS, ReplayRow, reason_of
from lazarus.recording import parse_time
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.outcomes import Outcome, OutcomeKind
from lazarus.schemas.records import DEFAULT_SUBJECT, Record

NA_VALUES = ("", "NA", "N/A", "na", "n/a", "NaN", "nan", "null", "NULL", "None")
"""Cells read as missing when a replay has no spec file to say (a model named by import path);
a spec file's `na_values` are used exactly as written."""
_NOT_ID = re.compile(r"[^A-Za-z0-9_.:\-]+")


@dataclass(frozen=True)
class RecordLayout:
    """Where a recording keeps what a records model needs."""

    label_column: str | None = None
    key_column: str | None = None
    """The subject of each row; None: every row has the subject `all`."""
    time_column: str | None = None
    """ISO 8601 or epoch seconds; None: the time the row is sent."""
    na_values: tuple[str, ...] = NA_VALUES
    label_delay_s: float = 0.0


class RecordReplayer:
    """Rows into records: `RecordReplayer(contract, layout, digest).convert(...)`, as `Replayer`."""

    def __init__(self, contract: ModelContract, layout: RecordLayout, digest: str) -> None:
        """`ConfigError` if `contract` does not read records."""
        event = contract.inputs[0].event if len(contract.inputs) == 1 else None
        if event is None or not issubclass(event, Record) or not event.COLUMNS:
            raise ConfigError(
                f"model {contract.name!r} does not read records: replay sends a recording to a "
                "model whose spec file declares its columns (`lazarus spec init FILE ...`)"
            )
        self.record: type[Record] = event
        self.contract = contract
        self.layout = layout
        self.digest = digest
        self._na = frozenset(v.strip() for v in layout.na_values)
        self._classes = contract.label_classes

    def check_columns(self, header: list[str]) -> None:
        """`ConfigError` naming the first column the model needs that `header` lacks."""
        needed = [c.name for c in self.record.COLUMNS]
        layout = self.layout
        needed += [c for c in (layout.label_column, layout.key_column, layout.time_column) if c]
        missing = [c for c in needed if c not in header]
        if missing:
            raise ConfigError(
                f"column {missing[0]!r} of model {self.contract.name!r} is not in the recording "
                f"(its columns: {', '.join(header)[:300]})"
            )

    def convert(
        self, line: int, row: dict[str, Any], raw: bytes, now: datetime, loop: int = 0
    ) -> ReplayRow:
        """The row's record and outcome; any failure is the row's error, never a raise."""
        layout = self.layout
        try:
            at = (
                parse_time(row[layout.time_column], layout.time_column)
                if layout.time_column
                else now
            )
            subject = subject_of(row[layout.key_column]) if layout.key_column else DEFAULT_SUBJECT
            event_id = f"replay-{self.digest}-{loop}-{line}"
            record = self.record.model_validate(
                {
                    "event_id": event_id,
                    "event_time": at,
                    "subject": subject,
                    "values": self._values(row),
                }
            )
            outcome, problem = None, None
            cell = row.get(layout.label_column) if layout.label_column else None
            if cell is not None and not self._missing(cell):
                label = typed_label(cell, self._classes)
                problem = self._label_problem(label)
                outcome = Outcome(
                    event_id=f"{event_id}-outcome",
                    event_time=at + timedelta(seconds=layout.label_delay_s),
                    kind=OutcomeKind.LABEL,
                    subject=subject,
                    event_ref=event_id,
                    label=label,
                )
        except Exception as exc:  # one row's data must never stop a replay: it is dead-lettered
            return ReplayRow(line, raw, error=reason_of(exc), error_class=type(exc).__name__)
        return ReplayRow(line, raw, reading=record, outcome=outcome, label_problem=problem)

    def _label_problem(self, label: Any) -> str | None:
        """Why the trainer will refuse `label` (`lazarus.inputchecks.check_label`), or None."""
        try:
            check_label(label, self._classes, self.contract.name)
        except InputRejected as exc:
            return str(exc)
        return None

    def _missing(self, cell: Any) -> bool:
        return cell is None or (isinstance(cell, str) and cell.strip() in self._na)

    def _values(self, row: dict[str, Any]) -> dict[str, float | str | None]:
        out: dict[str, float | str | None] = {}
        for column in self.record.COLUMNS:
            cell = row.get(column.name)
            if self._missing(cell):
                continue
            if column.kind == "numeric":
                out[column.name] = number(cell, column.name)
            else:
                out[column.name] = cell.strip() if isinstance(cell, str) else _text(cell)
        return out


def number(cell: Any, column: str) -> float:
    """A numeric cell as a float; ValueError naming the column for text or a bool."""
    if isinstance(cell, bool):
        raise ValueError(f"column {column!r}: {cell!r} is not a number")
    try:
        return float(cell)
    except (TypeError, ValueError):
        raise ValueError(f"column {column!r}: {str(cell)[:80]!r} is not a number") from None


def typed_label(cell: Any, classes: tuple[Any, ...] | None) -> Any:
    """The class of `classes` that `cell` writes (a regression's: the number), else the cell's
    text, which the trainer dead-letters as no class of the model.

    >>> typed_label("-1", (-1, 1)), typed_label("present", ("absent", "present"))
    (-1, 'present')
    >>> typed_label("yes", (False, True)), typed_label("2.0", (0, 1, 2)), typed_label("3.5", None)
    (True, 2, 3.5)
    >>> typed_label("maybe", (False, True))
    'maybe'
    """
    if classes is None:
        try:
            value = float(cell) if not isinstance(cell, bool) else None
        except (TypeError, ValueError):
            value = None
        return value if value is not None and math.isfinite(value) else _text(cell)
    for c in classes:
        if _writes(cell, c):
            return c
    return _text(cell)


def _writes(cell: Any, cls: Any) -> bool:
    """Does a cell (CSV text, or a JSONL value) write class `cls`?"""
    if type(cell) is type(cls) and cell == cls:
        return True
    text = _text(cell).strip()
    if isinstance(cls, bool):
        return text.lower() in (TRUE_WORDS if cls else FALSE_WORDS)
    if isinstance(cls, int):
        try:
            value = float(text)
        except ValueError:
            return False
        return value == cls and value.is_integer()
    if isinstance(cls, float):
        try:
            return float(text) == cls
        except ValueError:
            return False
    return bool(text == cls)


def subject_of(cell: Any) -> str:
    """A key cell as a subject id: letters, digits and `_.:-`, others replaced by `_`
    ("Site 12" -> "Site_12"); an empty key is the default subject."""
    text = _NOT_ID.sub("_", _text(cell).strip())[:200]
    return text or DEFAULT_SUBJECT


def _text(cell: Any) -> str:
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)
