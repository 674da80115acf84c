"""The quality monitor's lifecycle decisions (`quality.controller`) over an in-memory lineup:
promote a challenger that clears the gate, roll back what the guard finds worse, clear what it
does not, publish served drifts, and survive Redis going away."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from lazarus.quality.controller import ACTOR, Controller
from lazarus.quality.core import Judged, Served
from lazarus.quality.lineup_join import LineupJoin
from lazarus.registry.lineup import Baseline
from lazarus.schemas.drift import DriftEvent
from lazarus.schemas.lifecycle import Lifecycle
from lazarus.schemas.models import HABITAT
from tests.unit.memory_lineup import MemoryLineup

THROUGH = {"in:0": 0}


def monitor(
    currents: dict[str, int],
    challengers: set[str] = frozenset(),  # type: ignore[assignment]
    lifecycle: Lifecycle | None = None,
) -> tuple[Controller, MemoryLineup, list[DriftEvent]]:
    contract = HABITAT if lifecycle is None else replace(HABITAT, lifecycle=lifecycle)
    lineup = MemoryLineup("habitat", currents, challengers)
    drifts: list[DriftEvent] = []
    join = LineupJoin("Accuracy", served_error="Accuracy")
    return Controller(contract, lineup, join, drifts.append), lineup, drifts


def feed(
    join: LineupJoin,
    n: int,
    served: float,
    shadows: dict[tuple[str, str, int], float | None],
    seed: int = 0,
) -> None:
    """`n` labelled events (label True): the main score right with probability `served`, each
    shadow (role, line, version) with its own, or exactly as the main score (None)."""
    rng = random.Random(seed)
    for i in range(n):
        eid = f"s{seed}-e{i}"
        main = rng.random() < served
        join.add_main(eid, Served(1, main, None, THROUGH))
        for (role, line, version), rate in shadows.items():
            right = main if rate is None else rng.random() < rate
            join.add_shadow(eid, role, line, Served(version, right, None, THROUGH))  # type: ignore[arg-type]
        join.add_label(eid, Judged(True, True, None, {}, ("in", 0, i)))


def test_a_clearly_better_challenger_is_promoted_with_its_evidence() -> None:
    ctl, lineup, _ = monitor({"habitat": 12, "habitat.fresh": 3}, {"habitat.fresh"})
    ctl.prime()
    first = ctl.cycle()
    assert first is not None and first["guard"]["state"] == "idle"
    assert lineup.base == Baseline("habitat", 12, 0.0)  # the first served version
    feed(ctl.join, 600, served=0.6, shadows={("challenger", "habitat.fresh", 3): 0.9})
    report = ctl.cycle()

    assert report is not None
    (standing,) = report["challengers"]
    assert standing["state"] == "promote" and standing["events"] == 600
    assert lineup.champ == "habitat.fresh" and lineup.rivals == {"habitat"}
    (move,) = lineup.audit
    assert (move["action"], move["line"], move["version"], move["actor"]) == (
        "promote", "habitat.fresh", 3, ACTOR,
    )  # fmt: skip
    proof = move["evidence"]
    assert proof["events"] == 600 and proof["metric"] == "Accuracy"
    assert proof["method"] == "mcnemar-exact" and proof["p_value"] < 0.001
    low, high = proof["interval"]
    assert 0 < low < proof["difference"] < high
    assert proof["challenger"] - proof["champion"] == pytest.approx(proof["difference"])
    assert proof["policy"] == {"min_events": 500, "margin": 0.0, "confidence": 0.95}
    assert (proof["replaced"], proof["replaced_version"]) == ("habitat", 12)
    # what was served before is the baseline the guard now compares the new champion with
    assert lineup.base == Baseline("habitat", 12, 0.0)
    assert report["guard"]["state"] == "idle"
    assert lineup.records["action"]["kind"] == "promote"
    assert lineup.records["gate"]["champion"] == {"line": "habitat", "version": 12}
    assert ctl.actions["promote"] == 1
    tally = ctl.join.tally(("challenger", "habitat.fresh"))
    assert tally is not None and tally.losses.n == 0  # its pairs judged the old champion


def test_a_challenger_waits_for_min_events_and_a_held_lineup_is_not_promoted() -> None:
    ctl, lineup, _ = monitor({"habitat": 12, "habitat.fresh": 3}, {"habitat.fresh"})
    feed(ctl.join, 100, served=0.6, shadows={("challenger", "habitat.fresh", 3): 0.9})
    report = ctl.cycle()
    assert report is not None
    assert report["challengers"][0]["state"] == "waiting"
    assert report["challengers"][0]["reason"] == "100 of 500 judged events"
    lineup.is_held = True
    feed(ctl.join, 500, served=0.6, shadows={("challenger", "habitat.fresh", 3): 0.9}, seed=1)
    report = ctl.cycle()
    assert report is not None and lineup.champ == "habitat" and not lineup.audit
    (standing,) = report["challengers"]
    assert standing["state"] == "promote" and "held" in standing["reason"]
    assert report["held"] is True


def test_with_promotion_off_challengers_are_compared_never_promoted() -> None:
    ctl, lineup, _ = monitor(
        {"habitat": 12, "habitat.fresh": 3}, {"habitat.fresh"}, Lifecycle(promotion=None)
    )
    feed(ctl.join, 600, served=0.6, shadows={("challenger", "habitat.fresh", 3): 0.9})
    report = ctl.cycle()
    assert report is not None and not lineup.audit
    (standing,) = report["challengers"]
    assert standing["state"] == "off" and standing["comparison"]["difference"] > 0.2


def test_a_clearly_worse_current_is_rolled_back_to_the_baseline() -> None:
    ctl, lineup, _ = monitor({"habitat": 15})
    lineup.base = Baseline("habitat", 12, 0.0)
    ctl.prime()
    feed(ctl.join, 400, served=0.6, shadows={("baseline", "habitat", 12): 0.9})
    report = ctl.cycle()

    assert report is not None and report["guard"]["state"] == "rollback"
    assert lineup.store.current("habitat") == 12
    (move,) = lineup.audit
    assert (move["action"], move["line"], move["version"]) == ("rollback", "habitat", 12)
    proof = move["evidence"]
    assert proof["events"] == 400 and proof["interval"][1] < -0.02
    assert proof["policy"]["margin"] == 0.02 and proof["replaced_version"] == 15
    assert ctl.actions["rollback"] == 1 and lineup.records["action"]["kind"] == "rollback"
    again = ctl.cycle()
    assert again is not None and again["guard"]["state"] == "idle"
    assert again["guard"]["reason"] == "serving the baseline"


def test_a_rollback_the_registry_refuses_is_reported_and_tried_again() -> None:
    ctl, lineup, _ = monitor({"habitat": 15})
    lineup.base, lineup.rollback_says = Baseline("habitat", 12, 0.0), "missing"
    ctl.prime()
    feed(ctl.join, 400, served=0.6, shadows={("baseline", "habitat", 12): 0.9})
    report = ctl.cycle()
    assert report is not None and "not rolled back" in report["guard"]["reason"]
    assert ctl.actions["rollback"] == 0 and lineup.store.current("habitat") == 15
    lineup.rollback_says = "ok"
    assert ctl.cycle() is not None and lineup.store.current("habitat") == 12


def test_a_current_not_worse_clears_the_guard_and_becomes_the_baseline() -> None:
    ctl, lineup, _ = monitor({"habitat": 15})
    lineup.base = Baseline("habitat", 12, 0.0)
    ctl.prime()
    feed(ctl.join, 299, served=0.8, shadows={("baseline", "habitat", 12): None})
    report = ctl.cycle()
    assert report is not None and report["guard"]["state"] == "waiting"
    feed(ctl.join, 1, served=0.8, shadows={("baseline", "habitat", 12): None}, seed=1)
    report = ctl.cycle()
    assert report is not None and report["guard"]["state"] == "cleared"
    assert lineup.base == Baseline("habitat", 15, 0.0) and not lineup.audit
    tally = ctl.join.tally(("baseline", "habitat"))
    assert tally is not None and tally.losses.n == 0


def test_redis_going_away_is_survived_and_the_records_are_written_later() -> None:
    ctl, lineup, _ = monitor({"habitat": 12, "habitat.fresh": 3}, {"habitat.fresh"})
    feed(ctl.join, 600, served=0.6, shadows={("challenger", "habitat.fresh", 3): 0.9})
    lineup.down = True
    assert ctl.cycle() is None and lineup.champ == "habitat"
    lineup.down, lineup.writes_fail = False, True
    assert ctl.cycle() is None  # promoted, but neither the report nor the action written
    assert lineup.champ == "habitat.fresh" and "action" not in lineup.records
    lineup.writes_fail = False
    assert ctl.cycle() is not None
    assert lineup.records["action"]["line"] == "habitat.fresh"
    assert len(lineup.audit) == 1  # promoted once


def test_a_champion_changed_by_someone_else_resets_the_challengers_pairs() -> None:
    ctl, lineup, _ = monitor({"habitat": 12, "habitat.fresh": 3, "habitat.b": 1},
                             {"habitat.fresh", "habitat.b"})  # fmt: skip
    ctl.prime()
    feed(ctl.join, 50, served=0.6, shadows={("challenger", "habitat.b", 1): 0.6})
    lineup.champ, lineup.rivals = "habitat.fresh", {"habitat", "habitat.b"}  # an operator
    report = ctl.cycle()
    assert report is not None
    assert [c["line"] for c in report["challengers"]] == ["habitat", "habitat.b"]
    assert all(c["events"] == 0 for c in report["challengers"])


def test_a_rise_of_the_served_error_publishes_one_drift_and_a_fall_none() -> None:
    ctl, lineup, drifts = monitor({"habitat": 12})
    rng = random.Random(3)
    ctl.join.served_errors.extend(float(rng.random() < 0.4) for _ in range(3000))
    ctl.join.served_errors.extend(float(rng.random() < 0.1) for _ in range(3000))  # better
    assert ctl.cycle() is not None and drifts == []
    ctl.join.served_errors.extend(float(rng.random() < 0.5) for _ in range(3000))  # worse
    assert ctl.cycle() is not None
    (drift,) = drifts
    assert (drift.model, drift.line, drift.source, drift.detector) == (
        "habitat", "habitat", "served", "ADWIN",
    )  # fmt: skip
    assert drift.error_before is not None and drift.error_after is not None
    assert drift.error_before < drift.error_after and drift.action == "alert"
    assert ctl.drifts == 1 and lineup.records["drift"]["event_id"] == drift.event_id


def test_a_challenger_that_starts_afresh_is_judged_again_from_its_new_start() -> None:
    ctl, lineup, _ = monitor({"habitat": 12, "habitat.fresh": 3}, {"habitat.fresh"})
    lineup.gens = {"habitat.fresh": 1}
    ctl.prime()
    ctl.cycle()
    feed(ctl.join, 300, served=0.6, shadows={("challenger", "habitat.fresh", 3): 0.9})
    tally = ctl.join.tally(("challenger", "habitat.fresh"))
    assert tally is not None and tally.losses.n == 300
    lineup.gens = {"habitat.fresh": 2}  # a new drift restarted the fresh line
    report = ctl.cycle()
    assert report is not None
    tally = ctl.join.tally(("challenger", "habitat.fresh"))
    assert tally is not None and tally.losses.n == 0
    assert lineup.champ == "habitat"  # 300 pairs of the old generation promoted nothing


def test_a_line_promoted_by_hand_is_not_cleared_on_the_old_lines_pairs() -> None:
    ctl, lineup, _ = monitor({"habitat": 15, "habitat.bad": 1}, {"habitat.bad"})
    lineup.base = Baseline("habitat", 12, 0.0)
    ctl.prime()
    ctl.cycle()
    # the main line was served: 400 pairs as good as the baseline, not yet judged...
    feed(ctl.join, 400, served=0.8, shadows={("baseline", "habitat", 12): None})
    lineup.champ, lineup.rivals = "habitat.bad", {"habitat"}  # ...when an operator promotes
    report = ctl.cycle()
    assert report is not None and report["guard"]["state"] == "waiting"
    assert lineup.base == Baseline("habitat", 12, 0.0)  # not cleared on the old line's pairs
    feed(ctl.join, 400, served=0.3, shadows={("baseline", "habitat", 12): 0.8}, seed=2)
    report = ctl.cycle()
    assert report is not None and report["guard"]["state"] == "rollback"
    assert lineup.champ == "habitat" and lineup.is_held
