"""What every event shares: an id, a subject key, a timezone-aware time, a schema version."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Features = dict[str, float]
"""The flat dict a river model sees: numbers (a record's categorical features are strings)."""


# Checked in pydantic-core (Rust), not by a Python callback: validation is on every hot path.
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
"""A float that is neither NaN nor infinite."""
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Identifier = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")]
ClassName = Annotated[str, Field(min_length=1, max_length=200)]
"""A class label written as text ("oak", "present"): any non-empty string up to 200 characters."""


class Contract(BaseModel):
    """Base of every schema model: frozen, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(Contract):
    """Base of every wire event."""

    KEY_FIELD: ClassVar[str] = "event_id"

    event_id: Identifier = Field(description="Unique, deterministic id of this event.")
    event_time: AwareDatetime = Field(description="When it happened (timezone-aware, ISO 8601).")

    @property
    def key(self) -> str:
        """The subject key: the Kafka message key, so one subject stays on one partition, in order."""
        return str(getattr(self, self.KEY_FIELD))

    def field_text(self, name: str) -> str:
        """A segment field's value as text: the field `name` of this event."""
        return str(getattr(self, name))
