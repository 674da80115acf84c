"""A label file for `lazarus produce vcf`: which individuals survived, row by row (pure).

A CSV with a header (or JSONL), read by `lazarus.recording.read_rows`: the column `sample`
(else the first column) names the individual as in the VCF's header, `label` says whether it
survived, and an optional `species` column gives its species (over `--species`).

Labels, case and surrounding spaces aside: `true`, `1`, `yes`, `y`, `alive`, `survived`,
`viable` mean survived; `false`, `0`, `no`, `n`, `dead`, `died`, `nonviable`, `non-viable`
did not. An empty cell, `na`, `n/a`, `nan`, `?` or `unknown` means not known yet: no outcome,
and not an error. Anything else, a sample named twice, or a row that cannot be read is an
error naming its line, dead-lettered by the shell.

>>> from lazarus.recording import Record
>>> rows = [Record(2, b"A,alive", {"sample": "A", "label": "alive"}),
...         Record(3, b"B,maybe", {"sample": "B", "label": "maybe"})]
>>> table = parse_labels(rows)
>>> table.labels["A"].survived, table.errors[0].line, table.errors[0].reason
(True, 3, "label 'maybe' is not one of true/false, 1/0, yes/no, alive/dead, survived/died, viable/nonviable (or empty: not known)")
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lazarus.recording import Record

SURVIVED = frozenset({"true", "1", "yes", "y", "alive", "survived", "viable"})
DIED = frozenset({"false", "0", "no", "n", "dead", "died", "nonviable", "non-viable"})
UNKNOWN = frozenset({"", "na", "n/a", "nan", "?", "unknown"})
_WORDS = "true/false, 1/0, yes/no, alive/dead, survived/died, viable/nonviable"


@dataclass(frozen=True)
class Label:
    """One row's label: the individual survived (True) or not (False)."""

    sample: str
    survived: bool
    line: int
    raw: bytes
    species: str | None = None


@dataclass(frozen=True)
class LabelError:
    """A row that gives no label: its line, its bytes, and why."""

    line: int
    raw: bytes
    reason: str


@dataclass
class LabelTable:
    """A label file read: labels by sample, rows with errors, and rows not known yet."""

    labels: dict[str, Label] = field(default_factory=dict)
    errors: list[LabelError] = field(default_factory=list)
    unknown: int = 0
    """Rows whose label is empty or `na`: read, not an error, no outcome."""
    has_species: bool = False
    """The file has a `species` column."""

    @property
    def rows(self) -> int:
        """Data rows read: labels + errors + unknown."""
        return len(self.labels) + len(self.errors) + self.unknown


def parse_labels(records: Iterable[Record]) -> LabelTable:
    """The label table of `records` (a label file's rows, in order); never raises for a row.

    Raises ValueError when the file has no `label` column (the first readable row shows the
    columns): no row could be used."""
    table = LabelTable()
    columns: tuple[str, str, str | None] | None = None
    for record in records:
        if record.row is None:
            table.errors.append(LabelError(record.line, record.raw, record.problem or "unreadable"))
            continue
        if columns is None:
            columns = label_columns(list(record.row))
            table.has_species = columns[2] is not None
        _add_row(table, record, columns)
    return table


def label_columns(header: list[str]) -> tuple[str, str, str | None]:
    """(sample, label, species or None) columns of `header`, matched without regard to case.
    ValueError when there is no `label` column.

    >>> label_columns(["Individual", "Label", "Species"])
    ('Individual', 'Label', 'Species')
    """
    by_name = {name.strip().lower(): name for name in header}
    if "label" not in by_name:
        shown = ", ".join(repr(h) for h in header) or "none"
        raise ValueError(f"no 'label' column (columns: {shown})")
    sample = by_name.get("sample", header[0])
    if sample == by_name["label"]:
        raise ValueError("the first column is 'label': name the sample column 'sample'")
    return sample, by_name["label"], by_name.get("species")


def survived(value: Any) -> bool | None:
    """True (survived), False (did not), None (not known yet); ValueError for anything else.

    >>> survived(" Alive "), survived(0), survived("NA")
    (True, False, None)
    """
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in SURVIVED:
        return True
    if text in DIED:
        return False
    if text in UNKNOWN:
        return None
    raise ValueError(f"label {str(value)[:80]!r} is not one of {_WORDS} (or empty: not known)")


def _add_row(table: LabelTable, record: Record, columns: tuple[str, str, str | None]) -> None:
    row = record.row
    assert row is not None
    sample_col, label_col, species_col = columns
    sample = str(row.get(sample_col) or "").strip()
    species = str(row.get(species_col) or "").strip() or None if species_col else None
    if not sample:
        reason = f"no sample in column {sample_col!r}"
        table.errors.append(LabelError(record.line, record.raw, reason))
        return
    if label_col not in row:
        table.errors.append(LabelError(record.line, record.raw, f"no {label_col!r} field"))
        return
    try:
        value = survived(row[label_col])
    except ValueError as exc:
        table.errors.append(LabelError(record.line, record.raw, str(exc)))
        return
    if sample in table.labels:
        first = table.labels[sample].line
        reason = (
            f"sample {sample!r} is labelled twice (first on line {first}): this row is left out"
        )
        table.errors.append(LabelError(record.line, record.raw, reason))
        return
    if value is None:
        table.unknown += 1
        return
    table.labels[sample] = Label(sample, value, record.line, record.raw, species)
