"""The role shells without a broker: the trainer's loop from an in-memory source to in-memory
sinks, crashed mid-way and restarted from its snapshot, ends with the model an uninterrupted
run has."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from confluent_kafka import TopicPartition

from lazarus.kafka.producer import Publisher
from lazarus.producers.feed import FeedLimits, run_feed
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.signing import generate, parse_private
from lazarus.registry.store import MemorySnapshotStore
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.settings import Settings
from lazarus.testing import ABORT, EOF, Aborted, TestingSink, TestingSource
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.checkpoint import TrainerCheckpoint
from lazarus.trainer.feed import InlineFeed
from lazarus.trainer.specs import habitat

START = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS = 600


def recorded(settings: Settings) -> TestingSink:
    """Readings and their outcomes from the simulator, as the producer would publish them."""
    sink = TestingSink()
    stream = SensorNetwork(SimConfig(seed=5, fault_rate=0.01, label_delay_s=0), START)
    p = settings.topic_prefix
    run_feed(
        itertools.islice(iter(stream), EVENTS),
        cast(Publisher, sink),
        topic=SENSOR_READINGS.full(p),
        outcome_topic=HABITAT_OUTCOMES.full(p),
        limits=FeedLimits(count=EVENTS),
        stopped=lambda: False,
    )
    return sink


def trainer(settings: Settings, store: MemorySnapshotStore, source: TestingSource) -> TrainerApp:
    private, _ = KEYS
    app = TrainerApp(
        settings,
        habitat(),
        store,
        parse_private(private),
        cadence=Cadence(100, 3600),
        publisher=cast(Publisher, TestingSink()),
        feed=lambda plan: InlineFeed(plan, source.consumer),
    )
    p = settings.topic_prefix
    app.start_feeding([(SENSOR_READINGS.full(p), 0), (HABITAT_OUTCOMES.full(p), 0)])
    return app


def run(app: TrainerApp) -> None:
    """Step until the source runs dry (a few empty steps), then stop: the final snapshot."""
    idle = 0
    while idle < 3:
        idle = idle + 1 if app.step() == 0 else 0
    assert app.stop() == 0


KEYS = generate()


@pytest.fixture
def settings() -> Settings:
    return Settings(topic_prefix="shells.")


def chunked(messages: list[Any], size: int = 40) -> list[Any]:
    """EOF after every `size` messages: each consume returns at most one chunk."""
    out: list[Any] = []
    for i in range(0, len(messages), size):
        out += [*messages[i : i + size], EOF]
    return out


def test_a_trainer_crashed_mid_way_resumes_from_its_snapshot_to_the_same_model(
    settings: Settings,
) -> None:
    messages = recorded(settings).messages
    assert len(messages) == 2 * EVENTS

    whole = trainer(settings, MemorySnapshotStore(), TestingSource(messages))
    run(whole)

    store = MemorySnapshotStore()
    cut = EVENTS + EVENTS // 2  # every reading, half the outcomes
    source = TestingSource([*chunked(messages[:cut]), ABORT, *chunked(messages[cut:])])
    first = trainer(settings, store, source)
    with pytest.raises(Aborted):
        while True:
            first.step()
    # kill -9: no final snapshot; what was learned after the last one is learned again
    snapshot = store.manifest("habitat", store.latest("habitat"))
    assert snapshot is not None and first.learner.state.n_learned > snapshot.n_learned
    again = trainer(settings, store, source)
    assert again.learner.state.n_learned < first.learner.state.n_learned
    run(again)

    a, b = whole.learner.state, again.learner.state
    assert b.n_learned == a.n_learned > 0
    assert b.offsets == a.offsets
    assert b.invalid_events == a.invalid_events > 0  # the faults, dead-lettered once each
    assert weights(b.model) == weights(a.model)  # max difference 0.0


def weights(pipeline: Any) -> dict[str, float]:
    """The logistic regression's weights and intercept, as the river pipeline holds them."""
    model = list(pipeline.steps.values())[-1]
    return {**dict(model.weights), "intercept": model.intercept}


def test_the_trainer_checkpoint_expires_by_count_or_interval(settings: Settings) -> None:
    app = trainer(settings, MemorySnapshotStore(), TestingSource([]))
    checkpoint: TrainerCheckpoint = app.checkpoint
    now = 1e12
    assert checkpoint.expired(now)  # an hour since the start: by interval
    assert not TrainerCheckpoint(
        app.learner, app.snapshots, Cadence(100, 3600), lambda: None, lambda _: None, "m"
    ).expired()
    assert not checkpoint.changed()
    app.stop()


def test_in_memory_sinks_and_sources_need_no_broker() -> None:
    sink = TestingSink()
    acks: list[Any] = []
    sink.publish_many([("t", "k", b"v")], on_delivery=lambda err, msg: acks.append(err))
    assert acks == [None] and sink.records == [("t", b"k", b"v")]
    consumer = TestingSource(sink.messages).consumer({})
    consumer.assign([TopicPartition("t", 0, 0)])
    assert [m.value() for m in consumer.consume(5, 0) if m.error() is None] == [b"v"]
