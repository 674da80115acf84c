"""The model lifecycle end to end, on the real broker and Redis (issue #17): a concept drift in
the simulated habitat feed is detected by the trainer, which starts a fresh challenger from the
drift point; scorers score it in shadow; the quality monitor judges it against the champion on
the same events and promotes it, with the evidence in the audit trail. And a deliberately bad
version, made current by hand, is rolled back by the guard."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.feed import FeedLimits, run_feed
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.quality.app import QualityApp
from lazarus.registry.lineup import Lineup
from lazarus.registry.signing import signer_from
from lazarus.schemas.lifecycle import (
    DriftPolicy,
    GuardPolicy,
    Lifecycle,
    PromotionPolicy,
    fresh_line,
)
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.learner import Learner
from lazarus.trainer.publishing import SnapshotPublisher
from lazarus.trainer.specs import ModelSpec, habitat
from tests.integration.scorerkit import running_scorer, wait_until
from tests.integration.trainerkit import START, store_of, with_keys

DRIFT_AT = 4000
"""The reading where the simulated climate shifts (the concept drift)."""
RATE = 1500.0
"""Readings per second the feed sends: scorers score each before a snapshot has learned it."""


def spec_with(lifecycle: Lifecycle) -> ModelSpec:
    return habitat().replace(lifecycle=lifecycle)


@contextmanager
def looping(step: Callable[[], Any], name: str) -> Iterator[None]:
    """`step()` called in a thread until the block ends; an exception fails the test."""
    stop, errors = threading.Event(), list[BaseException]()

    def loop() -> None:
        try:
            while not stop.is_set():
                step()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
    assert not errors, f"{name}: {errors}"


@contextmanager
def running_trainer(s: Settings, spec: ModelSpec) -> Iterator[TrainerApp]:
    client = redis.Redis.from_url(s.redis_url_value)
    app = TrainerApp(
        s,
        spec,
        store_of(s),
        signer_from(s),
        cadence=Cadence(200, 0.5),
        lineup=Lineup(client, s.redis_key_prefix),
    )
    app.start(30)
    try:
        with looping(app.step, "trainer"):
            yield app
    finally:
        app.stop()


@contextmanager
def running_quality(s: Settings, spec: ModelSpec) -> Iterator[QualityApp]:
    app = QualityApp(s, spec.contract, redis.Redis.from_url(s.redis_url_value))
    app.start()
    try:
        with looping(app.step, "quality"):
            yield app
    finally:
        app.stop()


@contextmanager
def feeding(s: Settings, *, seed: int, drift_at: int) -> Iterator[threading.Event]:
    """Readings and their outcomes (0.2 s later) at RATE, until the block ends."""
    stop = threading.Event()
    publisher = Publisher(producer_config(s)).start(10)
    stream = SensorNetwork(
        SimConfig(seed=seed, fault_rate=0.0, drift_at=drift_at, label_delay_s=0), START
    )
    p = s.topic_prefix

    def feed() -> None:
        run_feed(
            iter(stream),
            publisher,
            topic=SENSOR_READINGS.full(p),
            outcome_topic=HABITAT_OUTCOMES.full(p),
            limits=FeedLimits(rate=RATE, label_delay=0.2),
            stopped=stop.is_set,
        )

    def feed_once() -> None:
        feed()
        stop.wait()

    with looping(feed_once, "feed"):
        yield stop
    stop.set()
    publisher.close(10)


def labelled_before(drift_at: int, seed: int) -> int:
    """How many of the readings before the drift carry an outcome (the trainer learns those)."""
    stream = SensorNetwork(SimConfig(seed=seed, fault_rate=0.0, label_delay_s=0), START)
    return sum(out is not None for _, _, out in itertools.islice(stream, drift_at))


def wait_for(lineup: Lineup, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """`wait_until`, failing with the monitor's gate report (where the guard and gate stand)."""
    try:
        wait_until(predicate, timeout, what)
    except AssertionError as exc:
        report = json.dumps(lineup.record("habitat", "gate"), default=str)
        moves = [
            {k: r[k] for k in ("action", "line", "version", "actor", "reason") if k in r}
            for r in lineup.store.history("habitat", limit=10)
            if r["action"] != "publish"
        ]
        raise AssertionError(f"{exc}; the gate report: {report}; moves: {moves}") from None


def history(s: Settings, model: str) -> list[dict[str, str]]:
    return store_of(s).history(model, limit=1000)  # every publish is in it too


