"""Replay of real recordings as sensor readings of the habitat model, with outcomes from a
label column. (A recording of any other data goes to its own model as records:
`producers.record_replay`.)

Pure: rows in (from `lazarus.recording`), validated payloads or errors out.
Works on any numeric table: every column that is not the key, label or time
becomes a measurement (renamed to snake_case, or by `rename`), and a row whose
values fail the schema is an error with its line number, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from lazarus.recording import parse_time
from lazarus.schemas import Outcome, SensorReading
from lazarus.schemas.base import Event

DEFAULT_SITE = "replay"
"""A reading's site when the recording has no key column: one site, not one per row (a site is
a subject and a segment: one per row made a thousand segments of a thousand-row file)."""
TRUE_WORDS = {"1", "true", "yes", "y", "t", "present", "occupied", "alive"}
FALSE_WORDS = {"0", "false", "no", "n", "f", "absent", "unoccupied", "dead"}


@dataclass(frozen=True)
class ReplayConfig:
    key_column: str | None = None
    label_column: str | None = None
    time_column: str | None = None
    columns: tuple[str, ...] = ()
    """Measurement columns (empty: every other column)."""
    exclude: tuple[str, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    kind: str = "climate"
    sensor_id: str = "replay"
    lat: float = 0.0
    lon: float = 0.0
    label_delay_s: float = 0.0


@dataclass(frozen=True)
class ReplayRow:
    """One row's outcome: a reading (and maybe an outcome), or an error."""

    line: int
    raw: bytes
    reading: Event | None = None
    """The row's input event: a sensor reading, or a record of a records model."""
    outcome: Outcome | None = None
    error: str | None = None
    error_class: str | None = None
    label_problem: str | None = None
    """The outcome's label is no class of the model: it is sent all the same (the trainer
    dead-letters it with this reason), but `--strict` stops at it."""


def measurement_name(column: str) -> str:
    """snake_case, as the schema wants.

    >>> measurement_name("Air Temp (°C)")
    'air_temp_c'
    >>> measurement_name("2m_wind")
    'm_2m_wind'
    """
    name = re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"m_{name}"
    return name[:64]


def parse_label(value: Any) -> bool | float:
    """Booleans from the usual words and 0/1; any other number as a float (regression)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return float(text)


class Replayer:
    """Turns rows into payloads: `Replayer(cfg, digest).convert(line, row, raw, now, loop)`."""

    def __init__(self, cfg: ReplayConfig, digest: str) -> None:
        self.cfg = cfg
        self.digest = digest
        self._skip = {c for c in (cfg.key_column, cfg.label_column, cfg.time_column) if c}
        self._skip |= set(cfg.exclude)

    def convert(
        self, line: int, row: dict[str, Any], raw: bytes, now: datetime, loop: int = 0
    ) -> ReplayRow:
        """The row's reading and outcome; any failure is the row's error, never a raise."""
        cfg = self.cfg
        try:
            missing = [c for c in self._skip - set(cfg.exclude) if c not in row]
            if missing:
                raise KeyError(f"column {missing[0]!r} is not in this row")
            measurements = self._measurements(row)
            at = parse_time(row[cfg.time_column], cfg.time_column) if cfg.time_column else now
            key = str(row[cfg.key_column]).strip() if cfg.key_column else DEFAULT_SITE
            event_id = f"replay-{self.digest}-{loop}-{line}"
            reading = SensorReading.model_validate(
                {
                    "event_id": event_id,
                    "event_time": at,
                    "site_id": key,
                    "sensor_id": cfg.sensor_id,
                    "kind": cfg.kind,
                    "location": {"lat": cfg.lat, "lon": cfg.lon},
                    "measurements": measurements,
                }
            )
            outcome = None
            if cfg.label_column is not None and str(row[cfg.label_column]).strip() != "":
                outcome = Outcome.model_validate(
                    {
                        "event_id": f"{event_id}-outcome",
                        "event_time": at + timedelta(seconds=cfg.label_delay_s),
                        "kind": "habitat_occupancy",
                        "subject": key,
                        "event_ref": event_id,
                        "label": parse_label(row[cfg.label_column]),
                    }
                )
        except Exception as exc:  # one row's data must never stop a replay: it is dead-lettered
            return ReplayRow(line, raw, error=reason_of(exc), error_class=type(exc).__name__)
        return ReplayRow(line, raw, reading=reading, outcome=outcome)

    def _measurements(self, row: dict[str, Any]) -> dict[str, float]:
        names = self.cfg.columns or tuple(c for c in row if c not in self._skip)
        out: dict[str, float] = {}
        for column in names:
            if column not in row:
                raise KeyError(f"column {column!r} is not in this row")
            value = row[column]
            if value is None or (isinstance(value, str) and value.strip() == ""):
                continue  # a missing reading, not an error
            if isinstance(value, bool):
                raise ValueError(f"column {column!r}: {value!r} is not a number")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"column {column!r}: {value!r} is not a number") from None
            out[self.cfg.rename.get(column, measurement_name(column))] = number
        if not out:
            raise ValueError("the row has no measurement values")
        return out


def reason_of(exc: Exception) -> str:
    """A row's error as a dead letter's reason: a validation error's first three problems."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        return "; ".join(parts)[:4000]
    if isinstance(exc, KeyError):
        return str(exc.args[0])[:4000]
    return str(exc)[:4000] or type(exc).__name__
