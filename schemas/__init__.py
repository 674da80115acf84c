"""The contracts: event models, topics, and the one feature extraction trainer and scorer share.

Pure pydantic v2; no I/O. Every event is frozen, rejects unknown fields, and
states its units. `to_features()` on an input event is the single place where
train/serve skew could start, so both halves call it and nothing else.
"""

from __future__ import annotations

from lazarus.schemas.base import Event, Features
from lazarus.schemas.deadletter import DeadLetter
from lazarus.schemas.genomics import GenomicSample
from lazarus.schemas.outcomes import Outcome, OutcomeKind
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.sensors import KNOWN_MEASUREMENTS, Location, SensorKind, SensorReading

__all__ = [
    "KNOWN_MEASUREMENTS",
    "DeadLetter",
    "Event",
    "Features",
    "GenomicSample",
    "Location",
    "Outcome",
    "OutcomeKind",
    "Score",
    "SensorKind",
    "SensorReading",
    "score_id",
]
