"""`lazarus models promote|rollback|history`: explicit moves of `current`, audited, followed by scorers."""

from __future__ import annotations

import json
from dataclasses import replace

from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.integration.scorerkit import ModelMaker, running_scorer, wait_until
from tests.integration.trainerkit import store_of, with_keys


def test_rollback_pins_promote_releases_and_scorers_follow(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    maker = ModelMaker(s)
    for _ in range(3):
        maker.publish()
    env = cli_env(s)
    store = store_of(s)
    with running_scorer(s) as app:
        wait_until(lambda: app.model is not None and app.model.version == 3, 10, "v3")
        done = lazarus("models", "rollback", "habitat", "1", "--reason", "v2+ drift badly", env=env)
        assert done.returncode == 0, done.stderr
        assert "v3 -> v1" in done.stdout
        wait_until(lambda: app.model is not None and app.model.version == 1, 5, "the rollback")
        maker.publish()  # v4: the trainer goes on, but current stays pinned at v1
        assert store.latest("habitat") == 4 and store.current("habitat") == 1
        assert app.model is not None and app.model.version == 1
        done = lazarus("models", "promote", "habitat", "4", "--reason", "v4 validated", env=env)
        assert done.returncode == 0, done.stderr
        wait_until(lambda: app.model is not None and app.model.version == 4, 5, "the promote")
        maker.publish()  # v5: unpinned, publishes advance current again
        wait_until(lambda: app.model is not None and app.model.version == 5, 5, "v5")
    history = json.loads(lazarus("models", "history", "habitat", "--json", env=env).stdout)
    assert [(h["action"], h["version"]) for h in history[:3]] == [
        ("publish", 5),
        ("promote", 4),
        ("rollback", 1),
    ]
    assert history[2]["reason"] == "v2+ drift badly" and history[2]["previous"] == 3
    assert "@" in history[1]["actor"]
    table = lazarus("models", "history", "habitat", env=env)
    assert "rollback" in table.stdout and "v4 validated" in table.stdout


def test_bad_moves_are_refused_with_one_line(settings: Settings, topics: list[str]) -> None:
    s = with_keys(settings)
    maker = ModelMaker(s)
    maker.publish()
    maker.publish()
    env = cli_env(s)
    forward = lazarus("models", "rollback", "habitat", "2", "--reason", "x", env=env)
    assert forward.returncode == 1 and "promote" in forward.stderr
    missing = lazarus("models", "promote", "habitat", "9", "--reason", "x", env=env)
    assert missing.returncode == 1 and "not stored" in missing.stderr
    no_reason = lazarus("models", "promote", "habitat", "1", env=env)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    sealed, version = maker.sealed_next()
    flipped = bytearray(sealed.model)
    flipped[5] ^= 1
    store_of(s).publish("habitat", version, replace(sealed, model=bytes(flipped)), 10)
    tampered = lazarus("models", "promote", "habitat", str(version), "--reason", "x", env=env)
    assert tampered.returncode == 1 and "fails verification" in tampered.stderr
