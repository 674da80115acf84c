"""Rollback reach on Redis: versions made over days are pruned by the rotation, `models list`
and `models history` say what is kept and why, and a rollback reaches an hourly version."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import redis

from lazarus.registry import keys
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.retention import Retention, kept
from lazarus.registry.sealing import seal
from lazarus.registry.signing import generate, parse_private
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.integration.scorerkit import ModelMaker
from tests.integration.trainerkit import store_of, with_keys
from tests.unit.test_registry import fields

POLICY = Retention(last=3, minutely=0, hourly=4, daily=3)
# (days before today, hour, minute) of versions 1..12, in publishing order
MADE = [
    (3, 10, 0),
    (3, 20, 0),
    (2, 8, 0),
    (2, 8, 30),
    (1, 9, 0),
    (1, 21, 10),
    (1, 21, 40),
    (1, 22, 5),
    (1, 22, 50),
    (1, 23, 15),
    (1, 23, 40),
    (1, 23, 55),
]


def publish_over_days(maker: ModelMaker, store: RedisSnapshotStore) -> dict[int, datetime]:
    """Versions 1..12 of a learning habitat model, each created at its MADE time (UTC)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    made: dict[int, datetime] = {}
    for version, (days, hour, minute) in enumerate(MADE, 1):
        made[version] = today - timedelta(days=days) + timedelta(hours=hour, minutes=minute)
        maker.learn(200)
        manifest_fields = {
            **maker.publisher._fields(maker.learner),
            "version": version,
            "created_at": made[version],
        }
        state = maker.learner.state
        sealed, _ = seal(state, manifest_fields, maker.signer, serving=state.model)
        assert store.publish("habitat", version, sealed, POLICY).outcome == "ok"
    return made


def test_versions_made_over_days_are_kept_by_the_rotation_and_reachable(
    settings: Settings,
) -> None:
    s = with_keys(settings)
    store = store_of(s)
    made = publish_over_days(ModelMaker(s), store)
    survivors = [2, 4, 5, 7, 9, 10, 11, 12]  # daily, daily, hourly, hourly, hourly, last 3
    assert store.versions("habitat") == survivors
    assert store.created("habitat") == {v: made[v] for v in survivors}
    assert set(kept(made, POLICY, current=12, newest=12)) == set(survivors)
    env = cli_env(s)  # its own settings keep 10/24/7: it reports the rotation the store used

    listed = json.loads(lazarus("models", "list", "--json", env=env).stdout)
    (row,) = listed
    assert (row["kept"], row["oldest_kept"], row["retention"]) == (
        8,
        2,
        {"last": 3, "minutely": 0, "hourly": 4, "daily": 3},
    )
    assert datetime.fromisoformat(row["oldest_kept_at"]) == made[2]
    age = (datetime.now(UTC) - made[2]).total_seconds()
    assert age - 120 < row["oldest_kept_age_s"] <= age
    why = {k["version"]: k["why"] for k in row["kept_versions"]}
    hour_21 = f"hourly {made[7]:%Y-%m-%dT%H}"
    assert why[7] == [hour_21] and why[2] == [f"daily {made[2]:%Y-%m-%d}"]
    assert why[12][:3] == ["current", "newest", "last 3"]
    table = lazarus("models", "list", env=env).stdout
    assert "reach" in table and "v2, " in table and "ago" in table

    gone = lazarus("models", "rollback", "habitat", "6", "--reason", "too far", env=env)
    assert gone.returncode == 1 and "not stored" in gone.stderr
    done = lazarus("models", "rollback", "habitat", "7", "--reason", "v8+ drift", env=env)
    assert done.returncode == 0, done.stderr
    assert (store.current("habitat"), store.pinned("habitat")) == (7, 7)

    history = json.loads(lazarus("models", "history", "habitat", "--json", env=env).stdout)
    assert history[0]["action"] == "rollback" and history[0]["kept"] == [
        "current",
        "pinned",
        hour_21,
    ]
    pruned = [h for h in history if h["version"] in (1, 3, 6, 8)]
    assert pruned and all(h["kept"] == [] for h in pruned)
    shown = lazarus("models", "history", "habitat", env=env).stdout
    assert "kept because" in shown and "current, pinned, " + hour_21 in shown


def test_a_stale_prune_plan_never_removes_current_pinned_or_new(settings: Settings) -> None:
    """The script re-checks what it prunes: even told to drop everything, it keeps the version
    a rollback pinned, the current one and the one it stores."""

    class DropsEverything(RedisSnapshotStore):
        def _to_prune(self, model: str, *args: object, **kwargs: object) -> list[int]:
            return self.versions(model)

    client = redis.Redis.from_url(settings.redis_url_value)
    store = RedisSnapshotStore(client, settings.redis_key_prefix)
    signer = parse_private(generate()[0])
    snaps = [seal({"v": v}, fields(v), signer)[0] for v in range(1, 7)]
    for v in range(1, 5):
        assert store.publish("habitat", v, snaps[v - 1], keep=10).outcome == "ok"
    assert store.move_current("habitat", 2, "rollback", "bad v3", "ops") == ("ok", 4)
    stale = DropsEverything(client, settings.redis_key_prefix)
    assert stale.publish("habitat", 5, snaps[4], keep=10).outcome == "ok"
    assert store.versions("habitat") == [2, 5] and store.get("habitat", 2) is not None
    assert store.move_current("habitat", 5, "promote", "fixed", "ops") == ("ok", 2)
    assert stale.publish("habitat", 6, snaps[5], keep=10, servable=False).outcome == "ok"
    assert store.versions("habitat") == [5, 6]  # current (promoted, unpinned) and the new one
    assert sorted(store.created("habitat")) == [5, 6]


def test_versions_stored_before_creation_times_were_kept_are_read_from_manifests(
    settings: Settings,
) -> None:
    client = redis.Redis.from_url(settings.redis_url_value)
    store = RedisSnapshotStore(client, settings.redis_key_prefix)
    signer = parse_private(generate()[0])
    day = datetime(2026, 11, 28, 12, tzinfo=UTC)
    made = {v: day + timedelta(days=v) for v in range(1, 5)}
    snaps = [seal({"v": v}, {**fields(v), "created_at": made[v]}, signer)[0] for v in made]
    for v in (1, 2, 3):
        assert store.publish("habitat", v, snaps[v - 1], keep=10).outcome == "ok"
    client.delete(keys.created_key(settings.redis_key_prefix, "habitat"))  # as an older Lazarus
    assert store.created("habitat") == {v: made[v] for v in (1, 2, 3)}
    policy = Retention(last=1, minutely=0, hourly=0, daily=2)
    assert store.publish("habitat", 4, snaps[3], policy).outcome == "ok"
    assert store.versions("habitat") == [3, 4]  # daily: the last two days; v1, v2 pruned
    assert store.retention("habitat") == policy
    old = json.dumps({"last": 1, "hourly": 0, "daily": 2})  # before the per-minute rule
    client.set(keys.retention_key(settings.redis_key_prefix, "habitat"), old)
    assert store.retention("habitat") == policy
