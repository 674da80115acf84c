"""Outcomes: the labels that arrive days after the features they judge."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field, StrictBool, StrictInt

from lazarus.schemas.base import ClassName, Event, FiniteFloat, Identifier


class OutcomeKind(StrEnum):
    HABITAT_OCCUPANCY = "habitat_occupancy"
    """Was the released cohort present at the site (bool)?"""
    VIABILITY = "viability"
    """Did the individual survive (bool), or a viability score (float)?"""
    LABEL = "label"
    """The label of a record (a model spec file's model): a class as declared, or a number."""


class Outcome(Event):
    """A label for a subject. Key: `subject` (same key as the features, so same partition)."""

    KEY_FIELD: ClassVar[str] = "subject"

    schema_version: Literal[1] = 1
    kind: OutcomeKind
    subject: Identifier = Field(
        description="subject key of the features it labels (site or individual)"
    )
    event_ref: Identifier | None = Field(
        None, description="event_id of the exact features it labels; absent: the subject's latest"
    )
    label: StrictBool | StrictInt | FiniteFloat | ClassName = Field(
        description="a class as the model declares it (true/false, an integer or a string), "
        "or a number for a regression"
    )
