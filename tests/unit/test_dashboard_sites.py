"""The site map's pure part (`sites_view`) and its feed fed by hand (`sites_feed.take`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from lazarus.dashboard.sites_feed import SitesFeed
from lazarus.dashboard.sites_view import (
    LatestBySite,
    Located,
    Scale,
    Scored,
    located_inputs,
    model_sites,
    read_location,
    read_score,
    scale_of,
    score_value,
)
from lazarus.schemas.models import HABITAT, VIABILITY
from lazarus.settings import Settings

T0 = 1_800_000_000.0
PREFIX = "map."
READINGS = f"{PREFIX}habitat.sensor_readings.v1"
SCORES = f"{PREFIX}habitat.scores.v1"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def reading(site: str, lat: float, lon: float, at: float) -> bytes:
    return json.dumps(
        {
            "event_id": f"{site}-{at}",
            "event_time": iso(at),
            "site_id": site,
            "sensor_id": f"{site}-climate-0",
            "kind": "climate",
            "location": {"lat": lat, "lon": lon},
            "measurements": {"temperature_c": 12.0},
        }
    ).encode()


def score(site: str, p: float, version: int, at: float) -> bytes:
    return json.dumps(
        {
            "event_id": f"s-{site}-{at}",
            "event_time": iso(at),
            "input_event_id": f"{site}-{at}",
            "subject": site,
            "model": "habitat",
            "model_version": version,
            "trained_through": {},
            "prediction": p >= 0.5,
            "probabilities": {"False": 1 - p, "True": p},
            "scored_at": iso(at),
            "latency_ms": 1.0,
        }
    ).encode()


@dataclass
class Msg:
    """The part of a consumed Kafka message the feed reads."""

    _topic: str
    _value: bytes | None
    _error: Any = None

    def topic(self) -> str:
        return self._topic

    def value(self) -> bytes | None:
        return self._value

    def error(self) -> Any:
        return self._error


# -- the bounded book ---------------------------------------------------------------------------


def test_book_keeps_the_newest_value_per_site() -> None:
    book = LatestBySite[str](limit=10)
    assert book.put("a", "v1", at=10.0)
    assert book.put("a", "v2", at=12.0)
    assert not book.put("a", "late", at=11.0)  # older than what it holds: dropped
    assert book.put("a", "same time, later call", at=12.0)
    assert book.get("a") == "same time, later call"
    assert book.get("nowhere") is None
    assert len(book) == 1


def test_book_is_bounded_and_evicts_the_site_updated_longest_ago() -> None:
    book = LatestBySite[int](limit=3)
    for i, site in enumerate("abc"):
        book.put(site, i, at=float(i))
    book.put("a", 10, at=10.0)  # "a" is now the freshest
    book.put("d", 4, at=4.0)
    assert dict(book.items()) == {"c": 2, "a": 10, "d": 4}  # "b" went first
    for i in range(1000):
        book.put(f"s{i}", i, at=100.0 + i)
    assert len(book) == 3
    assert dict(book.items()) == {"s997": 997, "s998": 998, "s999": 999}
    assert book.evicted == 1001


def test_a_book_keeps_at_least_one_site() -> None:
    with pytest.raises(ValueError, match="at least one site"):
        LatestBySite[int](limit=0)


# -- reading messages ---------------------------------------------------------------------------


def test_read_location_takes_the_key_field_location_and_time() -> None:
    assert read_location(reading("s1", 51.5, -0.12, T0), "site_id") == (
        "s1",
        Located(51.5, -0.12, T0),
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        None,
        b'{"site_id": "s1", "event_time": "2025-01-01T00:00:00+00:00"}',
        b'{"site_id": "s1", "event_time": "yesterday", "location": {"lat": 1, "lon": 2}}',
        b'{"site_id": "s1", "event_time": "2025-01-01T00:00:00+00:00", "location": {"lat": 1, "lon": 200}}',
        b'{"site_id": "s1", "event_time": "2025-01-01T00:00:00+00:00", "location": {"lat": true, "lon": 2}}',
        b'{"site_id": 7, "event_time": "2025-01-01T00:00:00+00:00", "location": {"lat": 1, "lon": 2}}',
    ],
)
def test_read_location_skips_what_is_not_a_located_reading(raw: bytes | None) -> None:
    assert read_location(raw, "site_id") is None


def test_read_score_colours_by_the_positive_class() -> None:
    scale = scale_of(HABITAT)
    subject, scored = read_score(score("s1", 0.8, 3, T0), scale) or ("", None)
    assert subject == "s1"
    assert scored == Scored(0.8, True, 3, T0)
    assert read_score(b'{"subject": "s1", "model_version": "3"}', scale) is None
    assert read_score(b"{}", scale) is None


def test_score_value_per_kind_of_model() -> None:
    binary = Scale("probability", "P(present)", positive_key="present")
    assert score_value(binary, "absent", {"present": 0.3, "absent": 0.7}) == 0.3
    assert score_value(binary, "present", {}) == 1.0  # no probabilities: from the prediction
    assert score_value(binary, None, {}) is None
    assert score_value(Scale("value", "predicted value"), 3.25, {}) == 3.25
    assert score_value(Scale("value", "predicted value"), "x", {}) is None
    multi = Scale("class", "predicted class", classes=("oak", "ash", "elm"))
    assert score_value(multi, "ash", {"oak": 0.2, "ash": 0.7, "elm": 0.1}) == 0.7


def test_scales_of_binary_multiclass_and_regression_models() -> None:
    assert scale_of(HABITAT) == Scale("probability", "P(True)", positive_key="True")
    multi = replace(HABITAT, name="trees", classes=("oak", "ash", "elm"))
    assert scale_of(multi) == Scale("class", "predicted class", classes=("oak", "ash", "elm"))
    regression = replace(HABITAT, name="cover", task="regression", metrics=("MAE",))
    assert scale_of(regression) == Scale("value", "predicted value")


def test_only_inputs_with_a_location_are_mapped() -> None:
    assert [t.name for t in located_inputs(HABITAT)] == ["habitat.sensor_readings.v1"]
    assert located_inputs(VIABILITY) == ()


# -- one model's map ----------------------------------------------------------------------------


def test_model_sites_places_scored_and_unscored_sites() -> None:
    where = {"s2": Located(-33.9, 151.2, T0), "s1": Located(51.5, -0.1, T0)}
    scores = {"s1": Scored(0.8, True, 2, T0 + 5), "elsewhere": Scored(0.1, False, 2, T0)}
    view = model_sites(HABITAT, PREFIX, [where], scores)
    assert view["mappable"] and view["note"] is None
    assert view["inputs"] == [READINGS] and view["scores_topic"] == SCORES
    assert view["scale"] == {"kind": "probability", "label": "P(True)", "min": 0.0, "max": 1.0}
    assert view["sites"] == [
        {
            "site": "s1",
            "lat": 51.5,
            "lon": -0.1,
            "seen_at": T0,
            "score": 0.8,
            "prediction": True,
            "model_version": 2,
            "scored_at": T0 + 5,
        },
        {
            "site": "s2",
            "lat": -33.9,
            "lon": 151.2,
            "seen_at": T0,
            "score": None,
            "prediction": None,
            "model_version": None,
            "scored_at": None,
        },
    ]
    assert (view["scored"], view["unplaced"]) == (1, 1)


def test_model_sites_takes_the_newest_location_over_its_inputs() -> None:
    old, new = {"s1": Located(1.0, 1.0, T0)}, {"s1": Located(2.0, 2.0, T0 + 1)}
    for books in ([old, new], [new, old]):
        sites = model_sites(HABITAT, PREFIX, books, {})["sites"]
        assert [(s["lat"], s["lon"]) for s in sites] == [(2.0, 2.0)]


def test_a_model_with_nothing_to_draw_says_why() -> None:
    empty = model_sites(HABITAT, PREFIX, [{}], {})
    assert empty["mappable"] and empty["sites"] == []
    assert empty["note"] == f"no reading with a location yet on {READINGS}"
    genomic = model_sites(VIABILITY, PREFIX, [], {})
    assert not genomic["mappable"]
    assert genomic["note"] == f"its inputs ({PREFIX}genomics.samples.v1) carry no location: no map"


def test_a_regression_scale_spans_the_values_shown() -> None:
    regression = replace(HABITAT, name="cover", task="regression", metrics=("MAE",))
    where = {s: Located(0.0, float(i), T0) for i, s in enumerate("abc")}
    scores = {"a": Scored(2.5, 2.5, 1, T0), "b": Scored(-1.0, -1.0, 1, T0)}
    view = model_sites(regression, PREFIX, [where], scores)
    assert view["scale"] == {"kind": "value", "label": "predicted value", "min": -1.0, "max": 2.5}


# -- the feed, fed by hand ----------------------------------------------------------------------


def feed(limit: int = 100) -> SitesFeed:
    return SitesFeed(Settings(topic_prefix=PREFIX), limit=limit)


def habitat(state: dict[str, Any]) -> dict[str, Any]:
    model: dict[str, Any] = next(m for m in state["models"] if m["model"] == "habitat")
    return model


def test_the_feed_reads_the_located_inputs_and_the_scores_of_the_built_in_models() -> None:
    f = feed()
    assert f.topics == [READINGS, SCORES]  # viability's inputs carry no location
    taken = f.take(
        [
            Msg(READINGS, reading("s1", 10.0, 20.0, T0)),
            Msg(READINGS, reading("s1", 11.0, 21.0, T0 + 60)),  # the site moved: newest wins
            Msg(READINGS, reading("s2", -10.0, -20.0, T0)),
            Msg(SCORES, score("s1", 0.9, 4, T0 + 61)),
            Msg(SCORES, score("s1", 0.2, 3, T0 + 30)),  # an older score arrives late: dropped
            Msg(READINGS, b"garbage"),
            Msg(SCORES, None, _error="a broker error event"),
        ]
    )
    assert taken == 6 and f.messages == 6
    state = f.state()
    assert state["error"] is None and state["limit"] == 100
    sites = {s["site"]: s for s in habitat(state)["sites"]}
    assert (sites["s1"]["lat"], sites["s1"]["lon"]) == (11.0, 21.0)
    assert (sites["s1"]["score"], sites["s1"]["model_version"]) == (0.9, 4)
    assert sites["s2"]["model_version"] is None
    viability = next(m for m in state["models"] if m["model"] == "viability")
    assert not viability["mappable"]


def test_the_feed_keeps_at_most_limit_sites_the_newest() -> None:
    f = feed(limit=5)
    f.take(Msg(READINGS, reading(f"s{i:02d}", 1.0, float(i), T0 + i)) for i in range(12))
    f.take(Msg(SCORES, score(f"s{i:02d}", 0.5, 1, T0 + i)) for i in range(12))
    sites = habitat(f.state())["sites"]
    assert [s["site"] for s in sites] == ["s07", "s08", "s09", "s10", "s11"]
    assert all(s["model_version"] == 1 for s in sites)
