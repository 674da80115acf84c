"""Scorers against the real broker and Redis serve the champion line and score challengers and
the baseline in shadow (issue #17): every input gets its served score (or dead letter) and one
shadow score per shadow model; a promotion moves serving to the challenger's line, whose scores
keep the model's name and ids, and the former champion goes on in shadow; a baseline is scored
with role "baseline"."""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis

from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.kafka.transactional import TransactionalConsumer
from lazarus.registry.lineup import Lineup
from lazarus.schemas.lifecycle import fresh_line
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import HABITAT_SCORES, SENSOR_READINGS, SHADOW_SCORES, topic_names
from lazarus.scorer.app import ScorerApp
from lazarus.scorer.metrics_view import samples as samples_of
from lazarus.settings import Settings
from tests.integration.conftest import isolated_settings
from tests.integration.kafkatools import read_all, value_of
from tests.integration.scorerkit import ModelMaker, running_scorer, scores, send_sensors, wait_until
from tests.integration.trainerkit import with_keys

M = "habitat"
FRESH = fresh_line(M)


@pytest.fixture
def s(settings: Settings, topics: list[str]) -> Settings:
    return with_keys(settings).with_overrides(scorer_poll_seconds=0.5)


@pytest.fixture
def lineup(s: Settings) -> Lineup:
    return Lineup(redis.Redis.from_url(s.redis_url_value), s.redis_key_prefix)


def shadow_scores(s: Settings, expect: int) -> list[Score]:
    msgs = read_all(s, SHADOW_SCORES.full(s.topic_prefix), expect=expect, timeout=60)
    return [Score.model_validate_json(value_of(m)) for m in msgs]


def settled(app: ScorerApp, inputs: int) -> None:
    """Wait until `inputs` inputs are in and every output of theirs is acknowledged."""
    wait_until(lambda: app.events_in >= inputs, 60, f"{inputs} inputs")
    wait_until(lambda: len(app.ledger) == 0, 30, "acknowledgements")


def serving(app: ScorerApp, line: str, version: int) -> bool:
    return app.model is not None and (app.model.line, app.model.version) == (line, version)


def shadowing(app: ScorerApp, *expected: tuple[str, int, str]) -> bool:
    return {(sh.line, sh.version, sh.role) for sh in app.shadows} == set(expected)


def logged(caplog: pytest.LogCaptureFixture, start: str) -> bool:
    return any(r.getMessage().startswith(start) for r in caplog.records)


def lineage(score: Score, manifest: SnapshotManifest) -> bool:
    return (score.model_version, score.trained_through) == (
        manifest.version,
        manifest.trained_through,
    )


