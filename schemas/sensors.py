"""Habitat sensor telemetry: climate, soil, vegetation, acoustic and eDNA readings."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, field_validator

from lazarus.schemas.base import Contract, Event, Features, FiniteFloat, Identifier


class SensorKind(StrEnum):
    CLIMATE = "climate"
    SOIL = "soil"
    VEGETATION = "vegetation"
    ACOUSTIC = "acoustic"
    EDNA = "edna"


@dataclass(frozen=True)
class Measure:
    """A well-known measurement: its unit and the range a working sensor can report."""

    unit: str
    low: float
    high: float
    about: str


KNOWN_MEASUREMENTS: dict[str, Measure] = {
    "temperature_c": Measure("°C", -70.0, 65.0, "air temperature"),
    "relative_humidity": Measure("%", 0.0, 100.0, "relative humidity"),
    "precipitation_mm": Measure("mm", 0.0, 500.0, "rain in the last interval"),
    "wind_speed_m_s": Measure("m/s", 0.0, 120.0, "mean wind speed"),
    "soil_moisture": Measure("m³/m³", 0.0, 1.0, "volumetric water content"),
    "soil_temperature_c": Measure("°C", -50.0, 70.0, "soil temperature"),
    "soil_ph": Measure("pH", 0.0, 14.0, "soil acidity"),
    "ndvi": Measure("index", -1.0, 1.0, "normalised difference vegetation index"),
    "canopy_cover": Measure("fraction", 0.0, 1.0, "share of sky hidden by canopy"),
    "acoustic_index": Measure("index", 0.0, 1.0, "acoustic complexity index, normalised"),
    "sound_level_db": Measure("dB SPL", 0.0, 194.0, "sound pressure level"),
    "edna_copies_per_l": Measure("copies/L", 0.0, 1e12, "target eDNA copies per litre of water"),
}
"""Names with units and validated ranges. Any other name takes a finite value within
±`UNKNOWN_MEASUREMENT_LIMIT`."""

UNKNOWN_MEASUREMENT_LIMIT = 1e12
"""The range of a measurement with no known unit: ± the widest known range (eDNA copies per
litre). Beyond it a value is a fault, not a reading: 1e200 once drove StandardScaler's variance
to infinity and every weight to NaN."""

MEASUREMENT_NAME = r"^[a-z][a-z0-9_]{0,63}$"
MeasurementName = Annotated[str, StringConstraints(pattern=MEASUREMENT_NAME)]
"""snake_case, checked in pydantic-core."""


class Location(Contract):
    """A point on Earth (WGS 84)."""

    lat: FiniteFloat = Field(ge=-90.0, le=90.0, description="latitude, degrees")
    lon: FiniteFloat = Field(ge=-180.0, le=180.0, description="longitude, degrees")
    elevation_m: FiniteFloat | None = Field(
        None, ge=-500.0, le=9000.0, description="metres above sea level"
    )


_TAU = 2 * math.pi
_KNOWN_NAMES = tuple(KNOWN_MEASUREMENTS)
_KIND_FEATURE = {k: f"kind_{k.value}" for k in SensorKind}
_RANGES = {name: (m.low, m.high) for name, m in KNOWN_MEASUREMENTS.items()}
_UNKNOWN_RANGE = (-UNKNOWN_MEASUREMENT_LIMIT, UNKNOWN_MEASUREMENT_LIMIT)


def _out_of_range(name: str, value: float) -> str:
    known = KNOWN_MEASUREMENTS.get(name)
    if known is None:
        return (
            f"{name}={value} is outside ±{UNKNOWN_MEASUREMENT_LIMIT:g}, the range of a measurement "
            "with no known unit"
        )
    return f"{name}={value} is outside {known.low}..{known.high} {known.unit} ({known.about})"


MeasurementLayout = tuple[tuple[str, str], ...]
"""(feature name, measurement name) pairs, in feature order."""
_LAYOUTS: dict[tuple[str, ...], MeasurementLayout] = {}
_MAX_LAYOUTS, _MAX_CACHED_NAMES = 256, 32
"""Readings' measurement names come in a few sets (one per sensor model): the layouts of up to
256 sets of up to 32 names are kept (under 1 MB however odd the input); any other is worked
out per reading."""


def _measurement_layout(names: tuple[str, ...]) -> MeasurementLayout:
    """The well-known names first, in KNOWN_MEASUREMENTS order, as themselves; then the others,
    sorted, as `x_<name>`."""
    given = set(names)
    layout = tuple((n, n) for n in _KNOWN_NAMES if n in given) + tuple(
        (f"x_{n}", n) for n in sorted(given.difference(_KNOWN_NAMES))
    )
    if len(_LAYOUTS) < _MAX_LAYOUTS and len(names) <= _MAX_CACHED_NAMES:
        _LAYOUTS[names] = layout
    return layout


@functools.cache
def _jan1_ordinal(year: int) -> int:
    return date(year, 1, 1).toordinal()


class SensorReading(Event):
    """One reading of one sensor at one site. Key: `site_id` (a site's readings stay in order)."""

    KEY_FIELD: ClassVar[str] = "site_id"

    schema_version: Literal[1] = 1
    site_id: Identifier
    sensor_id: Identifier
    kind: SensorKind
    location: Location
    measurements: dict[MeasurementName, FiniteFloat] = Field(
        min_length=1,
        max_length=256,
        description="name -> value; well-known names carry units and ranges (see KNOWN_MEASUREMENTS)",
    )

    @field_validator("measurements")
    @classmethod
    def _check_measurements(cls, values: dict[str, float]) -> dict[str, float]:
        unknown = _UNKNOWN_RANGE
        for name, value in values.items():
            low, high = _RANGES.get(name, unknown)
            if not low <= value <= high:
                raise ValueError(_out_of_range(name, value))
        return values

    def to_features(self) -> Features:
        """The features of this reading; the only feature code trainer and scorer run."""
        t = self.event_time
        hour = (t.hour + t.minute / 60.0) / 24.0
        day = (t.toordinal() - _jan1_ordinal(t.year)) / 365.25  # day of the year, from 0
        loc = self.location
        feats: Features = {
            "hour_sin": math.sin(_TAU * hour),
            "hour_cos": math.cos(_TAU * hour),
            "season_sin": math.sin(_TAU * day),
            "season_cos": math.cos(_TAU * day),
            "lat": loc.lat,
            "lon": loc.lon,
            _KIND_FEATURE[self.kind]: 1.0,
        }
        m = self.measurements
        names = tuple(m)
        for feature, name in _LAYOUTS.get(names) or _measurement_layout(names):
            feats[feature] = m[name]
        return feats

    FEATURE_SPEC: ClassVar[tuple[str, ...]] = (
        "hour_sin",
        "hour_cos",
        "season_sin",
        "season_cos",
        "lat",
        "lon",
        *(f"kind_{k.value}" for k in SensorKind),
        *KNOWN_MEASUREMENTS,
        "x_*",
    )
