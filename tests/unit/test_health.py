"""Health at a glance (`lazarus.health`): each reason, each state, from status's and the
dashboard's data, and the `health` of `lazarus status --json` against its schema."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from lazarus import health
from lazarus.cli.json_schemas import cli_schema
from lazarus.cli.json_shapes import HealthReport
from lazarus.cli.status_health import health_lines
from lazarus.dashboard.health_view import dashboard_health
from lazarus.dashboard.health_window import CountWindows
from lazarus.health import CountWindow, GroupLagFigure, HealthInput, RoleBeat, assess
from lazarus.health_inputs import from_status, heartbeat_names
from tests.unit.test_json_shapes import run

NOW = 1_700_000_000.0


def codes(seen: HealthInput) -> list[tuple[str, str]]:
    return [(r.code, r.state) for r in assess(seen).reasons]


def trainer(**fields: Any) -> RoleBeat:
    return RoleBeat(role="trainer:habitat", instance="h-1", beat_age_s=0.5, **fields)


def test_nothing_wrong_is_ok_with_no_reasons() -> None:
    seen = HealthInput(
        groups=[GroupLagFigure("lazarus.trainer.habitat", 40, 3.0)],
        roles=[trainer(events_in=5000, n_learned=4000, unjoined_expired=10)],
        model_ages={"habitat": 30.0},
        flowing={"habitat": True},
        expected=["trainer:habitat"],
    )
    result = assess(seen)
    assert (result.state, result.reasons) == ("ok", ())
    assert result.as_dict() == {"state": "ok", "reasons": []}


@pytest.mark.parametrize(
    ("seconds", "state"),
    [(health.LAG_SECONDS_DEGRADED, None), (121.0, "degraded"), (601.0, "failing")],
)
def test_lag_seconds_over_two_minutes_degrades_and_over_ten_fails(
    seconds: float, state: str | None
) -> None:
    seen = HealthInput(groups=[GroupLagFigure("g", 10, seconds)])
    assert codes(seen) == ([("lag_seconds", state)] if state else [])
    assert assess(seen).state == (state or "ok")


def test_a_group_that_never_committed_is_not_behind() -> None:
    assert codes(HealthInput(groups=[GroupLagFigure("g", 10_000, 900.0, committed=False)])) == []


def test_lag_growing_compares_troughs_over_the_history() -> None:
    sawtooth = [(float(t), 50 + (t % 30) * 10) for t in range(0, 200, 2)]  # drops every 30 s
    growing = [(float(t), 100 + t * 20) for t in range(0, 200, 2)]  # +4,000 in 200 s
    assert codes(HealthInput(lag_history={"g": sawtooth})) == []
    assert codes(HealthInput(lag_history={"g": growing})) == [("lag_growing", "degraded")]
    short = growing[:10]  # 18 s of history: too short to judge
    assert codes(HealthInput(lag_history={"g": short})) == []


def test_a_model_is_stale_only_while_its_inputs_flow() -> None:
    old = health.MODEL_STALE_S + 1
    assert codes(HealthInput(model_ages={"m": old}, flowing={"m": True})) == [
        ("model_stale", "degraded")
    ]
    assert codes(HealthInput(model_ages={"m": old}, flowing={"m": False})) == []
    assert codes(HealthInput(model_ages={"m": old}, flowing={"m": None})) == []
    assert codes(HealthInput(model_ages={"m": 60.0}, flowing={"m": True})) == []


def test_a_trainer_learned_nothing_for_15_minutes_while_reading() -> None:
    window = health.NOT_LEARNING_S
    stopped = trainer(n_learned=9000, read_age_s=2.0, learned_age_s=window + 1, uptime_s=9e4)
    never = trainer(n_learned=0, read_age_s=2.0, uptime_s=window + 1)
    young = trainer(n_learned=0, read_age_s=2.0, uptime_s=window - 1)
    learning = trainer(n_learned=9000, read_age_s=2.0, learned_age_s=30.0, uptime_s=9e4)
    idle = trainer(n_learned=9000, read_age_s=window + 1, learned_age_s=window + 1)
    assert codes(HealthInput(roles=[stopped])) == [("trainer_not_learning", "degraded")]
    text = assess(HealthInput(roles=[stopped])).reasons[0].text
    assert "learned nothing for 15 min while reading" in text
    assert codes(HealthInput(roles=[never])) == [("trainer_not_learning", "degraded")]
    for fine in (young, learning, idle):  # too young to judge, learning, nothing to read
        assert codes(HealthInput(roles=[fine])) == []


def test_a_trainer_whose_joins_expire() -> None:
    expiring = trainer(events_in=9000, n_learned=100, unjoined_expired=300, unjoined_evicted=20)
    young = trainer(events_in=50, n_learned=0, unjoined_expired=40)
    assert codes(HealthInput(roles=[expiring])) == [("joins_expiring", "degraded")]
    assert "76%" in assess(HealthInput(roles=[expiring])).reasons[0].text
    assert codes(HealthInput(roles=[young])) == []


def test_a_scorer_that_refused_a_version_in_10_minutes_fails_and_later_clears() -> None:
    recent = RoleBeat("scorer:habitat", "h-2", refused=2, model_version=3, refused_age_s=60.0)
    result = assess(HealthInput(roles=[recent]))
    assert (result.state, codes(HealthInput(roles=[recent]))) == (
        "failing",
        [("scorer_refusing", "failing")],
    )
    assert "refused a snapshot version 60 s ago" in result.reasons[0].text
    assert "keeps serving v3" in result.reasons[0].text
    old = RoleBeat("scorer:habitat", refused=2, refused_age_s=health.REFUSED_WINDOW_S + 1)
    assert codes(HealthInput(roles=[old])) == []  # the count stays, the reason goes


def test_dead_letters_over_five_percent_of_inputs_since_start() -> None:
    many = RoleBeat(role="scorer:habitat", events_in=1000, dead_lettered=60)
    few = RoleBeat(role="scorer:habitat", events_in=1000, dead_lettered=50)
    early = RoleBeat(role="scorer:habitat", events_in=20, dead_lettered=10)
    assert codes(HealthInput(roles=[many])) == [("dead_letters", "degraded")]
    assert assess(HealthInput(roles=[many])).reasons[0].text.endswith("(6%) since start")
    assert codes(HealthInput(roles=[few])) == codes(HealthInput(roles=[early])) == []


def test_dead_letters_judged_over_a_window_when_one_is_known() -> None:
    spiked_early = CountWindow(span_s=600.0, events_in=5000, dead_lettered=3)
    spiking = CountWindow(span_s=600.0, events_in=5000, dead_lettered=400)
    beat = RoleBeat(role="scorer:habitat", events_in=6000, dead_lettered=900)  # 15% since start
    assert codes(HealthInput(roles=[replace(beat, window=spiked_early)])) == []
    shown = assess(HealthInput(roles=[replace(beat, window=spiking)])).reasons
    assert [(r.code, r.text.split(") ")[-1]) for r in shown] == [
        ("dead_letters", "in the last 10 min")
    ]


def test_count_windows_keep_the_last_ten_minutes_of_heartbeats() -> None:
    windows = CountWindows()
    key = ("scorer:habitat", "h")

    def beat(at: float, events: int, dead: int) -> dict[str, str]:
        return {
            "role": key[0],
            "instance": key[1],
            "updated_at": str(NOW + at),
            "events_in": str(events),
            "dead_lettered": str(dead),
        }

    assert windows.update([beat(0, 0, 0)]) == {
        key: {"span_s": 0.0, "events_in": 0, "dead_lettered": 0}
    }
    windows.update([beat(10, 1000, 800)])  # an early spike
    seen = windows.update([beat(700, 9000, 810)])
    assert seen[key] == {"span_s": 690.0, "events_in": 8000, "dead_lettered": 10}
    seen = windows.update([beat(1300, 15000, 820)])  # the spike left the window
    assert seen[key] == {"span_s": 600.0, "events_in": 6000, "dead_lettered": 10}
    restarted = windows.update([beat(1301, 5, 0)])
    assert restarted[key] == {"span_s": 0.0, "events_in": 0, "dead_lettered": 0}
    assert windows.update([]) == {}


def test_missing_stopped_and_quiet_roles_fail() -> None:
    alive = trainer(events_in=10, n_learned=5)
    quiet = RoleBeat(role="scorer:habitat", instance="h-3", beat_age_s=10.0)
    stopped = RoleBeat(role="quality:habitat", state="stopped")
    seen = HealthInput(
        roles=[alive, quiet, stopped],
        expected=["trainer:habitat", "scorer:habitat", "producer:sensors"],
        heartbeat_s=1.0,
    )
    assert sorted(codes(seen)) == [
        ("heartbeat_stale", "failing"),
        ("role_missing", "failing"),  # producer:sensors, never seen
        ("role_missing", "failing"),  # quality:habitat, stopped
    ]


def test_the_worst_reason_sets_the_state_and_comes_first() -> None:
    seen = HealthInput(
        groups=[GroupLagFigure("g", 10, 200.0)],
        roles=[RoleBeat(role="scorer:m", refused=1, refused_age_s=5.0)],
    )
    result = assess(seen)
    assert result.state == "failing"
    assert [r.state for r in result.reasons] == ["failing", "degraded"]
    HealthReport.model_validate(result.as_dict())


def test_heartbeat_fields_as_redis_holds_them() -> None:
    beat = {"role": "trainer:m", "instance": "h", "updated_at": str(NOW - 4), "n_learned": "0"}
    parsed = RoleBeat.of({**beat, "events_in": "2500.0", "refused": ""}, NOW)
    assert (parsed.beat_age_s, parsed.events_in, parsed.n_learned, parsed.refused) == (
        4.0,
        2500,
        0,
        None,
    )
    producer = RoleBeat.of({"role": "producer:sensors", "events_out": "700"}, NOW)
    assert producer.events_in == 700
    times = RoleBeat.of(
        {
            "role": "trainer:m",
            "started_at": str(NOW - 3600),
            "last_learned_at": "2023-11-14T22:03:20+00:00",  # NOW - 600 s, ISO
            "last_read_at": str(NOW - 1),
            "last_refused_at": "",
        },
        NOW,
    )
    assert (times.uptime_s, times.learned_age_s, times.read_age_s, times.refused_age_s) == (
        3600.0,
        600.0,
        1.0,
        None,
    )


def status_data(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "at": NOW,
        "broker": {"ok": True},
        "redis": {"ok": True},
        "groups": [
            {"group": "lazarus.scorer.habitat", "committed": True, "lag": 5, "lag_seconds": 1.0}
        ],
        "models": [{"model": "habitat", "staleness_s": 2000.0}],
        "roles": [],
    }
    return data | over


def test_status_judges_a_model_stale_when_its_groups_lag_or_a_producer_runs() -> None:
    assert codes(from_status(status_data())) == [("model_stale", "degraded")]
    quiet = status_data(groups=[])
    assert codes(from_status(quiet)) == []
    producing = [{"role": "producer:sensors", "state": "running", "events_out": "10"}]
    assert codes(from_status(quiet | {"roles": producing})) == [("model_stale", "degraded")]


def test_dashboard_health_uses_the_lag_history_and_names_a_source_down() -> None:
    at = [NOW + t for t in range(0, 200, 2)]
    state = {
        "now": NOW + 200,
        "sources": {"redis": {"error": None}, "kafka": {"error": "broker gone"}},
        "roles": [
            {
                "role": "scorer:habitat",
                "instance": "h",
                "state": "serving",
                "events": 500,
                "events_per_s": 3.0,
                "dead_lettered": 0,
                "beat_age_s": 0.4,
                "model_version": 2,
                "details": {"refused": "0"},
            }
        ],
        "models": [{"model": "habitat", "staleness_s": 1000.0}],
        "lag": {
            "series": {"at": at, "groups": {"g": [30 * i for i in range(len(at))]}},
            "groups": [],
        },
    }
    shown = dashboard_health(state, expected=["scorer:habitat"])
    assert shown["state"] == "failing"
    assert [r["code"] for r in shown["reasons"]] == ["service_down", "lag_growing", "model_stale"]
    HealthReport.model_validate(shown)


def test_status_first_lines_say_the_state_and_each_reason() -> None:
    lines = health_lines(
        {"state": "degraded", "reasons": [{"state": "degraded", "text": "g is 3 min behind"}]}
    )
    assert lines == [
        "health: [yellow]degraded[/yellow] (1 reason)",
        "  [yellow]degraded[/yellow] g is 3 min behind",
    ]


def test_up_roles_beat_once_per_role() -> None:
    assert heartbeat_names(["scorer:a#1", "scorer:a#2", "quality:a"]) == ["scorer:a", "quality:a"]


def test_status_json_carries_health_in_its_schema() -> None:
    result = run(
        "status",
        "--json",
        env={
            "LAZARUS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "LAZARUS_REDIS_URL": "redis://127.0.0.1:1/0",
        },
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, cli_schema("status"))
    assert "health" in cli_schema("status")["required"]
    assert data["health"]["state"] == "failing"
    down = [r["subject"] for r in data["health"]["reasons"] if r["code"] == "service_down"]
    assert down == ["broker", "redis"]
    text = run(
        "status",
        env={
            "LAZARUS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "LAZARUS_REDIS_URL": "redis://127.0.0.1:1/0",
        },
    )
    assert text.stdout.splitlines()[0].startswith("health: failing (2 reasons)"), text.stdout
