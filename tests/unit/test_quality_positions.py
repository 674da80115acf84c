"""The trainer's prequential records say where their input event sits (topic, partition,
offset), which the quality monitor needs to tell honest scores from the rest: checked through
the trainer's whole loop, from an in-memory log, with no broker."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import cast

from lazarus.kafka.producer import Publisher
from lazarus.producers.feed import FeedLimits, run_feed
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.signing import generate, parse_private
from lazarus.registry.store import MemorySnapshotStore
from lazarus.schemas.prequential import PrequentialBatch
from lazarus.schemas.topics import HABITAT_OUTCOMES, PREQUENTIAL, SENSOR_READINGS
from lazarus.settings import Settings
from lazarus.testing import EOF, TestingSink, TestingSource
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.feed import InlineFeed
from lazarus.trainer.specs import habitat

EVENTS = 300
START = datetime(2026, 1, 1, tzinfo=UTC)


def test_every_prequential_record_names_its_input_events_position() -> None:
    settings = Settings(topic_prefix="positions.")
    p = settings.topic_prefix
    readings, outcomes = SENSOR_READINGS.full(p), HABITAT_OUTCOMES.full(p)
    recording = TestingSink()
    stream = SensorNetwork(SimConfig(seed=3, fault_rate=0.0, label_delay_s=0), START)
    run_feed(
        itertools.islice(iter(stream), EVENTS),
        cast(Publisher, recording),
        topic=readings,
        outcome_topic=outcomes,
        limits=FeedLimits(count=EVENTS),
        stopped=lambda: False,
    )
    source = TestingSource([*recording.messages, EOF])
    out = TestingSink()
    app = TrainerApp(
        settings,
        habitat(),
        MemorySnapshotStore(),
        parse_private(generate()[0]),
        cadence=Cadence(100, 3600),
        publisher=cast(Publisher, out),
        feed=lambda plan: InlineFeed(plan, source.consumer),
    )
    app.start_feeding([(readings, 0), (outcomes, 0)])
    idle = 0
    while idle < 3:  # until the source runs dry
        idle = idle + 1 if app.step() == 0 else 0
    assert app.stop() == 0
    assert app.learner.state.offsets == {f"{readings}:0": EVENTS, f"{outcomes}:0": EVENTS}

    # where the source put each reading: partition 0, offsets in order
    where = {
        SENSOR_READINGS.decode(m.value() or b"").event_id: offset
        for offset, m in enumerate(recording.of(readings))
    }
    batches = [
        PrequentialBatch.model_validate_json(m.value() or b"") for m in out.of(PREQUENTIAL.full(p))
    ]
    assert all(m.key() == b"habitat" for m in out.of(PREQUENTIAL.full(p)))
    records = [r for batch in batches for r in batch.records()]
    assert len(batches) < len(records)  # batched
    assert len(records) == app.learner.state.n_learned > EVENTS // 2
    for record in records:
        assert record.position == (readings, 0, where[record.input_event_id])
