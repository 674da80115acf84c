"""`lazarus models gate`: the quality monitor's gate report, gathered with the lineup into its
JSON shape and shown to a person; and lifecycle moves in `models history --json`. With an
in-memory lineup: the command against real Redis is in tests/integration."""

from __future__ import annotations

import json
import random
from typing import cast

from rich.console import Console

from lazarus.cli.gate_cmd import NOT_JUDGED, gather, show
from lazarus.cli.json_gate import GateReport
from lazarus.cli.json_shapes import HistoryEntry
from lazarus.quality.controller import Controller
from lazarus.quality.core import Judged, Served
from lazarus.quality.lineup_join import LineupJoin
from lazarus.registry.lineup import Lineup
from lazarus.schemas.models import HABITAT
from tests.unit.memory_lineup import MemoryLineup


def judged_lineup() -> MemoryLineup:
    """habitat v12 served, habitat.fresh v3 and habitat.b v1 challenging; the monitor judged
    habitat.fresh on 200 events (habitat.b never scored), and set the baseline."""
    lineup = MemoryLineup("habitat", {"habitat": 12, "habitat.fresh": 3}, {"habitat.fresh"})
    join = LineupJoin("Accuracy")
    ctl = Controller(HABITAT, lineup, join, lambda _: None)
    rng = random.Random(0)
    for i in range(200):
        join.add_main(f"e{i}", Served(12, rng.random() < 0.7, None, {}))
        join.add_shadow(f"e{i}", "challenger", "habitat.fresh", Served(3, True, None, {}))
        join.add_label(f"e{i}", Judged(True, True, None, {}, ("in", 0, i)))
    assert ctl.cycle() is not None
    lineup.rivals.add("habitat.b")
    return lineup


def test_the_report_takes_the_monitors_standing_and_the_lineup_as_it_is_now() -> None:
    data = gather(cast(Lineup, judged_lineup()), "habitat", HABITAT.lifecycle)
    report = GateReport.model_validate(data)
    assert (report.champion.line, report.champion.version) == ("habitat", 12)
    b, fresh = report.challengers
    assert (b.line, b.version, b.state, b.reason) == ("habitat.b", None, "unjudged", NOT_JUDGED)
    assert (fresh.state, fresh.events, fresh.min_events) == ("waiting", 200, 500)
    assert fresh.comparison is not None and fresh.comparison.difference > 0.2
    assert report.guard.state == "idle" and report.baseline is not None
    assert report.policy is not None and report.policy.guard is not None
    assert report.judged_at is not None and report.last_action is None


def test_before_any_report_the_policy_comes_from_the_contract() -> None:
    lineup = MemoryLineup("habitat", {"habitat": 2}, set())
    report = GateReport.model_validate(gather(cast(Lineup, lineup), "habitat", HABITAT.lifecycle))
    assert report.guard.state == "unjudged" and report.judged_at is None
    assert report.policy is not None and report.policy.promotion is not None
    assert report.policy.promotion.min_events == 500
    unknown = gather(cast(Lineup, lineup), "habitat", None)
    assert GateReport.model_validate(unknown).policy is None


def test_the_text_says_where_each_challenger_stands_and_what_the_policy_means() -> None:
    data = gather(cast(Lineup, judged_lineup()), "habitat", HABITAT.lifecycle)
    console = Console(width=200, record=True)
    show(console, GateReport.model_validate(data))
    text = console.export_text()
    assert "habitat: serving habitat v12; on Accuracy" in text
    assert "after 500 honest paired events" in text and "95% confidence" in text
    assert "habitat.fresh v3" in text and "200/500" in text and "200 of 500 judged" in text
    assert "habitat.b (no current version)" in text and "unjudged" in text
    assert "guard: idle, baseline habitat v12" in text and "worse by more than 0.02" in text


def test_a_lifecycle_move_in_the_history_names_its_lines_and_evidence() -> None:
    entry = {
        "id": "1-0",
        "action": "promote",
        "version": "3",
        "previous": "habitat",
        "line": "habitat.fresh",
        "reason": "promotion gate: challenger better by 0.1 on 600 events",
        "actor": "quality-monitor",
        "at": "1700000000.5",
        "evidence": json.dumps({"events": 600, "interval": [0.05, 0.15]}),
    }
    shown = HistoryEntry.of(entry)
    assert (shown.previous, shown.previous_line, shown.line) == (None, "habitat", "habitat.fresh")
    assert shown.evidence == {"events": 600, "interval": [0.05, 0.15]}
    by_hand = HistoryEntry.of({**entry, "previous": "2", "evidence": "", "line": "habitat"})
    assert (by_hand.previous, by_hand.previous_line, by_hand.evidence) == (2, None, None)
