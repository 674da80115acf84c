"""The contracts: round-trips, fuzzing, validation rules, compatibility with published versions."""

from __future__ import annotations

import contextlib
import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from lazarus.schemas import DeadLetter, GenomicSample, Outcome, Score, SensorReading
from lazarus.schemas.fingerprint import schema_fingerprint
from lazarus.schemas.prequential import PrequentialBatch, PrequentialRecord
from lazarus.schemas.sensors import KNOWN_MEASUREMENTS, UNKNOWN_MEASUREMENT_LIMIT, SensorKind
from lazarus.schemas.topics import ALL_TOPICS, SENSOR_READINGS, by_name
from tests.conftest import FIXTURES

ident = st.from_regex(r"[A-Za-z0-9_.:\-]{1,40}", fullmatch=True)
aware = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3)), timezone(timedelta(hours=10))]),
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
frac = st.floats(0.0, 1.0)


@st.composite
def measurements(draw: st.DrawFn) -> dict[str, float]:
    known = draw(
        st.dictionaries(st.sampled_from(sorted(KNOWN_MEASUREMENTS)), st.just(0.0), max_size=4)
    )
    out = {}
    for name in known:
        m = KNOWN_MEASUREMENTS[name]
        out[name] = draw(st.floats(m.low, m.high))
    extra = draw(
        st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
            st.floats(-UNKNOWN_MEASUREMENT_LIMIT, UNKNOWN_MEASUREMENT_LIMIT),
            max_size=3,
        )
    )
    out.update({k: v for k, v in extra.items() if k not in KNOWN_MEASUREMENTS})
    if not out:
        out["temperature_c"] = 10.0
    return out


readings = st.builds(
    SensorReading,
    event_id=ident,
    event_time=aware,
    site_id=ident,
    sensor_id=ident,
    kind=st.sampled_from(list(SensorKind)),
    location=st.fixed_dictionaries({"lat": st.floats(-90, 90), "lon": st.floats(-180, 180)}),
    measurements=measurements(),
)
samples = st.builds(
    GenomicSample,
    event_id=ident,
    event_time=aware,
    individual_id=ident,
    species=ident,
    cohort_id=ident,
    called_sites=st.just(1000),
    observed_homozygous=st.integers(0, 1000),
    expected_homozygous=st.floats(0, 1000),
    observed_heterozygosity=frac,
    expected_heterozygosity=frac,
    inbreeding_f=st.none() | st.floats(-100, 1),
    inbreeding_f_roh=frac,
    missingness=frac,
    summary_methods=st.just("simulated"),
    on_target_edit_fraction=st.none() | frac,
    off_target_edit_count=st.none() | st.integers(0, 1000),
    mosaicism_fraction=st.none() | frac,
    sequencing_depth_x=st.none() | st.floats(0.01, 10_000),
)
outcomes = st.builds(
    Outcome,
    event_id=ident,
    event_time=aware,
    kind=st.sampled_from(["habitat_occupancy", "viability"]),
    subject=ident,
    event_ref=st.none() | ident,
    label=st.booleans() | finite,
)
scores = st.builds(
    Score,
    event_id=ident,
    event_time=aware,
    input_event_id=ident,
    subject=ident,
    model=ident,
    model_version=st.integers(1, 10**6),
    trained_through=st.dictionaries(ident, st.integers(0, 10**9)),
    prediction=st.none() | st.booleans() | finite,
    probabilities=st.none() | st.dictionaries(ident, frac),
    scored_at=aware,
    latency_ms=st.floats(0, 1e6),
)
dead_letters = st.builds(
    DeadLetter,
    event_id=ident,
    event_time=aware,
    stage=st.sampled_from(["producer", "trainer", "scorer"]),
    reason=st.text(max_size=200),
    error_class=ident,
    origin_topic=st.none() | ident,
    origin_partition=st.none() | st.integers(0, 100),
    origin_offset=st.none() | st.integers(0),
    payload=st.text(max_size=200),
)


@pytest.mark.parametrize(
    "strategy",
    [readings, samples, outcomes, scores, dead_letters],
    ids=["SensorReading", "GenomicSample", "Outcome", "Score", "DeadLetter"],
)
@given(data=st.data())
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_json_round_trip(strategy: st.SearchStrategy, data: st.DataObject) -> None:  # type: ignore[type-arg]
    event = data.draw(strategy)
    again = type(event).model_validate_json(event.model_dump_json())
    assert again == event


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    payload=st.dictionaries(
        st.sampled_from(
            [
                "event_id",
                "event_time",
                "site_id",
                "sensor_id",
                "kind",
                "location",
                "measurements",
                "schema_version",
                "label",
                "subject",
                "individual_id",
                "observed_heterozygosity",
                "extra",
            ]
        ),
        json_values,
        max_size=10,
    )
)
@settings(max_examples=300)
def test_fuzzed_payloads_only_raise_validation_error(payload: dict[str, object]) -> None:
    raw = json.dumps(payload, default=str)
    for topic in ALL_TOPICS:
        with contextlib.suppress(ValidationError):
            topic.decode(raw)


@given(raw=st.binary(max_size=200))
def test_fuzzed_bytes_only_raise_validation_error(raw: bytes) -> None:
    for topic in ALL_TOPICS:
        with contextlib.suppress(ValidationError):
            topic.decode(raw)


