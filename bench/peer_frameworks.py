"""Quix Streams and Bytewax doing the hand scorer's job, for `bench.peers --peers quix,bytewax`:
consume the readings -> pydantic validate -> to_features -> river predict_proba_one -> produce
a JSON score, with each framework's own defaults (one process, one worker, at-least-once).

They need packages whose pins clash with Lazarus's (Quix Streams wants confluent-kafka < 2.13),
so they run in their own virtualenv, made once by `bench.peers --setup-peers` from
`bench/peers-requirements.txt`; `bench.peers` runs these functions there, with the repository
on PYTHONPATH. Each returns (events per second, events, CPU seconds of this process) over the
window from its first message to its n-th: the framework's start-up and shutdown are not timed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable

from pydantic import ValidationError

from bench.peer_loops import Result, SensorReading, served_model
from lazarus.kafka.config import client_config
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.settings import Settings


class Clock:
    """Counts scored events; the window from the first to the n-th, in wall and CPU seconds."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0
        self.started = self.cpu = self.elapsed = self.cpu_used = 0.0

    def tick(self) -> None:
        if self.seen == 0:
            self.started, self.cpu = time.perf_counter(), time.process_time()
        self.seen += 1
        if self.seen == self.n:
            self.elapsed = time.perf_counter() - self.started
            self.cpu_used = time.process_time() - self.cpu

    def result(self) -> Result:
        if self.seen < self.n or self.elapsed <= 0:
            raise RuntimeError(f"only {self.seen} of {self.n} events were scored")
        return self.n / self.elapsed, self.n, self.cpu_used


def scorer_of(clock: Clock) -> Callable[[bytes | None], bytes | None]:
    """The per-message work every contender does: bytes in, a JSON score (or None) out."""
    model = served_model()

    def score(raw: bytes | None) -> bytes | None:
        clock.tick()
        try:
            reading = SensorReading.model_validate_json(raw or b"")
        except ValidationError:
            return None
        proba = model.predict_proba_one(reading.to_features())
        return json.dumps(
            {"input_event_id": reading.event_id, "score": proba.get(True, 0.0)}
        ).encode()

    return score


def quix_scorer(s: Settings, n: int) -> Result:
    from quixstreams import Application

    clock = Clock(n)
    score = scorer_of(clock)
    app = Application(
        broker_address=s.kafka_bootstrap_servers,
        consumer_group=f"bench-quix-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        loglevel=os.environ.get("BENCH_QUIX_LOGLEVEL", "WARNING"),
        use_changelog_topics=False,
        state_dir=tempfile.mkdtemp(prefix="bench-quix-"),  # it keeps none; it makes the folder
    )
    readings = app.topic(SENSOR_READINGS.full(s.topic_prefix), value_deserializer="bytes")
    scores = app.topic(f"{s.topic_prefix}bench.quix_scores", value_serializer="bytes")

    def score_then_stop(raw: bytes | None) -> bytes | None:
        out = score(raw)
        if clock.seen >= n:
            app.stop()  # the loop ends after this message is produced
        return out

    sdf = app.dataframe(readings).apply(score_then_stop).filter(lambda v: v is not None)
    sdf.to_topic(scores)
    app.run()
    return clock.result()


def bytewax_scorer(s: Settings, n: int) -> Result:
    import bytewax.operators as op
    from bytewax.connectors.kafka import KafkaSinkMessage
    from bytewax.connectors.kafka import operators as kop
    from bytewax.dataflow import Dataflow
    from bytewax.testing import run_main

    clock = Clock(n)
    score = scorer_of(clock)
    brokers = [client_config(s, quiet=True)["bootstrap.servers"]]
    flow = Dataflow("bench_bytewax_scorer")
    src = kop.input(
        "readings", flow, brokers=brokers, topics=[SENSOR_READINGS.full(s.topic_prefix)], tail=False
    )
    scored = op.filter_map(
        "score",
        src.oks,
        lambda m: None if (v := score(m.value)) is None else KafkaSinkMessage(m.key, v),
    )
    kop.output("scores", scored, brokers=brokers, topic=f"{s.topic_prefix}bench.bytewax_scores")
    run_main(flow)
    return clock.result()
