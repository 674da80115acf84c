"""A sensor reading's measurements: the range check and the feature layout, against their
definitions written out plainly (the schema keeps a cache of layouts and a table of ranges)."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError, field_validator

from lazarus.schemas.sensors import KNOWN_MEASUREMENTS, UNKNOWN_MEASUREMENT_LIMIT, SensorReading

KNOWN = sorted(KNOWN_MEASUREMENTS)
names = st.sampled_from(KNOWN) | st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


class Defined(SensorReading):
    """The range check as first written: a known name's range, else ± the limit."""

    @field_validator("measurements")
    @classmethod
    def _check_measurements(cls, values: dict[str, float]) -> dict[str, float]:
        limit = UNKNOWN_MEASUREMENT_LIMIT
        for name, value in values.items():
            known = KNOWN_MEASUREMENTS.get(name)
            if known is None:
                if not -limit <= value <= limit:
                    raise ValueError(
                        f"{name}={value} is outside ±{limit:g}, the range of a measurement "
                        "with no known unit"
                    )
            elif not known.low <= value <= known.high:
                raise ValueError(
                    f"{name}={value} is outside {known.low}..{known.high} {known.unit} ({known.about})"
                )
        return values


def defined_features(m: dict[str, float]) -> list[tuple[str, float]]:
    """The measurements' features as first written: well-known names in KNOWN_MEASUREMENTS
    order, then the others sorted, as `x_<name>`."""
    out = [(n, m[n]) for n in KNOWN_MEASUREMENTS if n in m]
    return out + [(f"x_{n}", m[n]) for n in sorted(m.keys() - KNOWN_MEASUREMENTS.keys())]


def raw(measurements: object) -> str:
    return (
        '{"event_id":"e","event_time":"2026-03-01T12:30:00+02:00","site_id":"s","sensor_id":"c",'
        '"kind":"soil","location":{"lat":1.5,"lon":2.5},"measurements":'
        + json.dumps(measurements)
        + "}"
    )


def outcome(model: type[SensorReading], text: str) -> object:
    try:
        return model.model_validate_json(text).measurements
    except ValidationError as exc:
        return [(e["loc"], e["msg"]) for e in exc.errors()]


values = (
    st.floats(-2e12, 2e12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([True, False, None, "1.0", "nan", 10**400, -(10**30), 2**63, 0, -0.0])
    | st.integers()
    | st.sampled_from([m.low for m in KNOWN_MEASUREMENTS.values()])
    | st.sampled_from([m.high for m in KNOWN_MEASUREMENTS.values()])
    | st.sampled_from([UNKNOWN_MEASUREMENT_LIMIT, -UNKNOWN_MEASUREMENT_LIMIT, 1.0000001e12])
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(names, values, max_size=6))
def test_the_range_check_accepts_and_rejects_as_defined(m: dict[str, object]) -> None:
    text = raw(m).replace("Infinity", "1e999")  # JSON has no Infinity: a number that overflows
    assert outcome(SensorReading, text) == outcome(Defined, text)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(names, st.floats(0.0, 1.0), min_size=1, max_size=40), st.randoms())
def test_features_are_laid_out_as_defined_in_any_key_order(
    m: dict[str, float], rnd: random.Random
) -> None:
    items = list(m.items())
    for _ in range(2):  # the second time from the layout cache (up to 32 names)
        rnd.shuffle(items)
        reading = SensorReading.model_validate_json(raw(dict(items)))
        features = list(reading.to_features().items())
        assert features[7:] == defined_features(dict(items))
        assert features[:7] == list(Defined.model_validate_json(raw(m)).to_features().items())[:7]