def test_challengers_and_the_baseline_score_in_shadow_and_a_promotion_swaps_lines(
    s: Settings, lineup: Lineup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lazarus.scorer.app")
    champion, fresh = ModelMaker(s), ModelMaker(s, seed=5, line=FRESH)
    h1 = champion.publish(learn=2000)
    f1 = fresh.publish(learn=1200)
    fresh_v1 = copy.deepcopy(fresh.learner.state.model)
    lineup.join(M, FRESH)
    with running_scorer(s) as app:
        wait_until(lambda: shadowing(app, (FRESH, f1.version, "challenger")), 15, "the challenger")
        first = send_sensors(s, 600, fault_rate=0.01)
        settled(app, 600)
        assert app.scored + app.dead_letters.count == 600 and app.scored == len(first)
        assert app.scoring.shadow.published == {(FRESH, "challenger"): app.scored}
        assert app.stats()["shadows"] == f"{FRESH} v{f1.version} (challenger)"

        lineup.promote(M, FRESH, f1.version, "test: fresh is better", "tester")
        wait_until(lambda: serving(app, FRESH, f1.version), 15, "the promotion served")
        swap = f"serving {FRESH} v{f1.version} (promoted; was {M} v{h1.version})"
        wait_until(lambda: logged(caplog, swap), 10, f"the log line {swap!r}")
        wait_until(lambda: shadowing(app, (M, h1.version, "challenger")), 15, "habitat in shadow")
        second = send_sensors(s, 300, seed=2)
        settled(app, 900)
        assert app.stats()["line"] == FRESH

        f2 = fresh.publish(learn=300)  # the served line moves on; its previous version is the
        lineup.set_baseline(M, FRESH, f1.version)  # baseline the rollback guard compares with
        wait_until(lambda: serving(app, FRESH, f2.version), 15, "the champion line's v2")
        wait_until(
            lambda: shadowing(app, (M, h1.version, "challenger"), (FRESH, f1.version, "baseline")),
            15,
            "the baseline in shadow",
        )
        third = send_sensors(s, 300, seed=3)
        settled(app, 1200)
        shadowed = app.scoring.shadow.published
        assert app.scoring.shadow.failed == 0
    served = scores(s, expect=len(first) + 600)
    assert len(served) == len(first) + 600 == app.scored  # nothing scored twice
    assert all(sc.model == M and sc.shadow_of is None and sc.role is None for sc in served)
    assert all(sc.event_id == score_id(sc.input_event_id, M) for sc in served)
    by_input = {sc.input_event_id: sc for sc in served}
    assert all(lineage(by_input[i], h1) for i in first)
    assert all(lineage(by_input[i], f1) for i in second)
    assert all(lineage(by_input[i], f2) for i in third)

    shadows = shadow_scores(s, expect=len(first) + 300 + 2 * 300)
    assert len(shadows) == sum(shadowed.values()) == len(first) + 3 * 300
    assert all(sc.shadow_of == M for sc in shadows)
    kinds = Counter((sc.model, sc.model_version, sc.role) for sc in shadows)
    assert kinds == {
        (FRESH, f1.version, "challenger"): len(first),
        (M, h1.version, "challenger"): 600,
        (FRESH, f1.version, "baseline"): 300,
    }
    assert shadowed == {(FRESH, "challenger"): len(first), (M, "challenger"): 600,
                        (FRESH, "baseline"): 300}  # fmt: skip
    for sc in shadows:
        line = f"{sc.model}|{sc.role}"
        assert sc.event_id == score_id(sc.input_event_id, line)
    assert len({sc.event_id for sc in shadows}) == len(shadows)  # one per input, line, role
    assert {sc.input_event_id for sc in shadows if sc.model == FRESH} == set(first) | set(third)
    # each score is its model's own prediction for the features of the input
    readings = read_all(s, SENSOR_READINGS.full(s.topic_prefix), expect=1200, timeout=60)
    features = {}
    for msg in readings:
        try:
            event = SENSOR_READINGS.decode(value_of(msg))
        except ValueError:
            continue
        features[event.event_id] = event.to_features()  # type: ignore[attr-defined]
    shadow_of = {(sc.input_event_id, sc.model, sc.role): sc for sc in shadows}
    for i in first[:100]:
        assert p_true(shadow_of[(i, FRESH, "challenger")]) == pytest.approx(
            fresh_v1.predict_proba_one(features[i])[True], abs=1e-9
        )
    for i in second[:100]:
        assert p_true(by_input[i]) == pytest.approx(
            fresh_v1.predict_proba_one(features[i])[True], abs=1e-9
        )
        assert p_true(shadow_of[(i, M, "challenger")]) == pytest.approx(
            champion.learner.state.model.predict_proba_one(features[i])[True], abs=1e-9
        )


def p_true(score: Score) -> float:
    assert score.probabilities is not None
    return score.probabilities["True"]


def test_a_refused_challenger_version_keeps_the_last_good_one_and_leaving_stops_it(
    s: Settings, lineup: Lineup
) -> None:
    ModelMaker(s).publish(learn=1000)
    fresh = ModelMaker(s, seed=5, line=FRESH)
    f1 = fresh.publish(learn=500)
    lineup.join(M, FRESH)  # a join announces nothing: the poll finds it
    with running_scorer(s.with_overrides(scorer_poll_seconds=0.3), notifications=False) as app:
        wait_until(lambda: shadowing(app, (FRESH, f1.version, "challenger")), 15, "the join")
        sealed, version = fresh.sealed_next()
        flipped = bytearray(sealed.model)
        flipped[len(flipped) // 3] ^= 0x40
        fresh.force(replace(sealed, model=bytes(flipped)), version)  # current: a bad version
        refused = app.shadow_watcher.stats.refused_lines
        wait_until(lambda: (FRESH, version) in refused, 15, "the refusal")
        assert shadowing(app, (FRESH, f1.version, "challenger"))  # the last good one stays
        assert app.watcher.stats.refused == 0 and serving(app, M, 1)
        send_sensors(s, 200)
        settled(app, 200)
        assert app.scoring.shadow.published == {(FRESH, "challenger"): app.scored}
        samples = {(x.name, tuple(sorted(x.labels.items()))): x.value for x in samples_of(app)}
        key = (("line", FRESH), ("model", M), ("role", app.role), ("shadow", "challenger"))
        assert samples[("shadow_scores", key)] == app.scored
        assert samples[("shadow_snapshots_refused", (("model", M), ("role", app.role)))] == 1

        lineup.leave(M, FRESH)
        wait_until(lambda: app.shadows == (), 15, "the challenger gone")
        send_sensors(s, 100, seed=4)
        settled(app, 300)
        assert app.scoring.shadow.published == {(FRESH, "challenger"): 200}
        assert app.stats()["shadows"] == "" and app.stats()["shadow_scored"] == 200
    assert len(scores(s, expect=300)) == 300
    assert len(shadow_scores(s, expect=200)) == 200


@pytest.fixture
def eos(apache_bootstrap: str, redis_url: str) -> Iterator[Settings]:
    """Exactly-once scorers on Apache Kafka (Tansu shows aborted records: refused there)."""
    for base in isolated_settings(apache_bootstrap, redis_url):
        s = with_keys(base).with_overrides(scorer_delivery="exactly-once", scorer_poll_seconds=0.5)
        ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), 2)
        yield s


def test_exactly_once_shadow_scores_commit_with_their_batch(eos: Settings) -> None:
    ModelMaker(eos).publish(learn=1000)
    f1 = ModelMaker(eos, seed=5, line=FRESH).publish(learn=500)
    Lineup(redis.Redis.from_url(eos.redis_url_value), eos.redis_key_prefix).join(M, FRESH)
    with running_scorer(eos) as app:
        wait_until(lambda: shadowing(app, (FRESH, f1.version, "challenger")), 15, "the join")
        ids = send_sensors(eos, 400)
        settled(app, 400)
        assert isinstance(app.consumer, TransactionalConsumer) and app.consumer.commits > 0
    committed = {
        topic.full(eos.topic_prefix): Counter(
            Score.model_validate_json(value_of(m)).input_event_id
            for m in read_all(eos, topic.full(eos.topic_prefix), expect=400, read_committed=True)
        )
        for topic in (HABITAT_SCORES, SHADOW_SCORES)
    }
    for counts in committed.values():
        assert set(counts) == set(ids) and set(counts.values()) == {1}
