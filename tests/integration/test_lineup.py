"""The lineup in Redis (`lazarus.registry.lineup`): the champion line, challengers, promotion and
its rollback with evidence in the audit stream, the hold, generations, and the baseline kept
by the registry's rotation."""

from __future__ import annotations

import json

import redis

from lazarus.registry.lineup import Baseline, Lineup
from lazarus.registry.sealing import seal
from lazarus.registry.signing import generate, parse_private, signer_from
from lazarus.settings import Settings
from tests.unit.test_registry import fields

SIGNER = parse_private(generate()[0])


def publish(lineup: Lineup, line: str, upto: int, keep: int = 3) -> None:
    for v in range(lineup.store.latest(line) + 1, upto + 1):
        sealed = seal({"v": v}, {**fields(v), "model": line}, SIGNER)[0]
        assert lineup.store.publish(line, v, sealed, keep=keep).outcome == "ok"


def test_promotion_moves_the_champion_line_with_evidence_and_a_note(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url_value)
    lineup = Lineup(client, settings.redis_key_prefix)
    publish(lineup, "habitat", 2)
    publish(lineup, "habitat.fresh", 1)
    assert lineup.champion("habitat") == "habitat" and lineup.challengers("habitat") == []
    lineup.join("habitat", "habitat.fresh")
    lineup.join("habitat", "habitat")  # a line never challenges itself
    assert lineup.challengers("habitat") == ["habitat.fresh"]
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(lineup.store.channel("habitat"))
    pubsub.get_message(timeout=1)
    previous = lineup.promote("habitat", "habitat.fresh", 1, "gate", "quality-monitor", {"n": 5})
    assert previous == "habitat"
    assert lineup.champion("habitat") == "habitat.fresh"
    assert lineup.challengers("habitat") == ["habitat"]  # the old champion challenges now
    note = None
    for _ in range(20):
        msg = pubsub.get_message(timeout=0.5)
        if msg is not None:
            note = json.loads(msg["data"])
            break
    assert note == {"model": "habitat", "action": "promote", "line": "habitat.fresh", "version": 1}
    row = lineup.store.history("habitat")[0]
    assert (row["action"], row["line"], row["version"], row["previous"]) == (
        "promote", "habitat.fresh", "1", "habitat",
    )  # fmt: skip
    assert json.loads(row["evidence"]) == {"n": 5}
    pubsub.close()


def test_rolling_back_a_promotion_restores_the_line_and_holds(settings: Settings) -> None:
    lineup = Lineup(redis.Redis.from_url(settings.redis_url_value), settings.redis_key_prefix)
    publish(lineup, "habitat", 3)
    publish(lineup, "habitat.bad", 1)
    lineup.promote("habitat", "habitat.bad", 1, "by hand", "operator")
    outcome = lineup.rollback(
        "habitat", Baseline("habitat", 3, 0.0), "guard", "quality-monitor", {"events": 9}
    )
    assert outcome == "ok" and lineup.champion("habitat") == "habitat"
    assert lineup.held("habitat") and lineup.challengers("habitat") == ["habitat.bad"]
    row = lineup.store.history("habitat")[0]
    assert (row["action"], row["line"], row["previous"]) == ("rollback", "habitat", "habitat.bad")
    assert json.loads(row["evidence"]) == {"events": 9}
    lineup.promote("habitat", "habitat.bad", 1, "an operator's word", "operator")
    assert not lineup.held("habitat")  # a promotion lifts the hold


def test_rolling_back_within_a_line_pins_it_with_one_audit_row(settings: Settings) -> None:
    lineup = Lineup(redis.Redis.from_url(settings.redis_url_value), settings.redis_key_prefix)
    publish(lineup, "habitat", 4)
    outcome = lineup.rollback("habitat", Baseline("habitat", 2, 0.0), "guard", "qm", {"e": 1})
    assert outcome == "ok"
    assert lineup.store.current("habitat") == 2 and lineup.store.pinned("habitat") == 2
    rows = [r for r in lineup.store.history("habitat") if r["action"] == "rollback"]
    assert len(rows) == 1 and json.loads(rows[0]["evidence"]) == {"e": 1}


def test_the_baseline_survives_the_rotation_and_generations_count(settings: Settings) -> None:
    lineup = Lineup(redis.Redis.from_url(settings.redis_url_value), settings.redis_key_prefix)
    publish(lineup, "habitat", 2, keep=2)
    lineup.set_baseline("habitat", "habitat", 1)
    publish(lineup, "habitat", 8, keep=2)
    assert 1 in lineup.store.versions("habitat")  # kept for the guard, beyond `keep`
    assert lineup.store.versions("habitat") == [1, 7, 8]
    lineup.set_baseline("habitat", "habitat", 8)
    publish(lineup, "habitat", 9, keep=2)
    assert 1 not in lineup.store.versions("habitat")  # no longer the baseline
    assert lineup.generations("habitat") == {}
    assert lineup.new_generation("habitat", "habitat.fresh") == 1
    assert lineup.new_generation("habitat", "habitat.fresh") == 2
    assert lineup.generations("habitat") == {"habitat.fresh": 2}


def test_models_promote_with_line_makes_the_challenger_the_champion(settings: Settings) -> None:
    from tests.integration.cli import cli_env, lazarus
    from tests.integration.trainerkit import with_keys

    s = with_keys(settings)
    lineup = Lineup(redis.Redis.from_url(s.redis_url_value), s.redis_key_prefix)
    signer = signer_from(s)
    for line, upto in (("habitat", 2), ("habitat.fresh", 1)):
        for v in range(1, upto + 1):
            sealed = seal({"v": v}, {**fields(v), "model": line}, signer, serving={"m": v})[0]
            assert lineup.store.publish(line, v, sealed, keep=5).outcome == "ok"
    lineup.join("habitat", "habitat.fresh")
    env = cli_env(s)
    done = lazarus(
        "models", "promote", "habitat", "1", "--line", "habitat.fresh", "--reason", "r", env=env
    )
    assert done.returncode == 0, done.stderr
    assert "habitat.fresh is now the champion of habitat" in done.stdout
    assert lineup.champion("habitat") == "habitat.fresh"
    back = lazarus("models", "promote", "habitat", "2", "--reason", "back", env=env)
    assert back.returncode == 0, back.stderr
    assert lineup.champion("habitat") == "habitat"
    assert [r["action"] for r in lineup.store.history("habitat")][:2] == ["promote", "promote"]
