"""Served-prediction quality: scores actually served, judged against the trainer's own
test-then-train predictions on the same events, counting only the scores whose version had not
learned the event yet; shown by `lazarus models show`, `lazarus status` and their --json."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import redis

from lazarus.groups import group_name
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.feed import FeedLimits, run_feed
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.quality.app import QualityApp
from lazarus.quality_store import read_overall, read_quality
from lazarus.registry.signing import signer_from
from lazarus.schemas.models import HABITAT
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.specs import habitat
from tests.integration.cli import cli_env, lazarus
from tests.integration.scorerkit import running_scorer, wait_until
from tests.integration.trainerkit import START, log_ends, run_to_end, store_of, topics_of, with_keys

HALF = 600
"""Readings (and their outcomes) in each half of the recording."""


def feed(settings: Settings, stream: Iterator[tuple[str, bytes, bytes | None]], count: int) -> None:
    """The next `count` readings of `stream` and their outcomes, all on the broker on return."""
    publisher = Publisher(producer_config(settings)).start(10)
    p = settings.topic_prefix
    run_feed(
        itertools.islice(stream, count),
        publisher,
        topic=SENSOR_READINGS.full(p),
        outcome_topic=HABITAT_OUTCOMES.full(p),
        limits=FeedLimits(count=count),
        stopped=lambda: False,
    )
    counts = publisher.close(30)
    assert counts.failed == 0 and counts.acked == 2 * count


def train_to_end(s: Settings) -> TrainerApp:
    """A trainer, stopped after it ran over everything on the topics (from its last snapshot)."""
    trainer = TrainerApp(s, habitat(), store_of(s), signer_from(s), cadence=Cadence(300, 60))
    trainer.start(30)
    run_to_end(trainer, log_ends(s, topics_of(s)))
    trainer.stop()
    return trainer


def test_served_quality_counts_only_scores_of_events_their_version_had_not_learned(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    store = store_of(s)
    stream = iter(SensorNetwork(SimConfig(seed=5, fault_rate=0.002, label_delay_s=0), START))
    # The first half is learned, then served by the version that learned it (a scorer's backlog).
    feed(s, stream, HALF)
    first = train_to_end(s)
    learned_first = first.learner.state.n_learned
    served_by = store.current("habitat")
    assert served_by is not None
    with running_scorer(s) as scorer:
        wait_until(lambda: scorer.scored + scorer.dead_letters.count >= HALF, 60, "backlog")
        # The second half is served by that version before any trainer has read it.
        feed(s, stream, HALF)
        wait_until(lambda: scorer.scored + scorer.dead_letters.count >= 2 * HALF, 60, "scores")
    second = train_to_end(s)  # learns the second half, and publishes newer versions
    learned = second.learner.state.n_learned
    assert learned_first > 0 and learned > learned_first
    honest = learned - learned_first
    client = redis.Redis.from_url(s.redis_url_value)
    app = QualityApp(s, HABITAT, client)
    app.start()
    wait_until(lambda: app.step() >= 0 and app.join.overall.judged >= learned, 60, "judging")
    app.stop()

    (row,) = read_quality(client, s.redis_key_prefix, "habitat")
    # every learned event was served, and judged (honest) only if its version had not learned it
    assert row["version"] == served_by
    assert (row["n"], row["learned_before_served"], row["position_unknown"]) == (
        honest,
        learned_first,
        0,
    )
    assert row["n"] + row["learned_before_served"] + row["position_unknown"] == learned
    for name, bigger_is_better in (("Accuracy", True), ("LogLoss", False)):
        served, preq = row["served"][name], row["prequential"][name]
        assert served is not None and preq is not None
        expected = preq - served if bigger_is_better else served - preq
        worse = row["served_worse_by"][name]
        assert worse is not None and abs(worse - expected) < 1e-12  # positive: serving loses
    assert 0.0 <= (row["served"]["Accuracy"] or 0.0) <= 1.0
    assert row["segments"] and all(k.startswith("site_id=") for k in row["segments"])
    assert sum(seg["n"] for seg in row["segments"].values()) == honest  # one site each
    overall = read_overall(client, s.redis_key_prefix, "habitat")
    assert overall is not None and overall["versions"] == [served_by]
    assert (overall["n"], overall["learned_before_served"]) == (honest, learned_first)
    assert overall["served"] == row["served"]  # one version: the same events

    # Shown for the version that served, as the current one after an operator's rollback.
    outcome, _ = store.move_current("habitat", served_by, "rollback", "test", "test@host")
    assert outcome == "ok"
    shown = json.loads(lazarus("models", "show", "habitat", "--json", env=cli_env(s)).stdout)
    assert shown["version"] == served_by
    assert shown["served_quality"]["n"] == honest
    assert shown["served_quality"]["learned_before_served"] == learned_first
    assert shown["served_quality_all_versions"]["n"] == honest
    table = lazarus("models", "show", "habitat", env=cli_env(s, COLUMNS="250")).stdout
    assert f"{honest:,} honest scores" in table and f"{learned_first:,} learned before" in table
    assert "served worse by" in table and "all versions" in table
    # and the one-screen summary carries it all
    result = lazarus("status", "--json", env=cli_env(s))
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["ok"] and status["broker"]["ok"] and status["redis"]["ok"]
    (model,) = status["models"]
    assert model["model"] == "habitat" and model["current"] == served_by
    assert model["served_quality"]["n"] == honest and model["staleness_s"] >= 0
    groups = {g["group"]: g for g in status["groups"]}
    scorer_group = group_name(s.topic_prefix, "scorer", "habitat")
    assert groups[scorer_group]["committed"] and groups[scorer_group]["lag"] == 0
    dead = (scorer, first, second)
    assert status["dead_letters"] == sum(role.dead_letters.count for role in dead)
    text = lazarus("status", env=cli_env(s, COLUMNS="250"))
    assert text.returncode == 0 and "habitat" in text.stdout and "worse by" in text.stdout
    client.close()
