"""Scorers of a per-key model (issue #18) on the real broker and Redis: each input is scored by
the shard of its partition, routed by its key to the key's model or the shard's fallback; a
partition whose shard has nothing to serve waits, unread; one shard swaps alone; a shard
version that is unsigned or tampered with is refused; in = scored + dead-lettered, at least
once and exactly once."""

from __future__ import annotations

import dataclasses
import itertools
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from lazarus.groups import group_name
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.sealing import seal
from lazarus.registry.signing import Signer, generate, parse_private, signer_from
from lazarus.schemas import Outcome
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.schemas.per_key import PerKey, shard_line
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import DEAD_LETTERS, HABITAT_SITES_SCORES, SENSOR_READINGS, topic_names
from lazarus.scorer.keyed_app import KeyedScorerApp
from lazarus.settings import Settings
from lazarus.trainer.keyed_learner import KeyedLearner
from lazarus.trainer.publishing import SnapshotPublisher
from lazarus.trainer.specs import load_spec
from tests.integration.conftest import isolated_settings
from tests.integration.kafkatools import read_all
from tests.integration.scorerkit import running_scorer, wait_until
from tests.integration.trainerkit import START, log_ends, store_of, with_keys

M = "habitat_sites"
SPEC = load_spec(M).replace(per_key=PerKey("site_id", min_history=20))
SPARSE = "site-000"
"""A site its shard learns only 3 events of: the shard's fallback answers for it."""
GARBAGE = [b"not json", b'{"event_id": "x"}', b"\xff\xfe"]


def partition_of(site: str) -> int:
    """Sites are produced to partition (site number) % 2, as a keyed producer would spread them."""
    return int(site.rsplit("-", 1)[1]) % 2


@pytest.fixture
def s(settings: Settings, topics: list[str]) -> Settings:
    return with_keys(settings).with_overrides(scorer_poll_seconds=0.5)


class ShardMaker:
    """Trains shard `partition` of SPEC (the sites of that partition) in memory and publishes
    its versions to `shard_line(M, partition)` as a shard trainer would."""

    def __init__(self, s: Settings, partition: int, signer: Signer | None = None) -> None:
        self.partition = partition
        self.line = shard_line(M, partition)
        self.spec = SPEC.replace(name=self.line)
        self.learner = KeyedLearner(self.spec)
        self.store = store_of(s)
        self.signer = signer or signer_from(s)
        self.publisher = SnapshotPublisher(
            self.store, self.spec, self.signer, self.store.latest(self.line) + 1, keep=10
        )
        self.topic = SENSOR_READINGS.full(s.topic_prefix)
        self._stream = iter(
            SensorNetwork(SimConfig(seed=11, fault_rate=0.0, label_delay_s=0), START)
        )
        self._n = 0

    def learn(self, n: int) -> None:
        """Learn `n` readings of this partition's sites (of SPARSE, only the first 3)."""
        model = self.learner.state.model
        while n > 0:
            _, raw, out = next(self._stream)
            event = SENSOR_READINGS.decode(raw)
            site = event.site_id  # type: ignore[attr-defined]
            if partition_of(site) != self.partition or (
                site == SPARSE and model.learned(SPARSE) >= 3
            ):
                continue
            self.learner.observe_features(event, 0)
            assert out is not None
            self.learner.observe_outcome(Outcome.model_validate_json(out))
            self._n += 1
            self.learner.advance(self.topic, self.partition, self._n)
            n -= 1

    def publish(self, learn: int = 600) -> tuple[SnapshotManifest, Any]:
        """Publish the next version; returns its manifest and a copy of its model."""
        self.learn(learn)
        manifest = self.publisher.publish(self.learner)
        assert manifest is not None
        return manifest, pickle.loads(pickle.dumps(self.learner.state.model))

    def force(self, tamper: bool, learn: int = 100) -> int:
        """Store the next version sealed with this maker's signer, its model part altered
        after signing when `tamper`; the store checks nothing, scorers do. Its number."""
        self.learn(learn)
        version = self.publisher.next_version
        sealed, _ = seal(
            self.learner.state,
            self.publisher._fields(self.learner),
            self.signer,
            serving=self.learner.state.model,
        )
        if tamper:
            sealed = dataclasses.replace(sealed, model=sealed.model[:-2] + b"x.")
        assert self.store.publish(self.line, version, sealed, 10).outcome == "ok"
        self.publisher.next_version = version + 1
        return version


Sent = dict[str, tuple[str, dict[str, float]]]
"""input event id -> (site, features) of the valid inputs sent."""