@pytest.mark.timeout(420)
def test_a_drift_starts_a_fresh_challenger_that_overtakes_and_is_promoted(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    spec = spec_with(
        Lifecycle(
            promotion=PromotionPolicy(min_events=400, margin=0.0, confidence=0.9),
            guard=GuardPolicy(min_events=300, margin=0.1, confidence=0.95, max_events=1500),
            drift=DriftPolicy(action="challenger"),
        )
    )
    lineup = Lineup(redis.Redis.from_url(s.redis_url_value), s.redis_key_prefix)
    fresh = fresh_line("habitat")
    with (
        running_trainer(s, spec) as trainer,
        running_scorer(s, contract=spec.contract) as scorer,
        running_quality(s, spec),
        feeding(s, seed=7, drift_at=DRIFT_AT),
    ):
        wait_until(lambda: trainer.drifts.last is not None, 180, "the drift to be detected")
        drift = trainer.drifts.last
        assert drift is not None and drift.source == "prequential" and drift.action == "challenger"
        delay = trainer.learner.state.n_learned - labelled_before(DRIFT_AT, 7)
        print(f"detection delay: about {delay} labelled events after the drift point")
        assert delay > 0, "detected before the drift"
        wait_until(
            lambda: fresh in (*lineup.challengers("habitat"), lineup.champion("habitat")),
            60,
            "the fresh line to join",
        )
        wait_for(
            lineup, lambda: lineup.champion("habitat") == fresh, 300, "the challenger's promotion"
        )
        assert scorer.events_in > 0
    promoted = [h for h in history(s, "habitat") if h["action"] == "promote"]
    assert promoted and promoted[0]["line"] == fresh and promoted[0]["actor"] == "quality-monitor"
    evidence = json.loads(promoted[0]["evidence"])
    assert evidence["events"] >= 400 and evidence["interval"][0] > 0.0, evidence
    drifted = [h for h in history(s, "habitat") if h["action"] == "challenger"]
    assert drifted, "the drift's action is in the audit trail"


def learned_by_baseline(lineup: Lineup) -> int:
    """Events the guard's baseline version learned (0 before there is one)."""
    base = lineup.baseline("habitat")
    manifest = None if base is None else lineup.store.manifest(base.line, base.version)
    return 0 if manifest is None else manifest.n_learned


def bad_model_line(s: Settings, spec: ModelSpec, line: str) -> int:
    """A habitat model trained on the simulator, then with every weight negated (it predicts the
    opposite of what it learned), published as version 1 of `line`, correctly signed."""
    learner = Learner(spec)
    stream = SensorNetwork(SimConfig(seed=3, fault_rate=0.0, label_delay_s=0), START)
    from lazarus.schemas import Outcome

    for n, (_, raw, out) in enumerate(itertools.islice(stream, 10_000), 1):
        learner.observe_features(SENSOR_READINGS.decode(raw), n)
        if out is not None:
            learner.observe_outcome(Outcome.model_validate_json(out))
    lr = learner.state.model["LogisticRegression"]
    for k in list(lr._weights):
        lr._weights[k] = -5.0 * lr._weights[k]
    lr.intercept = -lr.intercept
    bad = spec.replace(name=line)
    publisher = SnapshotPublisher(store_of(s), bad, signer_from(s), 1, keep=5)
    manifest = publisher.publish(learner)
    assert manifest is not None
    return manifest.version


@pytest.mark.timeout(420)
@pytest.mark.parametrize("seed", [11])
def test_a_deliberately_bad_version_made_current_is_rolled_back_with_evidence(
    settings: Settings, topics: list[str], seed: int
) -> None:
    s = with_keys(settings)
    spec = spec_with(
        Lifecycle(
            promotion=None,
            guard=GuardPolicy(min_events=200, margin=0.05, confidence=0.95, max_events=800),
            drift=DriftPolicy(action="alert"),
        )
    )
    client = redis.Redis.from_url(s.redis_url_value)
    lineup = Lineup(client, s.redis_key_prefix)
    with (
        running_trainer(s, spec),
        running_scorer(s, contract=spec.contract),
        running_quality(s, spec),
        feeding(s, seed=seed, drift_at=-1),
    ):
        wait_until(lambda: learned_by_baseline(lineup) >= 10_000, 180, "a well-trained baseline")
        version = bad_model_line(s, spec, "habitat.bad")
        lineup.promote("habitat", "habitat.bad", version, "a mistake, on purpose", "test")
        wait_for(
            lineup, lambda: lineup.champion("habitat") == "habitat", 300, "the guard's rollback"
        )
    assert lineup.held("habitat")
    rolled = [h for h in history(s, "habitat") if h["action"] == "rollback"]
    assert rolled and rolled[0]["actor"] == "quality-monitor", rolled
    evidence = json.loads(rolled[0]["evidence"])
    assert evidence["events"] >= 200 and evidence["interval"][1] < -0.05, evidence
