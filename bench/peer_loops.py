"""The loops a user would write instead of Lazarus, for `bench.peers`: each returns
(events per second, events, CPU seconds of this process over the timed window).

- `hand_scorer`: confluent-kafka consume -> pydantic validate -> to_features -> river
  predict -> produce, the client's default settings (what a first loop looks like);
- `hand_trainer`: join readings to outcomes by id, then river test-then-train with one metric;
- `river_pvs`: river's `evaluate.progressive_val_score` over the same events in memory, parsed
  from their JSON inside the timed loop (`json`) or featurized beforehand (`features`).

None of them tunes the garbage collector, keeps snapshots, dead-letters or commits offsets
after the work: they are the floor a user's own code would start from.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Producer
from pydantic import ValidationError
from river import evaluate, metrics

from lazarus.kafka.config import client_config
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas import Outcome
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.settings import Settings
from lazarus.trainer.specs import habitat
from tests.integration.trainerkit import START, log_ends

Result = tuple[float, int, float]
SensorReading = SENSOR_READINGS.event


def _consumer(s: Settings, topics: list[str]) -> Consumer:
    c = Consumer(
        {
            **client_config(s, quiet=True),
            "group.id": f"bench-hand-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
        }
    )
    c.subscribe(topics)
    return c


def served_model(learn: int = 5000) -> Any:
    """The model `tests.integration.scorerkit.ModelMaker(s).publish(learn)` serves: the same
    pipeline taught the same simulated events (seed 11)."""
    model = habitat().pipeline()
    sim = SensorNetwork(SimConfig(seed=11, fault_rate=0.0, label_delay_s=0), START)
    for _, raw, out in itertools.islice(sim, learn):
        if out is not None:
            model.learn_one(
                SensorReading.model_validate_json(raw).to_features(), json.loads(out)["label"]
            )
    return model


def hand_scorer(s: Settings, n: int, one_by_one: bool = False) -> Result:
    """`one_by_one`: `poll()` per message, as confluent-kafka's examples do; else `consume()`
    in batches of 1,000."""
    model = served_model()
    consumer = _consumer(s, [SENSOR_READINGS.full(s.topic_prefix)])
    failed: list[object] = []

    def delivered(err: object, _: object) -> None:
        if err is not None:
            failed.append(err)

    producer = Producer({**client_config(s, quiet=True), "on_delivery": delivered})
    out = f"{s.topic_prefix}bench.hand_scores"
    seen, started, cpu = 0, 0.0, 0.0
    while seen < n:
        if one_by_one:
            msg = consumer.poll(0.1)
            msgs = [msg] if msg is not None else []
        else:
            msgs = consumer.consume(1000, 0.1)
        if msgs and not started:
            started, cpu = time.perf_counter(), time.process_time()
        for m in msgs:
            if m.error() is not None:
                continue
            seen += 1
            try:
                reading = SensorReading.model_validate_json(m.value() or b"")
            except ValidationError:
                continue
            proba = model.predict_proba_one(reading.to_features())
            value = json.dumps({"input_event_id": reading.event_id, "score": proba.get(True, 0.0)})
            try:
                producer.produce(out, value.encode(), m.key())
            except BufferError:
                producer.poll(0.05)
                producer.produce(out, value.encode(), m.key())
        producer.poll(0)
    left = producer.flush(30)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    consumer.close()
    if left or failed:  # a figure for scores never delivered would be a false one
        raise RuntimeError(f"hand scorer: {left} unsent, {len(failed)} failed: {failed[:1]}")
    return seen / elapsed, seen, cpu


def hand_trainer(s: Settings) -> Result:
    """Join by id (either side may come first), then predict, one metric, learn."""
    topics = [SENSOR_READINGS.full(s.topic_prefix), HABITAT_OUTCOMES.full(s.topic_prefix)]
    total = sum(log_ends(s, topics).values())
    readings_topic = topics[0]
    model, metric = habitat().pipeline(), metrics.Accuracy()
    features: dict[str, dict[str, float]] = {}
    labels: dict[str, Any] = {}
    consumer = _consumer(s, topics)
    seen, learned, started, cpu = 0, 0, 0.0, 0.0

    def learn(x: dict[str, float], y: Any) -> None:
        metric.update(y, model.predict_one(x))
        model.learn_one(x, y)

    while seen < total:
        msgs = consumer.consume(1000, 0.1)
        if msgs and not started:
            started, cpu = time.perf_counter(), time.process_time()
        for m in msgs:
            if m.error() is not None:
                continue
            seen += 1
            try:
                if m.topic() == readings_topic:
                    r = SensorReading.model_validate_json(m.value() or b"")
                    if r.event_id in labels:
                        learn(r.to_features(), labels.pop(r.event_id))
                        learned += 1
                    else:
                        features[r.event_id] = r.to_features()
                else:
                    o = Outcome.model_validate_json(m.value() or b"")
                    x = features.pop(o.event_ref, None)  # type: ignore[arg-type]
                    if x is None:
                        labels[o.event_ref] = o.label  # type: ignore[index]
                    else:
                        learn(x, o.label)
                        learned += 1
            except ValidationError:
                continue
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    consumer.close()
    return learned / elapsed, learned, cpu


def _simulated(n: int) -> list[tuple[bytes, bytes]]:
    sim = SensorNetwork(
        SimConfig(seed=5, fault_rate=0.002, label_delay_s=0), datetime(2026, 1, 1, tzinfo=UTC)
    )
    return [(raw, out) for _, raw, out in itertools.islice(sim, n) if out is not None]


def _parsed(pairs: list[tuple[bytes, bytes]]) -> Iterator[tuple[dict[str, float], Any]]:
    for raw, out in pairs:
        try:
            yield (
                SensorReading.model_validate_json(raw).to_features(),
                Outcome.model_validate_json(out).label,
            )
        except ValidationError:
            continue


def river_pvs(n: int, source: str) -> Result:
    """`progressive_val_score` over `n` simulated readings with their outcomes."""
    pairs = _simulated(n)
    featurized = list(_parsed(pairs))
    dataset: Any = featurized if source == "features" else _parsed(pairs)
    started, cpu = time.perf_counter(), time.process_time()
    evaluate.progressive_val_score(dataset, habitat().pipeline(), metrics.Accuracy())
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(featurized) / elapsed, len(featurized), cpu
