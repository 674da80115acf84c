"""A model's lifecycle as `lazarus status` and the dashboard read it (lazarus/lifecycle_view.py,
lifecycle_text.py), from records built by hand in the shapes the quality monitor and the
trainers write (quality/controller.py, quality/standing.py, trainer/drift_reports.py). Their
drawing and health: tests/unit/test_lifecycle_render.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from lazarus.cli.json_shapes import ModelStatus
from lazarus.lifecycle_view import LineupRecords, lifecycle, line_owners, read_lifecycles
from lazarus.registry.lineup import Baseline

NOW = 1_800_000_000.0
COMPARISON = {
    "n": 312,
    "metric": "Accuracy",
    "champion": 0.874,
    "challenger": 0.912,
    "difference": 0.038,
    "low": 0.011,
    "high": 0.066,
    "confidence": 0.95,
    "method": "mcnemar-exact",
    "p_value": 0.0081,
    "discordant": [10, 22],
}
GATE = {
    "model": "habitat",
    "at": NOW - 2,
    "metric": "Accuracy",
    "champion": {"line": "habitat", "version": 12},
    "held": False,
    "challengers": [
        {
            "line": "habitat.fresh",
            "version": 3,
            "events": 312,
            "not_honest": 40,
            "unjudgeable": 0,
            "comparison": COMPARISON,
            "state": "waiting",
            "reason": "312 of 500 judged events",
        },
        {"line": "habitat_gone", "version": 1, "events": 9, "state": "hold", "reason": "x"},
    ],
    "guard": {
        "served": {"line": "habitat", "version": 12},
        "baseline": {"line": "habitat", "version": 11, "since": NOW - 600},
        "line": "habitat",
        "version": 11,
        "events": 120,
        "not_honest": 3,
        "unjudgeable": 0,
        "comparison": {**COMPARISON, "n": 120, "difference": -0.01, "low": -0.05, "high": 0.03},
        "state": "waiting",
        "reason": "current better by -0.01: not yet clear of -0.02 either way",
    },
    "policy": {
        "promotion": {"min_events": 500, "margin": 0.0, "confidence": 0.95},
        "guard": {"min_events": 300, "margin": 0.02, "confidence": 0.95, "max_events": 5000},
    },
    "served_drift": {"detector": "ADWIN", "errors_seen": 4000},
}
DRIFT = {
    "event_id": "d1",
    "event_time": "2027-01-15T07:55:00+00:00",
    "model": "habitat",
    "line": "habitat",
    "source": "prequential",
    "detector": "ADWIN",
    "feature": None,
    "statistic": None,
    "p_value": None,
    "error_before": 0.12,
    "error_after": 0.31,
    "n_seen": 5400,
    "at_offsets": {"lazarus.sensor.readings.v1:0": 5400},
    "action": "challenger",
    "detected_at": "2027-01-15T07:55:00+00:00",
}
EVIDENCE = {
    "line": "habitat.fresh",
    "version": 3,
    "replaced": "habitat",
    "replaced_version": 12,
    "events": 812,
    "metric": "Accuracy",
    "champion": 0.874,
    "challenger": 0.912,
    "difference": 0.038,
    "interval": [0.021, 0.055],
    "confidence": 0.95,
    "method": "mcnemar-exact",
    "p_value": 0.0004,
    "discordant": [20, 51],
    "policy": {"min_events": 500, "margin": 0.0, "confidence": 0.95},
}
PROMOTION = {
    "kind": "promote",
    "at": NOW - 300,
    "line": "habitat.fresh",
    "version": 3,
    "reason": "promotion gate: challenger better by 0.038 on 812 events",
    "evidence": EVIDENCE,
}
ROLLBACK = {
    **PROMOTION,
    "kind": "rollback",
    "line": "habitat",
    "version": 11,
    "reason": "rollback guard: served worse by 0.05 on 400 events",
}


def records(**changes: Any) -> LineupRecords:
    fields: dict[str, Any] = {
        "model": "habitat",
        "champion": "habitat",
        "served": 12,
        "challengers": {"habitat.fresh": 3, "habitat_fast": None},
        "baseline": Baseline("habitat", 11, NOW - 600),
        "held": False,
        "drift": DRIFT,
        "action": PROMOTION,
        "gate": GATE,
    }
    return LineupRecords(**(fields | changes))


def bare(model: str = "viability") -> LineupRecords:
    return LineupRecords(model, model, 2, {}, None, False, {}, {}, {})


def status_model(
    name: str, life: dict[str, Any] | None, line_of: str | None = None
) -> dict[str, Any]:
    return {
        "model": name,
        "current": 12,
        "latest": 12,
        "pinned": None,
        "n_learned": 900,
        "staleness_s": 3.0,
        "metrics": {"Accuracy": 0.9},
        "served_quality": None,
        "line_of": line_of,
        "lifecycle": life,
    }


# -- the view ---------------------------------------------------------------------------------


def test_challengers_stand_by_the_gate_report_and_the_lineup_names_them() -> None:
    life = lifecycle(records())
    assert life["champion"] == {"line": "habitat", "version": 12}
    fresh, fast = life["challengers"]  # the lineup's, sorted; a line that left is not shown
    assert (fresh["line"], fresh["version"], fresh["events"], fresh["min_events"]) == (
        "habitat.fresh",
        3,
        312,
        500,
    )
    assert fresh["state"] == "waiting" and fresh["reason"] == "312 of 500 judged events"
    assert fresh["comparison"]["difference"] == 0.038 and fresh["comparison"]["low"] == 0.011
    # not judged yet: nothing measured, never 0
    assert fast == {
        "line": "habitat_fast",
        "version": None,
        "events": None,
        "min_events": 500,
        "comparison": None,
        "state": None,
        "reason": None,
    }
    assert life["baseline"] == {"line": "habitat", "version": 11, "since": NOW - 600}
    guard = life["guard"]
    assert (guard["state"], guard["events"], guard["min_events"], guard["max_events"]) == (
        "waiting",
        120,
        300,
        5000,
    )
    assert guard["served"] == {"line": "habitat", "version": 12}
    assert guard["comparison"]["difference"] == -0.01
    assert life["metric"] == "Accuracy" and life["judged_at"] == NOW - 2


def test_the_last_drift_and_action_read_both_time_forms_and_say_what_they_did() -> None:
    trainer_action = {  # trainer/drift_reports.py: ISO time, no version, the drift as evidence
        "kind": "challenger",
        "line": "habitat.fresh",
        "at": "2027-01-15T07:55:00+00:00",
        "evidence": DRIFT,
    }
    life = lifecycle(records(action=trainer_action))
    drift, action = life["last_drift"], life["last_action"]
    assert drift["at"] == pytest.approx(1_800_000_000 - 300)
    assert (drift["source"], drift["detector"], drift["line"], drift["n_seen"]) == (
        "prequential",
        "ADWIN",
        "habitat",
        5400,
    )
    assert drift["summary"] == "prequential error 0.120 -> 0.310 (ADWIN, 5,400 seen)"
    assert drift["did"] == "a fresh challenger started from the drift point"
    assert (action["kind"], action["version"], action["at"]) == ("challenger", None, drift["at"])
    assert action["summary"] == drift["summary"]

    promoted = lifecycle(records())["last_action"]
    assert (promoted["kind"], promoted["line"], promoted["version"]) == (
        "promote",
        "habitat.fresh",
        3,
    )
    assert promoted["at"] == NOW - 300
    assert promoted["summary"] == (
        "Accuracy 0.874 -> 0.912 (+0.038, 95% CI +0.021..+0.055, mcnemar-exact, p 0.0004) "
        "on 812 events"
    )
    assert promoted["evidence"]["discordant"] == [20, 51]


def test_a_feature_or_served_drift_alerts_only_whatever_the_policy() -> None:
    feature = {**DRIFT, "source": "features", "detector": "KS", "feature": "temp_c",
               "statistic": 0.21, "p_value": 3e-05, "error_before": None, "error_after": None}  # fmt: skip
    life = lifecycle(records(drift=feature))
    assert life["last_drift"]["did"] == "alert only"
    assert life["last_drift"]["summary"] == (
        "feature temp_c moved (KS statistic 0.21, p 3e-05, 5,400 seen)"
    )
    served = lifecycle(records(drift={**DRIFT, "source": "served", "action": "alert"}))
    assert served["last_drift"]["did"] == "alert only"


def test_a_model_with_no_lineup_has_itself_as_champion_and_nothing_yet() -> None:
    life = lifecycle(bare())
    assert life == {
        "champion": {"line": "viability", "version": 2},
        "challengers": [],
        "baseline": None,
        "guard": None,
        "held": False,
        "metric": None,
        "judged_at": None,
        "last_drift": None,
        "last_action": None,
    }
    ModelStatus.model_validate(status_model("viability", life))


def test_records_missing_keys_or_mistyped_never_fail() -> None:
    gate = {"challengers": [{"line": "habitat.fresh", "comparison": {"n": 3}}], "guard": {}}
    life = lifecycle(
        records(gate=gate, drift={"source": "served"}, action={"evidence": "not a dict"})
    )
    fresh = life["challengers"][0]
    assert (fresh["events"], fresh["comparison"], fresh["state"]) == (None, None, None)
    assert life["guard"] is None
    assert life["last_drift"]["at"] is None and life["last_drift"]["summary"] == (
        "served error – -> – (?)"
    )
    assert life["last_action"]["kind"] == "?" and life["last_action"]["summary"] == "–"
    ModelStatus.model_validate(status_model("habitat", life))


class FakeLineup:
    """`Lineup`'s reading side over dicts; a part stored as text that is not JSON raises on
    reading, as the real one does."""

    def __init__(self, parts: dict[tuple[str, str], Any], current: dict[str, int]) -> None:
        self.parts = parts
        self._current = current
        self.store = self

    def current(self, model: str) -> int | None:
        return self._current.get(model)

    def champion(self, model: str) -> str:
        return str(self.parts.get((model, "champion"), model))

    def challengers(self, model: str) -> list[str]:
        champion = self.champion(model)
        return sorted(x for x in self.parts.get((model, "challengers"), ()) if x != champion)

    def baseline(self, model: str) -> Baseline | None:
        raw = self.parts.get((model, "baseline"))
        if raw is None:
            return None
        data = json.loads(raw)
        return Baseline(data["line"], int(data["version"]), float(data["since"]))

    def held(self, model: str) -> bool:
        return bool(self.parts.get((model, "held")))

    def record(self, model: str, part: str) -> dict[str, Any]:
        raw = self.parts.get((model, part))
        return {} if raw is None else dict(json.loads(raw))

    def fail(self, *_: Any) -> None:
        raise redis.ConnectionError("Redis went away")


def test_read_lifecycles_names_lines_and_survives_a_corrupt_record() -> None:
    lineup = FakeLineup(
        {
            ("habitat", "champion"): "habitat_fast",
            ("habitat", "challengers"): {"habitat", "habitat_fast"},
            ("habitat", "baseline"): "{not json",
            ("habitat", "gate"): "[1, 2",
            ("habitat", "drift"): json.dumps(DRIFT),
        },
        {"habitat": 12, "habitat_fast": 8, "habitat.fresh": 1, "viability": 4},
    )
    names = ["habitat", "habitat.fresh", "habitat_fast", "viability"]
    lives = read_lifecycles(lineup, names)
    assert {n: v["line_of"] for n, v in lives.items()} == {
        "habitat": None,
        "habitat.fresh": "habitat",  # the drift-born line, before it joined
        "habitat_fast": "habitat",
        "viability": None,
    }
    habitat = lives["habitat"]["lifecycle"]
    assert habitat["champion"] == {"line": "habitat_fast", "version": 8}
    assert [c["line"] for c in habitat["challengers"]] == ["habitat"]
    assert habitat["baseline"] is None and habitat["guard"] is None  # unreadable: left out
    assert habitat["last_drift"]["detector"] == "ADWIN"
    assert lives["habitat_fast"]["lifecycle"] is None
    assert lives["viability"]["lifecycle"]["challengers"] == []

    lineup.held = lineup.fail  # type: ignore[method-assign,assignment]
    with pytest.raises(redis.ConnectionError):  # Redis failing is the caller's to report
        read_lifecycles(lineup, names)


def test_a_lineup_that_names_its_models_both_ways_makes_neither_a_line() -> None:
    a = LineupRecords("a", "a", 1, {"b": 1}, None, False, {}, {}, {})
    b = LineupRecords("b", "b", 1, {"a": 1}, None, False, {}, {}, {})
    assert line_owners({"a": a, "b": b}, ["a", "b"]) == {}