def _reading(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": "e1",
        "event_time": "2026-01-01T00:00:00Z",
        "site_id": "s1",
        "sensor_id": "c1",
        "kind": "climate",
        "location": {"lat": 1.0, "lon": 2.0},
        "measurements": {"temperature_c": 20.0},
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    "bad, why",
    [
        ({"measurements": {"temperature_c": float("nan")}}, "finite"),
        ({"measurements": {"x": float("inf")}}, "finite"),
        ({"measurements": {"temperature_c": 999.0}}, "outside"),
        ({"measurements": {"ndvi": 1.5}}, "outside"),
        ({"measurements": {"Bad Name": 1.0}}, "should match pattern"),
        ({"measurements": {}}, "at least 1"),
        ({"event_time": "2026-01-01T00:00:00"}, "timezone"),
        ({"kind": "sonar"}, "Input should be"),
        ({"unexpected": 1}, "Extra inputs"),
        ({"location": {"lat": 91, "lon": 0}}, "less than or equal"),
    ],
)
def test_invalid_readings_say_why(bad: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        SensorReading.model_validate(_reading(**bad))


def test_nan_in_json_is_rejected() -> None:
    with pytest.raises(ValidationError):
        SENSOR_READINGS.decode(
            b'{"event_id":"e","event_time":"2026-01-01T00:00:00Z","site_id":"s",'
            b'"sensor_id":"c","kind":"soil","location":{"lat":0,"lon":0},'
            b'"measurements":{"soil_ph":NaN}}'
        )


def test_unknown_finite_measurements_pass_through_as_features() -> None:
    r = SensorReading.model_validate(
        _reading(measurements={"temperature_c": 20.0, "logger_battery_v": 3.6})
    )
    feats = r.to_features()
    assert feats["temperature_c"] == 20.0 and feats["x_logger_battery_v"] == 3.6
    assert feats["kind_climate"] == 1.0
    assert all(isinstance(v, float) and math.isfinite(v) for v in feats.values())


def test_features_are_deterministic_and_ordered() -> None:
    r = SensorReading.model_validate(
        _reading(measurements={"zeta": 1.0, "alpha": 2.0, "ndvi": 0.3})
    )
    assert list(r.to_features())[-3:] == ["ndvi", "x_alpha", "x_zeta"]
    assert r.to_features() == r.to_features()


def test_events_are_frozen() -> None:
    r = SensorReading.model_validate(_reading())
    with pytest.raises(ValidationError):
        r.site_id = "other"  # type: ignore[misc]


def test_outcome_label_keeps_bool_and_float_apart() -> None:
    base = {
        "event_id": "o",
        "event_time": "2026-01-01T00:00:00Z",
        "kind": "viability",
        "subject": "i",
    }
    assert Outcome.model_validate({**base, "label": True}).label is True
    assert Outcome.model_validate({**base, "label": 0.25}).label == 0.25


def test_fingerprint_is_stable_and_sensitive() -> None:
    assert schema_fingerprint(SensorReading) == schema_fingerprint(SensorReading)
    assert schema_fingerprint(SensorReading) != schema_fingerprint(GenomicSample)
    assert len(schema_fingerprint(SensorReading)) == 64


def test_topics_are_declared_once_with_the_naming_pattern() -> None:
    import re

    names = [t.name for t in ALL_TOPICS]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+\.v\d+", name), name
    assert by_name("test.habitat.sensor_readings.v1", "test.") is SENSOR_READINGS
    with pytest.raises(KeyError):
        by_name("nope")


@pytest.mark.parametrize(
    "event",
    [SensorReading, GenomicSample, Outcome, Score, DeadLetter, PrequentialRecord, PrequentialBatch],
    ids=lambda e: e.__name__,
)
def test_current_models_read_every_published_version(event: type[BaseModel]) -> None:
    """Backward-transitive: frozen payloads of every published version still validate."""
    versions = sorted((FIXTURES / "schemas").glob(f"v*/{event.__name__}.json"))
    assert versions, f"no frozen fixtures for {event.__name__}"
    for path in versions:
        for payload in json.loads(path.read_text()):
            event.model_validate(payload)


def test_decode_many_returns_each_error_in_place_without_holding_the_batch() -> None:
    good = json.dumps(_reading()).encode()
    out_of_range = json.dumps(_reading(measurements={"temperature_c": 999.0})).encode()
    decoded = SENSOR_READINGS.decode_many([good, b"not json", out_of_range, good])
    assert [type(d).__name__ for d in decoded] == [
        "SensorReading",
        "ValidationError",
        "ValidationError",
        "SensorReading",
    ]
    # An error's traceback (and its validator's ValueError's) would hold the frame holding the
    # batch in a cycle: scorers and trainers would keep whole batches until a full collection.
    for err in decoded[1:3]:
        assert isinstance(err, ValidationError) and err.__traceback__ is None
        for detail in err.errors():
            inner = (detail.get("ctx") or {}).get("error")
            assert not isinstance(inner, BaseException) or inner.__traceback__ is None
    assert "outside" in str(decoded[2])


@pytest.mark.parametrize("value", [1e12, -1e12, 0.4])
def test_a_measurement_with_no_known_unit_takes_values_within_the_limit(value: float) -> None:
    reading = _reading_with({"leaf_wetness": value})
    assert reading.measurements["leaf_wetness"] == value


@pytest.mark.parametrize("value", [1e200, -1e13, 1.0000001e12])
def test_a_measurement_with_no_known_unit_beyond_the_limit_is_refused(value: float) -> None:
    with pytest.raises(ValidationError, match="range of a measurement with no known unit"):
        _reading_with({"leaf_wetness": value})


def _reading_with(measurements: dict[str, float]) -> SensorReading:
    return SensorReading.model_validate(
        {
            "event_id": "r1",
            "event_time": "2026-01-01T00:00:00Z",
            "site_id": "s",
            "sensor_id": "s-1",
            "kind": "soil",
            "location": {"lat": 1.0, "lon": 2.0},
            "measurements": measurements,
        }
    )
