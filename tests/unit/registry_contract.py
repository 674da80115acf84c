"""Behaviour every `SnapshotStore` shares: run on the memory store here, on Redis in integration."""

from __future__ import annotations

from lazarus.registry.sealing import seal
from lazarus.registry.signing import generate, parse_private
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