def send(s: Settings, count: int, *, seed: int, fault_rate: float = 0.0) -> Sent:
    """`count` readings, each to its site's partition, then GARBAGE to both partitions when
    `fault_rate`; returns the valid ones."""
    publisher = Publisher(producer_config(s)).start(10)
    topic = SENSOR_READINGS.full(s.topic_prefix)
    stream = SensorNetwork(SimConfig(seed=seed, fault_rate=fault_rate, label_delay_s=0), START)
    sent: Sent = {}
    for site, raw, _ in itertools.islice(stream, count):
        publisher.publish(topic, site, raw, partition=partition_of(site))
        try:
            event = SENSOR_READINGS.decode(raw)
        except ValueError:
            continue
        sent[event.event_id] = (site, event.to_features())  # type: ignore[attr-defined]
    if fault_rate:
        for i, value in enumerate(GARBAGE):
            publisher.publish(topic, "site-x", value, partition=i % 2)
    assert publisher.close(30).failed == 0
    return sent


@contextmanager
def running_keyed(settings: Settings, **kwargs: Any) -> Iterator[KeyedScorerApp]:
    """A KeyedScorerApp stepping in a background thread until the block ends; then a clean stop."""
    with running_scorer(settings, SPEC.contract, app_type=KeyedScorerApp, **kwargs) as app:
        assert isinstance(app, KeyedScorerApp)
        yield app


def scores(s: Settings, expect: int, *, read_committed: bool = False) -> list[Score]:
    topic = HABITAT_SITES_SCORES.full(s.topic_prefix)
    msgs = read_all(s, topic, expect=expect, timeout=60, read_committed=read_committed)
    return [Score.model_validate_json(m.value() or b"") for m in msgs]


def committed(s: Settings) -> dict[str, int]:
    """The scorer group's committed offsets of the input topic, 'topic:partition' -> offset."""
    conf = client_config(s, quiet=True)
    consumer = Consumer({**conf, "group.id": group_name(s.topic_prefix, "scorer", M)})
    try:
        topic = SENSOR_READINGS.full(s.topic_prefix)
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        got = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        return {f"{tp.topic}:{tp.partition}": tp.offset for tp in got}
    finally:
        consumer.close()


def settled(app: KeyedScorerApp, total: int) -> None:
    wait_until(lambda: app.scored + app.dead_letters.count >= total, 90, f"{total} inputs out")
    wait_until(lambda: len(app.ledger) == 0, 30, "acknowledgements")


def test_each_input_is_scored_by_its_shard_and_its_keys_model_or_the_fallback(s: Settings) -> None:
    shards = [ShardMaker(s, p).publish() for p in (0, 1)]
    sent = send(s, 1200, seed=21, fault_rate=0.01)
    invalid = 1200 - len(sent) + len(GARBAGE)
    assert invalid > len(GARBAGE), "the feed was meant to include faulty readings"
    with running_keyed(s) as app:
        settled(app, 1200 + len(GARBAGE))
        assert app.scored == len(sent) and app.dead_letters.count == invalid
        assert app.events_in == app.scored + app.dead_letters.count
        assert app.held == {}
        assert app.stats()["line"] == f"{M}.shard0 v1, {M}.shard1 v1"
    out = scores(s, len(sent))
    assert sorted(sc.input_event_id for sc in out) == sorted(sent)  # each once
    routes: dict[str, set[str | None]] = {}
    for sc in out:
        site, x = sent[sc.input_event_id]
        p = partition_of(site)
        manifest, model = shards[p]
        assert (sc.model, sc.line, sc.model_version) == (M, shard_line(M, p), manifest.version)
        assert sc.trained_through == manifest.trained_through
        assert set(manifest.trained_through) == {f"{SENSOR_READINGS.full(s.topic_prefix)}:{p}"}
        assert sc.event_id == score_id(sc.input_event_id, M)
        assert sc.model_key == sc.subject == site
        estimator, route = model.route(site)
        assert sc.route == route
        routes.setdefault(site, set()).add(sc.route)
        expected = estimator.predict_proba_one(x)
        assert sc.probabilities is not None
        assert sc.probabilities["True"] == pytest.approx(expected[True], abs=1e-9)
        assert sc.prediction == (expected[True] > expected[False])
    assert routes.pop(SPARSE) == {"fallback"}  # learned 3 < min_history
    assert len(routes) == 11 and all(r == {"key"} for r in routes.values())
    letters = read_all(s, DEAD_LETTERS.full(s.topic_prefix), expect=invalid, timeout=30)
    assert len(letters) == invalid
    assert committed(s) == log_ends(s, [SENSOR_READINGS.full(s.topic_prefix)])


