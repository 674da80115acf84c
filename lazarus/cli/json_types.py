"""The value types of the CLI's JSON shapes (`lazarus.cli.json_shapes`): what a number, a
count and an instant are in every `--json` output, and how they are read from where Lazarus
keeps them (heartbeats and the audit stream hold text and epoch seconds); and the served
quality that `status` and `models show` both carry.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(Time).dump_json(TypeAdapter(Time).validate_python("1700000000.5")).decode()
'"2023-11-14T22:13:20.500000Z"'
>>> TypeAdapter(MaybeCount).validate_python("12.0"), TypeAdapter(MaybeCount).validate_python("")
(12, None)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


def _from_epoch(value: Any) -> Any:
    """Epoch seconds (a number, or its text as Redis returns it) as a UTC datetime; other
    values (datetimes, ISO text) go on to pydantic's own parsing."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return value


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _whole(value: Any) -> Any:
    """A count as it may come from a heartbeat (`"12"`, `"12.0"`, `12.0`) as an int."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str | float) and not isinstance(value, bool):
        number = float(value)
        return int(number) if number.is_integer() else value
    return value


def _blank_is_none(value: Any) -> Any:
    """A heartbeat writes None as an empty string."""
    return None if value in ("", b"") else value


Time = Annotated[datetime, BeforeValidator(_from_epoch), AfterValidator(_as_utc)]
"""An instant: ISO 8601 in UTC (`...Z`) in the output."""
Count = Annotated[int, BeforeValidator(_whole)]
"""A whole number (an event count, a version, an offset)."""
MaybeTime = Annotated[Time | None, BeforeValidator(_blank_is_none)]
MaybeCount = Annotated[Count | None, BeforeValidator(_blank_is_none)]
MaybeText = Annotated[str | None, BeforeValidator(_blank_is_none)]
Metrics = dict[str, float | None]
"""Metric name -> value; null where nothing has been measured yet."""


class Shape(BaseModel):
    """Base of every output shape: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Figures(Shape):
    """Served against prequential on the same `n` honest scores (`lazarus.quality_store`)."""

    n: Count = Field(description="honest scores: served before their version learned the event")
    served: Metrics = Field(description="metric name -> value of the scores served")
    prequential: Metrics = Field(description="the trainer's own, on the same events")
    served_worse_by: Metrics = Field(description="positive when serving a snapshot loses")


class QualityReport(Figures):
    learned_before_served: Count = Field(description="scores not judged: already learned")
    position_unknown: Count = Field(description="scores not judged: position not recorded")
    updated_at: Time = Field(description="when the quality monitor wrote it")


class VersionQuality(QualityReport):
    """One served version; `segments`: "field=value" -> that segment's figures."""

    version: Count
    segments: dict[str, Figures] = Field(description='"field=value" -> its figures')


class ModelQuality(QualityReport):
    """The model over every version that served any (`versions`)."""

    versions: list[Count] = Field(description="the versions that served judged scores")
