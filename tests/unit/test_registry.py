"""Sealing, verifying and storing snapshots; nothing unverified or off the allowlist is unpickled."""

from __future__ import annotations

import os
import pickle
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from river import linear_model, preprocessing

from lazarus.errors import SnapshotRejected
from lazarus.registry.safe_pickle import safe_loads
from lazarus.registry.sealing import SealedSnapshot, seal, unseal, verify
from lazarus.registry.signing import Signer, generate, parse_private, parse_public
from lazarus.registry.store import MemorySnapshotStore

MARKER = Path("/tmp/lazarus-pwned-marker")


def signer() -> Signer:
    return parse_private(generate()[0])


def fields(version: int = 1) -> dict[str, Any]:
    return {
        "model": "habitat",
        "version": version,
        "created_at": datetime.now(UTC),
        "n_learned": 3,
        "metrics": {"Accuracy": 0.5},
        "rolling_metrics": {},
        "trained_through": {"t:0": 10},
        "join": {
            "pending": 0,
            "joined": 3,
            "expired": 0,
            "evicted": 0,
            "unmatched": 0,
            "duplicate_outcomes": 0,
            "duplicate_features": 0,
        },
        "invalid_events": 0,
        "schema_fingerprint": "0" * 64,
        "environment": {"river": "x"},
        "pipeline": "StandardScaler | LogisticRegression",
    }


class Evil:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {MARKER}",))


def test_round_trip_of_a_river_pipeline() -> None:
    s = signer()
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    model.learn_one({"a": 1.0}, True)
    sealed, manifest = seal({"model": model}, fields(), s)
    got_manifest, state = unseal(sealed, s.verifier)
    assert got_manifest == manifest
    assert state["model"].predict_proba_one({"a": 1.0}) == model.predict_proba_one({"a": 1.0})


def test_flipped_bytes_are_refused_before_unpickling() -> None:
    s = signer()
    sealed, _ = seal({"a": 1}, fields(), s)
    blob = bytearray(sealed.blob)
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(SnapshotRejected, match="digest"):
        unseal(replace(sealed, blob=bytes(blob)), s.verifier)
    manifest = bytearray(sealed.manifest)
    manifest[20] ^= 0x01
    with pytest.raises(SnapshotRejected, match="signature"):
        verify(replace(sealed, manifest=bytes(manifest)), s.verifier)


def test_a_signature_from_the_wrong_key_is_refused() -> None:
    sealed, _ = seal({"a": 1}, fields(), signer())
    with pytest.raises(SnapshotRejected, match="signature"):
        unseal(sealed, signer().verifier)


def test_a_malicious_pickle_is_never_run_even_when_signed() -> None:
    MARKER.unlink(missing_ok=True)
    s = signer()
    sealed, _ = seal(
        Evil(), fields(), s
    )  # signed by the real key: the allowlist is the second wall
    with pytest.raises(SnapshotRejected, match=r"posix\.system|os\.system"):
        unseal(sealed, s.verifier)
    assert not MARKER.exists()
    forged = SealedSnapshot(sealed.manifest, b"\0" * 64, pickle.dumps(Evil()))
    with pytest.raises(SnapshotRejected):
        unseal(forged, s.verifier)
    assert not MARKER.exists()


def test_allowlist_admits_classes_not_functions() -> None:
    import river.utils.math as rmath

    with pytest.raises(SnapshotRejected):
        safe_loads(pickle.dumps(rmath.dot))
    with pytest.raises(SnapshotRejected):
        safe_loads(b"not a pickle")


def test_keys_parse_from_pem_and_base64() -> None:
    import base64

    from cryptography.hazmat.primitives import serialization

    private, public = generate()
    s = parse_private(private)
    raw = s.key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert (
        parse_private(base64.b64encode(raw).decode()).verifier.fingerprint()
        == parse_public(public).fingerprint()
    )
    from lazarus.errors import ConfigError

    with pytest.raises(ConfigError, match="LAZARUS_SIGNING_PRIVATE_KEY"):
        parse_private("nonsense")


def test_store_sequence_retention_and_forward_only_current() -> None:
    store = MemorySnapshotStore()
    s = signer()
    snaps = [seal({"v": v}, fields(v), s)[0] for v in range(1, 6)]
    assert store.publish("habitat", 2, snaps[1], keep=3).outcome == "gap"
    for v in range(1, 6):
        assert store.publish("habitat", v, snaps[v - 1], keep=3).outcome == "ok"
    assert store.publish("habitat", 5, snaps[4], keep=3).outcome == "exists"
    assert store.publish("habitat", 5, snaps[0], keep=3).outcome == "conflict"
    assert store.versions("habitat") == [3, 4, 5]
    assert store.current("habitat") == 5 and store.latest("habitat") == 5


def test_a_version_stored_as_not_servable_never_becomes_current() -> None:
    store = MemorySnapshotStore()
    s = signer()
    snaps = [seal({"v": v}, fields(v), s)[0] for v in range(1, 7)]
    for v in (1, 2):
        assert store.publish("habitat", v, snaps[v - 1], keep=3, servable=False).outcome == "ok"
    assert store.current("habitat") is None and store.latest("habitat") == 2
    assert store.publish("habitat", 3, snaps[2], keep=3).outcome == "ok"
    assert store.current("habitat") == 3
    for v in (4, 5, 6):  # say a stricter minimum: stored, never current (and current is kept)
        assert store.publish("habitat", v, snaps[v - 1], keep=3, servable=False).outcome == "ok"
    assert store.current("habitat") == 3 and store.versions("habitat") == [3, 4, 5, 6]


def test_dotted_names_cannot_walk_to_other_modules() -> None:
    module, name = b"river.stats.cov", b"np.f2py.subprocess.Popen"
    payload = (
        b"\x80\x04\x8c"
        + bytes([len(module)])
        + module
        + b"\x94\x8c"
        + bytes([len(name)])
        + name
        + b"\x94\x93\x94."
    )
    with pytest.raises(SnapshotRejected, match="not on the allowlist"):
        safe_loads(payload)


def test_numpy_state_round_trips() -> None:
    import numpy as np

    arr, rng = safe_loads(pickle.dumps((np.arange(3.0), np.random.default_rng(1)), protocol=5))
    assert arr.tolist() == [0.0, 1.0, 2.0] and rng.integers(10) == np.random.default_rng(
        1
    ).integers(10)


def test_a_snapshot_stored_under_another_identity_is_refused() -> None:
    s = signer()
    sealed, _ = seal({"a": 1}, fields(3), s)
    assert verify(sealed, s.verifier, model="habitat", version=3).version == 3
    with pytest.raises(SnapshotRejected, match="stored as v4"):
        verify(sealed, s.verifier, model="habitat", version=4)
    with pytest.raises(SnapshotRejected, match="stored as 'viability'"):
        unseal(sealed, s.verifier, model="viability")


def test_memory_store_moves_pins_and_audits_current_as_redis_does() -> None:
    from tests.unit.registry_contract import check_move_current_pin_and_history

    check_move_current_pin_and_history(MemorySnapshotStore())


def test_memory_store_prunes_by_the_rotation_as_redis_does() -> None:
    from tests.unit.registry_contract import check_rotation_and_rollback_reach

    check_rotation_and_rollback_reach(MemorySnapshotStore())


def test_memory_store_serves_the_model_part_alone() -> None:
    from tests.unit.registry_contract import check_model_part_and_manifest

    check_model_part_and_manifest(MemorySnapshotStore())