def test_a_partition_waits_for_its_shard_and_one_shard_swaps_alone(s: Settings) -> None:
    zero, one = ShardMaker(s, 0), ShardMaker(s, 1)
    v1_0, _ = zero.publish()
    first = send(s, 240, seed=3)
    in_zero = [i for i, (site, _) in first.items() if partition_of(site) == 0]
    with running_keyed(s) as app:
        wait_until(lambda: app.scored >= len(in_zero), 60, "partition 0 scored")
        wait_until(lambda: [p for _, p in app.held] == [1], 30, "partition 1 held")
        wait_until(lambda: len(app.ledger) == 0, 30, "acknowledgements")
        assert app.scored == len(in_zero) and app.dead_letters.count == 0  # nothing of 1
        assert app.stats()["held"] == f"{SENSOR_READINGS.full(s.topic_prefix)}[1]"
        v1_1, _ = one.publish()
        settled(app, len(first))
        assert app.held == {}
        v2_0, _ = zero.publish(learn=300)
        wait_until(lambda: app.served[0].version == v2_0.version, 30, "shard 0 swapped")
        assert app.served[1].version == v1_1.version
        second = send(s, 240, seed=4)
        settled(app, len(first) + len(second))
        assert app.scored == len(first) + len(second)
    out = {sc.input_event_id: sc for sc in scores(s, len(first) + len(second))}
    assert sorted(out) == sorted([*first, *second])  # each once: none lost, none twice
    for ids, versions in ((first, (v1_0, v1_1)), (second, (v2_0, v1_1))):
        for i, (site, _) in ids.items():
            p = partition_of(site)
            assert (out[i].line, out[i].model_version) == (shard_line(M, p), versions[p].version)


def test_an_unsigned_or_tampered_shard_version_is_refused(s: Settings) -> None:
    ShardMaker(s, 0).publish()
    stranger = parse_private(generate()[0])
    one = ShardMaker(s, 1, signer=stranger)
    one.publish()  # v1, signed by a key this scorer does not trust
    sent = send(s, 120, seed=5)
    in_one = [i for i, (site, _) in sent.items() if partition_of(site) == 1]
    with running_keyed(s) as app:
        wait_until(lambda: app.scored >= len(sent) - len(in_one), 60, "partition 0 scored")
        wait_until(lambda: (shard_line(M, 1), 1) in app.shards.stats.refused_lines, 30, "v1")
        one.signer = signer_from(s)
        tampered = one.force(tamper=True)
        wait_until(lambda: (shard_line(M, 1), tampered) in app.shards.stats.refused_lines, 30, "v2")
        assert 1 not in app.served and app.scored == len(sent) - len(in_one)
        assert app.stats()["refused"] == 2
        good = one.force(tamper=False)
        settled(app, len(sent))
        assert app.served[1].version == good
    out = scores(s, len(sent))
    assert {sc.model_version for sc in out if sc.line == shard_line(M, 1)} == {good}
    assert sorted(sc.input_event_id for sc in out) == sorted(sent)


def test_without_any_shard_the_worker_waits_then_finds_one_by_polling(s: Settings) -> None:
    sent = send(s, 120, seed=6)
    in_one = [i for i, (site, _) in sent.items() if partition_of(site) == 1]
    with running_keyed(s, notifications=False) as app:  # the registry is found by listing it
        wait_until(lambda: app.stats()["serving"] == "waiting for a snapshot", 10, "waiting")
        assert not app.consumer.subscribed and app.scored == 0
        one = ShardMaker(s, 1)
        one.publish()
        wait_until(lambda: app.scored >= len(in_one), 60, "partition 1 scored")
        wait_until(lambda: [p for _, p in app.held] == [0], 30, "partition 0 held")
        assert app.stats()["serving"] == "yes" and app.scored == len(in_one)
        v2, _ = one.publish(learn=100)
        wait_until(lambda: app.served[1].version == v2.version, 30, "shard 1 swapped by polling")
        ShardMaker(s, 0).publish()
        settled(app, len(sent))
    assert sorted(sc.input_event_id for sc in scores(s, len(sent))) == sorted(sent)


@pytest.fixture
def eos(apache_bootstrap: str, redis_url: str) -> Iterator[Settings]:
    for base in isolated_settings(apache_bootstrap, redis_url):
        s = with_keys(base).with_overrides(scorer_poll_seconds=0.5, scorer_delivery="exactly-once")
        ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), 2)
        yield s


def test_exactly_once_holds_a_partition_without_a_shard_and_scores_each_input_once(
    eos: Settings,
) -> None:
    ShardMaker(eos, 0).publish()
    one = ShardMaker(eos, 1)
    sent = send(eos, 400, seed=8, fault_rate=0.01)
    invalid = 400 - len(sent) + len(GARBAGE)
    in_zero = [i for i, (site, _) in sent.items() if partition_of(site) == 0]
    with running_keyed(eos) as app:
        wait_until(lambda: app.scored >= len(in_zero), 90, "partition 0 scored")
        wait_until(lambda: [p for _, p in app.held] == [1], 30, "partition 1 held")
        one.publish()
        settled(app, 400 + len(GARBAGE))
        assert app.scored == len(sent) and app.dead_letters.count == invalid
        assert app.events_in == app.scored + app.dead_letters.count
    out = scores(eos, len(sent), read_committed=True)
    assert sorted(sc.input_event_id for sc in out) == sorted(sent)  # each once, committed
    letters = read_all(eos, DEAD_LETTERS.full(eos.topic_prefix), read_committed=True, idle=2.0)
    assert len(letters) == invalid
