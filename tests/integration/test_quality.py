"""Served-prediction quality: scores actually served, judged against the trainer's own
test-then-train predictions on the same events; shown by `lazarus models show`."""

from __future__ import annotations

import json

import redis

from lazarus.groups import group_name
from lazarus.quality.app import QualityApp
from lazarus.quality_store import read_quality
from lazarus.registry.signing import signer_from
from lazarus.schemas.models import HABITAT
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.specs import habitat
from tests.integration.cli import cli_env, lazarus
from tests.integration.scorerkit import running_scorer, wait_until
from tests.integration.trainerkit import (
    log_ends,
    produce_sensors,
    run_to_end,
    store_of,
    topics_of,
    with_keys,
)


def test_served_quality_and_decoupling_cost_per_version(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    produce_sensors(s, 1200)
    trainer = TrainerApp(s, habitat(), store_of(s), signer_from(s), cadence=Cadence(300, 60))
    trainer.start(30)
    run_to_end(trainer, log_ends(s, topics_of(s)))
    trainer.stop()
    learned = trainer.learner.state.n_learned
    version = store_of(s).current("habitat")
    assert version is not None
    with running_scorer(s) as scorer:
        wait_until(lambda: scorer.scored + scorer.dead_letters.count >= 1200, 60, "scores")
    client = redis.Redis.from_url(s.redis_url_value)
    app = QualityApp(s, HABITAT, client)
    app.start()
    wait_until(
        lambda: app.step() >= 0 and sum(r["n"] for r in app.join.rows()) >= learned, 60, "judging"
    )
    app.stop()
    (row,) = read_quality(client, s.redis_key_prefix, "habitat")
    assert row["version"] == version and row["n"] == learned  # every learned event was also served
    for name in ("Accuracy", "LogLoss"):
        assert row["served"][name] is not None and row["prequential"][name] is not None
        assert abs(row["cost"][name] - (row["served"][name] - row["prequential"][name])) < 1e-12
    assert 0.0 <= row["served"]["Accuracy"] <= 1.0
    assert row["segments"] and all(k.startswith("site_id=") for k in row["segments"])
    shown = json.loads(lazarus("models", "show", "habitat", "--json", env=cli_env(s)).stdout)
    assert shown["served_quality"]["n"] == learned
    table = lazarus("models", "show", "habitat", env=cli_env(s, COLUMNS="200"))
    assert "decoupling cost" in table.stdout
    # and the one-screen summary carries it all
    result = lazarus("status", "--json", env=cli_env(s))
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["ok"] and status["broker"]["ok"] and status["redis"]["ok"]
    (model,) = status["models"]
    assert model["model"] == "habitat" and model["current"] == version
    assert model["served_quality"]["n"] == learned and model["staleness_s"] >= 0
    groups = {g["group"]: g for g in status["groups"]}
    scorer_group = group_name(s.topic_prefix, "scorer", "habitat")
    assert groups[scorer_group]["committed"] and groups[scorer_group]["lag"] == 0
    assert status["dead_letters"] == scorer.dead_letters.count + trainer.dead_letters.count
    text = lazarus("status", env=cli_env(s, COLUMNS="250"))
    assert text.returncode == 0 and "habitat" in text.stdout and "dead letters" in text.stdout
    client.close()
