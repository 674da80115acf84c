"""Behaviour every `SnapshotStore` shares: run on the memory store here, on Redis in integration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lazarus.registry.reach import GOES, read_reach
from lazarus.registry.retention import Retention, kept
from lazarus.registry.sealing import seal
from lazarus.registry.signing import Signer, generate, parse_private
from lazarus.registry.store import SnapshotStore
from tests.unit.test_registry import fields


def check_move_current_pin_and_history(store: SnapshotStore) -> None:
    """Promote and rollback move `current` as one step, a rollback pins it, every move is audited."""
    s = parse_private(generate()[0])
    snaps = [seal({"v": v}, fields(v), s)[0] for v in range(1, 6)]
    for v in (1, 2, 3):
        assert store.publish("habitat", v, snaps[v - 1], keep=10).outcome == "ok"
    assert store.move_current("habitat", 9, "promote", "typo", "ops") == ("missing", 0)
    assert store.move_current("habitat", 3, "rollback", "not back", "ops") == ("not_older", 3)
    assert store.move_current("habitat", 1, "rollback", "bad v2, v3", "ops") == ("ok", 3)
    assert (store.current("habitat"), store.pinned("habitat")) == (1, 1)
    assert store.publish("habitat", 4, snaps[3], keep=10).outcome == "ok"
    assert store.current("habitat") == 1  # pinned: a publish stores, never moves
    assert store.move_current("habitat", 4, "promote", "fixed", "ops") == ("ok", 1)
    assert (store.current("habitat"), store.pinned("habitat")) == (4, None)
    assert store.publish("habitat", 5, snaps[4], keep=10).outcome == "ok"
    assert store.current("habitat") == 5
    moves = [(h["action"], h["version"], h["previous"]) for h in store.history("habitat")]
    assert moves == [
        ("publish", "5", "4"),
        ("promote", "4", "1"),
        ("rollback", "1", "3"),
        ("publish", "3", "2"),
        ("publish", "2", "1"),
        ("publish", "1", "0"),
    ]
    assert store.history("habitat", 1)[0]["reason"] == "trainer published"
    assert store.history("habitat")[1]["actor"] == "ops"


def check_model_part_and_manifest(store: SnapshotStore) -> None:
    """`get_model` leaves the state part out; `manifest` reads without verifying."""
    s = parse_private(generate()[0])
    sealed, manifest = seal({"big": "state"}, fields(1), s, serving={"w": 1})
    assert store.publish("habitat", 1, sealed, keep=3).outcome == "ok"
    light = store.get_model("habitat", 1)
    assert light is not None and light.blob == b"" and light.model == sealed.model
    assert store.manifest("habitat", 1) == manifest
    assert store.get_model("habitat", 2) is None and store.manifest("habitat", 2) is None


DAY0 = datetime(2026, 11, 29, tzinfo=UTC)


def _at(
    store: SnapshotStore,
    s: Signer,
    version: int,
    hours: float,
    keep: Retention | int,
    servable: bool = True,
) -> None:
    """Publish `version` of habitat created `hours` after DAY0 (a trainer's clock)."""
    created = DAY0 + timedelta(hours=hours)
    sealed = seal({"v": version}, {**fields(version), "created_at": created}, s)[0]
    assert store.publish("habitat", version, sealed, keep, servable=servable).outcome == "ok"


def check_rotation_and_rollback_reach(store: SnapshotStore) -> None:
    """Publishes prune by the rotation: the last K, the newest of recent hours and days, never
    the current, pinned or newest version; a rollback reaches an hourly one and pins it."""
    s = parse_private(generate()[0])
    policy = Retention(last=2, minutely=0, hourly=3, daily=2)
    spread = [10, 22, 33, 33.5, 34.25, 35.1, 35.2, 35.3]  # hours after DAY0: two days
    for version, hours in enumerate(spread, 1):
        _at(store, s, version, hours, keep=policy)
    assert store.retention("habitat") == policy
    created = store.created("habitat")
    assert created == {v: DAY0 + timedelta(hours=spread[v - 1]) for v in (2, 4, 5, 7, 8)}
    assert store.versions("habitat") == [2, 4, 5, 7, 8] and store.get("habitat", 6) is None
    reach = read_reach(store, "habitat", Retention())  # the recorded rotation, not this one
    assert reach.policy == policy and reach.oldest == 2
    assert reach.why == {
        2: ("daily 2026-11-29",),
        4: ("hourly 2026-11-30T09",),
        5: ("hourly 2026-11-30T10",),
        7: ("last 2",),
        8: ("current", "newest", "last 2", "hourly 2026-11-30T11", "daily 2026-11-30"),
    }
    assert store.move_current("habitat", 4, "rollback", "v5+ drift", "ops") == ("ok", 8)
    _at(store, s, 9, 36, keep=policy)  # 12:00 pushes v4's hour out of the last 3
    assert store.current("habitat") == 4 and store.versions("habitat") == [2, 4, 5, 8, 9]
    assert read_reach(store, "habitat", policy).why[4] == ("current", "pinned")
    assert store.move_current("habitat", 9, "promote", "fixed", "ops") == ("ok", 4)
    assert read_reach(store, "habitat", policy).why[4] == (GOES,)
    _at(store, s, 10, 36.2, keep=policy)
    assert store.versions("habitat") == [2, 5, 8, 9, 10]  # v4 is neither pinned nor current
    _at(store, s, 11, 36.3, keep=1, servable=False)  # a number: the newest only
    assert store.retention("habitat") == Retention.of(1)
    assert store.current("habitat") == 10 and store.versions("habitat") == [10, 11]
    assert kept(store.created("habitat"), Retention.of(1), current=10, newest=11) == {
        10: ("current",),
        11: ("newest", "last 1"),
    }
