"""`lazarus status` shows each model's lifecycle (issue #17, item 6): a lineup written through
`Lineup` on the real Redis (a challenger line, a baseline, the quality monitor's gate report, a
drift, an automatic rollback) read back by the CLI as a user runs it, `--json` validated against
its exported schema; a model with no lineup shows no challengers and nothing yet."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import jsonschema
import redis

from lazarus.cli.json_schemas import cli_schema
from lazarus.registry.lineup import Baseline, Lineup
from lazarus.schemas.drift import DriftEvent
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.integration.scorerkit import ModelMaker
from tests.integration.trainerkit import store_of, with_keys

FRESH = "habitat.fresh"


def gate_report(at: float) -> dict[str, Any]:
    """The quality monitor's gate report, in the shape quality/standing.py writes it."""
    cmp = {
        "n": 240,
        "metric": "Accuracy",
        "champion": 0.8,
        "challenger": 0.85,
        "difference": 0.05,
        "low": 0.01,
        "high": 0.09,
        "confidence": 0.95,
        "method": "mcnemar-exact",
        "p_value": 0.02,
        "discordant": [8, 20],
    }
    return {
        "model": "habitat",
        "at": at,
        "metric": "Accuracy",
        "champion": {"line": "habitat", "version": 1},
        "held": False,
        "challengers": [
            {
                "line": FRESH,
                "version": 1,
                "events": 240,
                "not_honest": 12,
                "unjudgeable": 0,
                "comparison": cmp,
                "state": "waiting",
                "reason": "240 of 500 judged events",
            }
        ],
        "guard": {
            "served": {"line": "habitat", "version": 1},
            "baseline": {"line": "habitat", "version": 1, "since": at},
            "state": "idle",
            "reason": "serving the baseline",
        },
        "policy": {
            "promotion": {"min_events": 500, "margin": 0.0, "confidence": 0.95},
            "guard": {"min_events": 300, "margin": 0.02, "confidence": 0.95, "max_events": 5000},
        },
        "served_drift": {"detector": "ADWIN", "errors_seen": 900},
    }


def drift() -> dict[str, Any]:
    """The trainer's last-drift record: a DriftEvent's JSON (trainer/drift_reports.py)."""
    now = datetime.now(UTC)
    event = DriftEvent(
        event_id="d" * 32,
        event_time=now,
        model="habitat",
        line="habitat",
        source="prequential",
        detector="ADWIN",
        error_before=0.1,
        error_after=0.3,
        n_seen=1500,
        at_offsets={"lazarus.sensor.readings.v1:0": 1500},
        action="challenger",
        detected_at=now,
    )
    return event.model_dump(mode="json")


def test_status_shows_the_lineup_its_comparison_the_last_drift_and_rollback(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    maker = ModelMaker(s)
    maker.publish()
    maker.publish()
    store = store_of(s)
    sealed, _ = maker.sealed_next()
    for line in (FRESH, "viability"):  # a challenger line, and a model with no lineup
        assert store.publish(line, 1, sealed, 10).outcome == "ok"

    client = redis.Redis.from_url(s.redis_url_value)
    lineup = Lineup(client, s.redis_key_prefix)
    lineup.join("habitat", FRESH)
    lineup.set_baseline("habitat", "habitat", 1)
    lineup.write("habitat", "drift", drift())
    evidence = {"events": 400, "metric": "Accuracy", "champion": 0.82, "challenger": 0.71,
                "difference": -0.11, "interval": [-0.15, -0.07], "confidence": 0.95,
                "method": "mcnemar-exact", "p_value": 1e-6}  # fmt: skip
    reason = "rollback guard: served worse by 0.11 on 400 events"
    base = Baseline("habitat", 1, time.time())
    assert lineup.rollback("habitat", base, reason, "quality-monitor", evidence) == "ok"
    action = {"kind": "rollback", "at": time.time(), "line": "habitat", "version": 1}
    lineup.write("habitat", "action", action | {"reason": reason, "evidence": evidence})
    lineup.write("habitat", "gate", gate_report(time.time()))
    client.close()

    env = cli_env(s)
    result = lazarus("status", "--json", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, cli_schema("status"))
    models = {m["model"]: m for m in data["models"]}
    assert set(models) == {"habitat", FRESH, "viability"}
    assert models[FRESH]["line_of"] == "habitat" and models[FRESH]["lifecycle"] is None

    life = models["habitat"]["lifecycle"]
    assert life["champion"] == {"line": "habitat", "version": 1}  # rolled back to v1, pinned
    assert models["habitat"]["pinned"] == 1
    (fresh,) = life["challengers"]
    assert (fresh["line"], fresh["version"], fresh["events"], fresh["min_events"]) == (
        FRESH,
        1,
        240,
        500,
    )
    assert fresh["state"] == "waiting" and fresh["comparison"]["difference"] == 0.05
    assert life["baseline"]["line"] == "habitat" and life["baseline"]["version"] == 1
    assert life["guard"]["state"] == "idle" and life["held"] is False
    last_drift, last = life["last_drift"], life["last_action"]
    assert (last_drift["source"], last_drift["detector"], last_drift["action"]) == (
        "prequential",
        "ADWIN",
        "challenger",
    )
    assert last_drift["at"].endswith("Z") and last_drift["n_seen"] == 1500
    assert (last["kind"], last["line"], last["version"], last["reason"]) == (
        "rollback",
        "habitat",
        1,
        reason,
    )
    assert last["summary"].startswith("Accuracy 0.820 -> 0.710 (-0.11, 95% CI -0.15..-0.07")
    assert last["evidence"]["events"] == 400
    reasons = [r for r in data["health"]["reasons"] if r["code"] == "automatic_rollback"]
    assert [r["subject"] for r in reasons] == ["habitat"]

    bare = models["viability"]["lifecycle"]
    assert bare["champion"] == {"line": "viability", "version": 1}
    assert bare["challengers"] == [] and bare["guard"] is None
    assert bare["last_drift"] is None and bare["last_action"] is None

    text = lazarus("status", env=env, timeout=120)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "lifecycle of habitat (Accuracy, judged" in out
    assert "habitat.fresh (challenger of habitat)" in out
    assert "240 of 500" in out and "+0.05 (95% CI +0.01..+0.09)" in out
    assert "lifecycle of viability (not judged yet)" in out and "challengers: none" in out
    assert "last automatic action: rollback habitat v1" in out
    assert "rolled back automatically" in out  # health
