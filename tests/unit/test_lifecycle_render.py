"""A model's lifecycle drawn by `lazarus status` (cli/lifecycle_render.py, status_render.py) and
the dashboard (dashboard/models_view.py), its JSON shape (cli/json_lifecycle.py), and what
health makes of it (lazarus/lifecycle_health.py), from the records of
tests/unit/test_lifecycle_view.py."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console

from lazarus.cli.json_shapes import StatusReport
from lazarus.cli.lifecycle_render import lifecycle_table
from lazarus.cli.status_render import models_table, print_status
from lazarus.dashboard.health_view import dashboard_health
from lazarus.dashboard.models_view import model_view, timeline_entry
from lazarus.health import Health
from lazarus.lifecycle_health import lifecycle_health, lifecycle_reasons
from lazarus.lifecycle_view import lifecycle
from tests.unit.test_lifecycle_view import EVIDENCE, NOW, ROLLBACK, bare, records, status_model


def text_of(renderable: Any) -> str:
    out = io.StringIO()
    Console(file=out, width=240, color_system=None).print(renderable)
    return out.getvalue()


# -- health -----------------------------------------------------------------------------------


def test_an_automatic_rollback_degrades_health_for_an_hour_and_while_held() -> None:
    rolled = {"model": "habitat", "lifecycle": lifecycle(records(action=ROLLBACK))}
    (reason,) = lifecycle_reasons([rolled], NOW)
    assert (reason.code, reason.state, reason.subject) == (
        "automatic_rollback",
        "degraded",
        "habitat",
    )
    assert reason.text == (
        "habitat was rolled back automatically 5 m 0 s ago, to habitat v11 "
        "(rollback guard: served worse by 0.05 on 400 events)"
    )
    assert lifecycle_reasons([rolled], NOW + 3600) == []
    held = {"model": "habitat", "lifecycle": lifecycle(records(action=ROLLBACK, held=True))}
    (still,) = lifecycle_reasons([held], NOW + 7200)
    assert still.text.startswith(
        "habitat was rolled back automatically 2 h 5 m ago, to habitat v11"
    )
    assert still.text.endswith("; held: no automatic promotion until an operator promotes a line")
    unknown = {"model": "habitat", "lifecycle": lifecycle(records(action={}, held=True))}
    assert [r.text for r in lifecycle_reasons([unknown], NOW)] == [
        "habitat: an automatic rollback undid a promotion; held: no automatic promotion until "
        "an operator promotes a line"
    ]
    promoted = {"model": "habitat", "lifecycle": lifecycle(records())}
    assert lifecycle_reasons([promoted, {"model": "x", "lifecycle": None}], NOW) == []
    assert lifecycle_health(Health("ok"), [rolled], NOW).state == "degraded"


def test_the_dashboard_banner_shows_an_automatic_rollback() -> None:
    model = {
        "model": "habitat",
        "staleness_s": 30.0,
        "lifecycle": lifecycle(records(action=ROLLBACK)),
    }
    state = {"now": NOW, "sources": {}, "roles": [], "models": [model], "lag": {}}
    health = dashboard_health(state)
    assert health["state"] == "degraded"
    assert [r["code"] for r in health["reasons"]] == ["automatic_rollback"]


# -- lazarus status ---------------------------------------------------------------------------


def test_status_draws_the_lineup_with_its_comparisons_drift_and_action() -> None:
    text = text_of(lifecycle_table("habitat", lifecycle(records(held=True)), NOW))
    assert "lifecycle of habitat (Accuracy, judged 2 s ago)" in text
    rows = {line.split("│")[1].strip() + "/" + line.split("│")[2].strip(): line for line in
            text.splitlines() if line.startswith("│")}  # fmt: skip
    assert "serving" in rows["habitat/champion"]
    fresh = rows["habitat.fresh/challenger"]
    assert "v3" in fresh and "312 of 500" in fresh and "+0.038 (95% CI +0.011..+0.066)" in fresh
    assert "waiting: 312 of 500 judged events" in fresh
    fast = [cell.strip() for cell in rows["habitat_fast/challenger"].split("│")[3:7]]
    assert fast == ["–", "–", "–", "not judged yet"]
    base = rows["habitat/baseline"]
    assert "v11" in base and "120 of 300" in base and "guard waiting" in base
    assert "held: no automatic promotion until an operator promotes a line" in text
    assert "last drift: 5 m 0 s ago (2027-01-15T07:55:00Z) on habitat: prequential error " in text
    assert "last automatic action: promote habitat.fresh v3, 5 m 0 s ago" in text
    assert "evidence: Accuracy 0.874 -> 0.912 (+0.038, 95% CI +0.021..+0.055" in text


def test_status_of_a_model_with_nothing_yet_says_so_never_zero() -> None:
    text = text_of(lifecycle_table("viability", lifecycle(bare()), NOW))
    assert "lifecycle of viability (not judged yet)" in text
    assert "challengers: none" in text
    assert "last drift: none yet" in text and "last automatic action: none yet" in text
    assert "baseline" not in text and " 0 " not in text


def test_the_models_table_says_which_lines_are_whose() -> None:
    life = lifecycle(records(champion="habitat_fast", served=8, challengers={"habitat": 12}))
    models = [
        status_model("habitat", life),
        status_model("habitat_fast", None, line_of="habitat"),
        status_model("habitat.fresh", None, line_of="habitat"),
    ]
    text = text_of(models_table(models))
    assert "habitat (habitat_fast serves)" in text
    assert "habitat_fast (champion of habitat)" in text
    assert "habitat.fresh (challenger of habitat)" in text


def test_status_report_with_lifecycles_matches_its_shape_and_prints() -> None:
    data: dict[str, Any] = {
        "at": NOW,
        "ok": True,
        "broker": {"ok": True, "bootstrap": "127.0.0.1:9092"},
        "redis": {"ok": True, "url": "redis://127.0.0.1:6379/0"},
        "groups": [],
        "models": [
            status_model("habitat", lifecycle(records(action=ROLLBACK))),
            status_model("habitat.fresh", None, line_of="habitat"),
            status_model("viability", lifecycle(bare())),
        ],
        "roles": [],
        "dead_letters": 0,
        "health": lifecycle_health(Health("ok"), [], NOW).as_dict(),
    }
    data["health"] = lifecycle_health(Health("ok"), data["models"], NOW).as_dict()
    report = json.loads(StatusReport.model_validate(data).model_dump_json())
    life = report["models"][0]["lifecycle"]
    assert life["last_action"]["at"] == "2027-01-15T07:55:00Z"
    assert life["baseline"]["since"] == "2027-01-15T07:50:00Z"
    assert report["health"]["reasons"][0]["code"] == "automatic_rollback"
    out = io.StringIO()
    print_status(Console(file=out, width=240, color_system=None), data)
    shown = out.getvalue()
    assert "lifecycle of habitat" in shown and "lifecycle of viability" in shown
    assert "lifecycle of habitat.fresh" not in shown


# -- the dashboard ----------------------------------------------------------------------------


def test_the_dashboard_model_view_carries_the_lifecycle_and_the_timeline_its_evidence() -> None:
    life = lifecycle(records())
    view = model_view(
        "habitat",
        current=12,
        latest=12,
        pinned=None,
        versions=[12],
        infos={},
        history=[],
        quality=[],
        roles=[],
        now=NOW,
        lifecycle=life,
    )
    assert view["lifecycle"] == life and view["line_of"] is None
    entry = timeline_entry(
        {
            "action": "promote",
            "version": "3",
            "previous": "habitat",
            "line": "habitat.fresh",
            "reason": "promotion gate: challenger better by 0.038 on 812 events",
            "actor": "quality-monitor",
            "at": str(NOW - 300),
            "evidence": json.dumps(EVIDENCE),
        }
    )
    assert (entry["line"], entry["version"], entry["previous"], entry["previous_line"]) == (
        "habitat.fresh",
        3,
        None,
        "habitat",
    )
    assert entry["evidence"].startswith("Accuracy 0.874 -> 0.912 (+0.038")
    plain = timeline_entry({"action": "rollback", "version": "1", "previous": "2"})
    assert (plain["previous"], plain["previous_line"], plain["evidence"]) == (2, None, None)
    assert timeline_entry({"action": "drift", "evidence": "{broken"})["evidence"] is None
