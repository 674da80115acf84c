"""The Redis snapshot store: atomic publish, version sequence, retention, notifications."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import redis

from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.sealing import seal, verify
from lazarus.registry.signing import generate, parse_private
from lazarus.settings import Settings
from tests.unit.registry_contract import (
    check_model_part_and_manifest,
    check_move_current_pin_and_history,
    check_rotation_and_rollback_reach,
)
from tests.unit.test_registry import fields


def test_publish_sequence_retention_and_notification(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url_value)
    store = RedisSnapshotStore(client, settings.redis_key_prefix)
    signer = parse_private(generate()[0])
    pubsub = client.pubsub()
    pubsub.subscribe(store.channel("habitat"))
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    snaps = [seal({"v": v}, fields(v), signer)[0] for v in range(1, 7)]
    assert store.publish("habitat", 3, snaps[2], keep=3).outcome == "gap"
    for v in range(1, 7):
        assert store.publish("habitat", v, snaps[v - 1], keep=3).outcome == "ok"
    assert store.publish("habitat", 6, snaps[5], keep=3).outcome == "exists"
    assert store.publish("habitat", 6, snaps[0], keep=3).outcome == "conflict"
    assert store.versions("habitat") == [4, 5, 6]
    assert store.get("habitat", 1) is None
    assert (store.latest("habitat"), store.current("habitat")) == (6, 6)
    got = store.get("habitat", 6)
    assert got is not None and verify(got, signer.verifier).version == 6
    notes: list[dict[str, object]] = []
    deadline = time.monotonic() + 5
    while len(notes) < 6 and time.monotonic() < deadline:
        msg = pubsub.get_message(timeout=0.5)
        if msg and msg["type"] == "message":
            notes.append(json.loads(msg["data"]))
    assert [n["version"] for n in notes] == [1, 2, 3, 4, 5, 6]
    assert store.models() == ["habitat"]
    pubsub.close()


def test_current_never_moves_backward_on_publish(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url_value)
    store = RedisSnapshotStore(client, settings.redis_key_prefix)
    signer = parse_private(generate()[0])
    store.publish("m", 1, seal({}, {**fields(1), "model": "m"}, signer)[0], keep=5)
    client.set(
        f"{store.base('m')}:current", 9
    )  # an operator pointed it ahead (a promote, issue #6)
    store.publish(
        "m",
        2,
        seal({}, {**fields(2), "model": "m", "created_at": datetime.now(UTC)}, signer)[0],
        keep=5,
    )
    assert store.current("m") == 9 and store.latest("m") == 2


def test_moves_of_current_are_atomic_pinned_and_audited(settings: Settings) -> None:
    store = RedisSnapshotStore(
        redis.Redis.from_url(settings.redis_url_value), settings.redis_key_prefix
    )
    check_move_current_pin_and_history(store)


def test_publishes_prune_by_the_rotation_atomically(settings: Settings) -> None:
    store = RedisSnapshotStore(
        redis.Redis.from_url(settings.redis_url_value), settings.redis_key_prefix
    )
    check_rotation_and_rollback_reach(store)


def test_scorers_fetch_the_model_part_alone(settings: Settings) -> None:
    store = RedisSnapshotStore(
        redis.Redis.from_url(settings.redis_url_value), settings.redis_key_prefix
    )
    check_model_part_and_manifest(store)
