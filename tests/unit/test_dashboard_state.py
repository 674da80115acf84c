"""The dashboard's pure part: rates from heartbeat deltas, the lag ring buffer, row shaping."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from lazarus.dashboard.state import (
    NO_QUALITY,
    GroupLag,
    LagHistory,
    VersionInfo,
    dead_letters,
    display_state,
    jsonable,
    model_view,
    role_rows,
    throughput,
    version_info,
)
from lazarus.rates import RateTracker, Reading, events_of, rate_between

NOW = 1_800_000_000.0


def beat(role: str, instance: str = "h-1", at: float = NOW, **fields: object) -> dict[str, str]:
    return {
        "role": role,
        "instance": instance,
        "pid": "123",
        "host": "h",
        "state": "running",
        "started_at": str(at - 60),
        "updated_at": str(at),
        **{k: str(v) for k, v in fields.items()},
    }


# -- rates ------------------------------------------------------------------------------------


def test_rate_is_the_counter_delta_over_the_heartbeat_clock_delta() -> None:
    assert rate_between(Reading(10.0, 100), Reading(12.0, 300)) == 100.0
    assert rate_between(Reading(10.0, 100), Reading(10.0, 300)) is None  # clock did not move
    assert rate_between(Reading(10.0, 100), Reading(12.0, 50)) is None  # counter reset


def test_events_counter_is_events_out_for_producers_and_events_in_for_the_rest() -> None:
    assert events_of({"events_out": "7", "events_in": "3"}) == 7
    assert events_of({"events_in": "3"}) == 3
    assert events_of({"events_in": ""}) is None
    assert events_of({}) is None


def test_rate_tracker_needs_two_heartbeats_and_ignores_repeats() -> None:
    tracker = RateTracker()
    key = ("scorer:habitat", "h-1")
    assert tracker.update([beat("scorer:habitat", at=NOW, events_in=100)]) == {key: None}
    assert tracker.update([beat("scorer:habitat", at=NOW + 2, events_in=500)]) == {key: 200.0}
    # The same heartbeat read again (the sampler outran the role) keeps the last rate.
    assert tracker.update([beat("scorer:habitat", at=NOW + 2, events_in=500)]) == {key: 200.0}
    assert tracker.update([beat("scorer:habitat", at=NOW + 4, events_in=500)]) == {key: 0.0}


def test_rate_tracker_per_instance_and_forgets_expired_roles() -> None:
    tracker = RateTracker()
    a, b = ("producer:sensors", "a"), ("producer:sensors", "b")
    tracker.update(
        [
            beat("producer:sensors", "a", NOW, events_out=0),
            beat("producer:sensors", "b", NOW, events_out=0),
        ]
    )
    rates = tracker.update(
        [
            beat("producer:sensors", "a", NOW + 1, events_out=50),
            beat("producer:sensors", "b", NOW + 2, events_out=50),
        ]
    )
    assert rates == {a: 50.0, b: 25.0}
    assert tracker.update([beat("producer:sensors", "a", NOW + 2, events_out=150)]) == {a: 100.0}
    # b expired and came back: it starts over, no rate from a stale reading.
    assert tracker.update([beat("producer:sensors", "b", NOW + 9, events_out=900)])[b] is None


def test_a_restarted_counter_gives_no_rate_until_the_next_pair() -> None:
    tracker = RateTracker()
    key = ("trainer:habitat", "h-1")
    tracker.update([beat("trainer:habitat", at=NOW, events_in=1000)])
    tracker.update([beat("trainer:habitat", at=NOW + 1, events_in=1100)])
    assert tracker.update([beat("trainer:habitat", at=NOW + 2, events_in=5)]) == {key: None}
    assert tracker.update([beat("trainer:habitat", at=NOW + 3, events_in=15)]) == {key: 10.0}


def test_a_stopped_role_is_at_zero() -> None:
    tracker = RateTracker()
    tracker.update([beat("scorer:habitat", at=NOW, events_in=0)])
    tracker.update([beat("scorer:habitat", at=NOW + 1, events_in=100)])
    stopped = beat("scorer:habitat", at=NOW + 2, events_in=120, state="stopped")
    assert tracker.update([stopped]) == {("scorer:habitat", "h-1"): 0.0}


# -- lag history --------------------------------------------------------------------------------


def test_lag_history_is_bounded_and_keeps_the_newest() -> None:
    history = LagHistory(size=3)
    for i in range(5):
        history.add(NOW + i, [GroupLag("g", i)])
    assert len(history) == 3
    series = history.series()
    assert series == {"at": [NOW + 2, NOW + 3, NOW + 4], "groups": {"g": [2, 3, 4]}}
    latest = history.latest()
    assert latest is not None and latest[1] == (GroupLag("g", 4),)


def test_lag_series_aligns_groups_that_come_and_go() -> None:
    history = LagHistory(size=10)
    history.add(NOW, [GroupLag("a", 5)])
    history.add(NOW + 1, [GroupLag("a", 3), GroupLag("b", 9)])
    history.add(NOW + 2, [GroupLag("b", None, error="broker down")])
    assert history.series()["groups"] == {"a": [5, 3, None], "b": [None, 9, None]}


def test_empty_lag_history() -> None:
    history = LagHistory()
    assert len(history) == 0 and history.latest() is None
    assert history.series() == {"at": [], "groups": {}}
    with pytest.raises(ValueError):
        LagHistory(size=0)


# -- roles --------------------------------------------------------------------------------------


def test_role_rows_shape_heartbeats() -> None:
    beats = [
        beat(
            "scorer:habitat",
            "s-1",
            NOW - 1,
            events_in=500,
            scored=490,
            dead_lettered=10,
            model_version=2,
            partitions=2,
            group="lazarus.scorer.habitat",
        ),
        beat("producer:sensors", "p-1", NOW - 0.5, events_out=1000),
        beat("scorer:habitat", "s-2", NOW, events_in=0, model_version=""),
    ]
    rows = role_rows(beats, {("scorer:habitat", "s-1"): 25.0}, NOW)
    assert [(r["role"], r["instance"]) for r in rows] == [
        ("producer:sensors", "p-1"),
        ("scorer:habitat", "s-1"),
        ("scorer:habitat", "s-2"),
    ]
    producer, serving, waiting = rows
    assert producer["events"] == 1000 and producer["events_per_s"] is None
    assert producer["model_version"] is None and producer["dead_lettered"] == 0
    assert producer["kind"] == "producer" and producer["target"] == "sensors"
    assert serving["state"] == "serving" and serving["model_version"] == 2
    assert serving["events_per_s"] == 25.0 and serving["dead_lettered"] == 10
    assert serving["beat_age_s"] == pytest.approx(1.0) and serving["uptime_s"] == pytest.approx(61)
    assert serving["details"] == {
        "group": "lazarus.scorer.habitat",
        "partitions": "2",
        "scored": "490",
    }
    assert waiting["state"] == "waiting for a snapshot"


def test_display_state_keeps_what_the_role_said_otherwise() -> None:
    assert display_state({"role": "trainer:habitat", "state": "running"}) == "running"
    assert display_state({"role": "scorer:habitat", "state": "stopped"}) == "stopped"
    assert display_state({}) == "unknown"


def test_throughput_and_dead_letters_sum_instances_per_role() -> None:
    rows: list[dict[str, Any]] = [
        {"role": "scorer:habitat", "events_per_s": 10.0, "dead_lettered": 1},
        {"role": "scorer:habitat", "events_per_s": None, "dead_lettered": 2},
        {"role": "scorer:habitat", "events_per_s": 5.0, "dead_lettered": 0},
        {"role": "trainer:habitat", "events_per_s": None, "dead_lettered": 0},
    ]
    assert throughput(rows) == [
        {"role": "scorer:habitat", "instances": 3, "events_per_s": 15.0},
        {"role": "trainer:habitat", "instances": 1, "events_per_s": None},
    ]
    assert dead_letters(rows) == [
        {"role": "scorer:habitat", "dead_lettered": 3},
        {"role": "trainer:habitat", "dead_lettered": 0},
    ]
    assert throughput([]) == [] and dead_letters([]) == []


# -- models -------------------------------------------------------------------------------------


def info(version: int, created_at: float, accuracy: float) -> VersionInfo:
    return VersionInfo(version, created_at, 100 * version, {"Accuracy": accuracy}, {})


HISTORY = [
    {
        "id": "2-0",
        "action": "publish",
        "version": "2",
        "previous": "1",
        "reason": "trainer published",
        "actor": "trainer",
        "at": str(NOW - 30),
    },
    {
        "id": "1-0",
        "action": "publish",
        "version": "1",
        "previous": "0",
        "reason": "trainer published",
        "actor": "trainer",
        "at": str(NOW - 90),
    },
]


def test_model_view_without_served_outcomes_says_so() -> None:
    roles = [
        {"role": "scorer:habitat", "instance": "s-1", "model_version": 2, "state": "serving"},
        {"role": "scorer:habitat", "instance": "s-2", "model_version": 1, "state": "serving"},
        {"role": "scorer:genomics", "instance": "g-1", "model_version": 7, "state": "serving"},
    ]
    view = model_view(
        "habitat",
        current=2,
        latest=2,
        pinned=None,
        versions=[1, 2],
        infos={1: info(1, NOW - 90, 0.6), 2: info(2, NOW - 30, 0.7)},
        history=HISTORY,
        quality=[],
        roles=roles,
        now=NOW,
    )
    assert view["quality_note"] == NO_QUALITY
    assert view["staleness_s"] == pytest.approx(30)
    assert view["served_by"] == [
        {"instance": "s-1", "version": 2, "state": "serving"},
        {"instance": "s-2", "version": 1, "state": "serving"},
    ]
    assert [v["version"] for v in view["versions"]] == [2, 1]
    newest = view["versions"][0]
    assert newest["current"] and newest["latest"] and newest["scorers"] == 1
    assert newest["prequential"] == {"Accuracy": 0.7}
    assert newest["served"] == {} and newest["served_n"] == 0 and newest["served_worse_by"] == {}
    assert view["served_overall"] is None
    assert view["metrics"] == ["Accuracy"]
    assert view["timeline"][0] == {
        "at": NOW - 30,
        "action": "publish",
        "version": 2,
        "previous": 1,
        "reason": "trainer published",
        "actor": "trainer",
        "line": None,
        "previous_line": None,
        "evidence": None,
    }
    assert view["timeline"][1]["previous"] is None  # nothing before v1


def test_model_view_puts_served_beside_prequential_with_how_much_worse() -> None:
    quality = [
        {
            "version": 1,
            "n": 40,
            "learned_before_served": 12,
            "position_unknown": 1,
            "served": {"Accuracy": 0.55, "LogLoss": 0.7},
            "prequential": {"Accuracy": 0.6, "LogLoss": 0.65},
            "served_worse_by": {"Accuracy": 0.05, "LogLoss": 0.05},
            "segments": {},
            "updated_at": NOW,
        },
        {  # a version trimmed from the store still shows its served quality
            "version": 0,
            "n": 3,
            "learned_before_served": 0,
            "position_unknown": 0,
            "served": {},
            "prequential": {},
            "served_worse_by": {},
            "segments": {},
            "updated_at": NOW,
        },
    ]
    overall = {
        "n": 43,
        "learned_before_served": 12,
        "position_unknown": 1,
        "served": {"Accuracy": 0.56},
        "prequential": {"Accuracy": 0.6},
        "served_worse_by": {"Accuracy": 0.04},
        "versions": [0, 1],
        "updated_at": NOW,
    }
    view = model_view(
        "habitat",
        current=1,
        latest=2,
        pinned=1,
        versions=[1, 2],
        infos={1: info(1, NOW - 90, 0.6), 2: info(2, NOW - 30, 0.7)},
        history=[],
        quality=quality,
        roles=[],
        now=NOW,
        overall=overall,
    )
    assert view["quality_note"] is None and view["served_overall"] == overall
    assert view["pinned"] == 1 and view["staleness_s"] == pytest.approx(90)
    assert view["metrics"] == ["Accuracy", "LogLoss"]
    by_version = {v["version"]: v for v in view["versions"]}
    assert set(by_version) == {0, 1, 2}
    v1 = by_version[1]
    assert v1["current"] and v1["pinned"] and not v1["latest"]
    assert v1["served_n"] == 40 and v1["served"]["Accuracy"] == 0.55
    assert v1["served_prequential"]["Accuracy"] == 0.6 and v1["served_worse_by"]["Accuracy"] == 0.05
    assert v1["learned_before_served"] == 12 and v1["position_unknown"] == 1
    assert not by_version[0]["stored"] and by_version[0]["created_at"] is None
    assert view["served_by"] == [] and view["timeline"] == []


def test_model_view_without_a_current_version() -> None:
    view = model_view(
        "genomics",
        current=None,
        latest=0,
        pinned=None,
        versions=[],
        infos={},
        history=[],
        quality=[],
        roles=[],
        now=NOW,
    )
    assert view["versions"] == [] and view["staleness_s"] is None
    assert view["quality_note"] == NO_QUALITY


def test_version_info_reads_a_manifest() -> None:
    from lazarus.schemas.manifest import JoinReport, SnapshotManifest

    manifest = SnapshotManifest(
        model="habitat",
        version=3,
        created_at=datetime.fromtimestamp(NOW, UTC),
        n_learned=1234,
        metrics={"Accuracy": 0.8, "LogLoss": None},
        rolling_metrics={"Accuracy": 0.75},
        trained_through={"t:0": 10},
        join=JoinReport(
            pending=0,
            joined=0,
            expired=0,
            evicted=0,
            unmatched=0,
            duplicate_outcomes=0,
            duplicate_features=0,
        ),
        invalid_events=0,
        schema_fingerprint="0" * 64,
        environment={},
        pipeline="x",
        blob_sha256="0" * 64,
        blob_bytes=1,
        signer="0" * 16,
    )
    assert version_info(manifest) == VersionInfo(
        3, NOW, 1234, {"Accuracy": 0.8, "LogLoss": None}, {"Accuracy": 0.75}
    )


def test_jsonable_makes_strict_json() -> None:
    value = jsonable({"a": [1.0, math.nan, {"b": math.inf}], "c": (None, "x", 2)})
    assert value == {"a": [1.0, None, {"b": None}], "c": [None, "x", 2]}
    json.dumps(value, allow_nan=False)


def test_a_shard_card_names_the_per_key_scorers_serving_its_partition() -> None:
    from lazarus.dashboard.models_view import scorers_of
    from lazarus.dashboard.roles_view import role_row

    beat = {
        "role": "scorer:habitat_sites",
        "instance": "h-1",
        "state": "running",
        "model_version": "",
        "served_shards": "0:v3,1:v12",
    }
    row = role_row(beat, None, 0.0)
    assert row["state"] == "serving" and row["served_shards"] == {0: 3, 1: 12}
    [served] = scorers_of("habitat_sites.shard1", [row])
    assert served["model_version"] == 12 and served["instance"] == "h-1"
    assert scorers_of("habitat_sites.shard2", [row]) == []
    assert scorers_of("habitat", [row]) == []
