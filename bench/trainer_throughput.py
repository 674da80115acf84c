"""Trainer throughput (Kafka -> validate -> join -> test-then-train -> snapshots) against a bare
river loop over the same events in memory, in the same run. Target (issue #4): ratio >= 0.7.

The bare loop is the least code that learns from these events: for each pre-parsed
event, to_features(), predict_proba_one, one metric update, learn_one.

It also prints where the trainer's CPU goes per learned event (its own process with
all threads, a decoding process if LAZARUS_TRAINER_DECODER=process, and the broker)
and what that cost implies: how many cores a ratio of 0.7 would need at this cost
per event, against how many this machine has.

    python -m bench.trainer_throughput [--events 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime

import redis
from river import metrics

from bench.common import CpuMark, embedded_broker, redis_url, summary
from lazarus.gctune import tune_for_streaming
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.signing import generate, signer_from
from lazarus.schemas import Outcome
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS, topic_names
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.specs import habitat
from tests.integration.trainerkit import log_ends, produce_sensors


def in_memory(n: int) -> dict[str, float]:
    """Three bare loops over the same events, from least to most of the trainer's work.

    They run with the trainer's garbage-collector settings, as the trainer does."""
    tune_for_streaming()
    pairs = list(
        itertools.islice(
            SensorNetwork(
                SimConfig(seed=5, fault_rate=0.002, label_delay_s=0),
                datetime(2026, 1, 1, tzinfo=UTC),
            ),
            n,
        )
    )
    parsed = []
    for _, raw, out in pairs:
        try:
            parsed.append((SENSOR_READINGS.decode(raw), Outcome.model_validate_json(out).label))  # type: ignore[arg-type]
        except Exception:
            continue
    featurized = [(e.to_features(), y) for e, y in parsed]  # type: ignore[attr-defined]

    def learn(x: dict[str, float], y: object, model: object, metric: metrics.base.Metric) -> None:
        proba = model.predict_proba_one(x)  # type: ignore[attr-defined]
        metric.update(y, max(proba, key=proba.__getitem__))
        model.learn_one(x, y)  # type: ignore[attr-defined]

    rates = {}
    model, metric = habitat().pipeline(), metrics.Accuracy()
    started = time.perf_counter()
    for x, y in featurized:
        learn(x, y, model, metric)
    rates["features"] = len(featurized) / (time.perf_counter() - started)
    model, metric = habitat().pipeline(), metrics.Accuracy()
    started = time.perf_counter()
    for e, y in parsed:
        learn(e.to_features(), y, model, metric)  # type: ignore[attr-defined]
    rates["events"] = len(parsed) / (time.perf_counter() - started)
    model, metric = habitat().pipeline(), metrics.Accuracy()
    started = time.perf_counter()
    learned = 0
    for i in range(0, len(pairs), 1000):
        chunk = pairs[i : i + 1000]
        readings = SENSOR_READINGS.decode_many([r for _, r, _ in chunk])
        outcomes = HABITAT_OUTCOMES.decode_many([o for _, _, o in chunk if o is not None])
        for reading, outcome in zip(readings, outcomes, strict=True):
            if isinstance(reading, Exception) or isinstance(outcome, Exception):
                continue
            learn(reading.to_features(), outcome.label, model, metric)  # type: ignore[union-attr]
            learned += 1
    rates["json"] = learned / (time.perf_counter() - started)
    return rates


def trainer(settings, broker_pid: int) -> tuple[float, int, int, CpuMark]:  # type: ignore[no-untyped-def]
    """(learned per second, snapshots, events learned, CPU used by trainer/decoder/broker)."""
    s = settings.with_overrides(redis_key_prefix=f"bench:{uuid.uuid4().hex[:8]}")
    store = RedisSnapshotStore(redis.Redis.from_url(s.redis_url_value), s.redis_key_prefix)
    ends = log_ends(
        s, [SENSOR_READINGS.full(s.topic_prefix), HABITAT_OUTCOMES.full(s.topic_prefix)]
    )
    spec = habitat()
    app = TrainerApp(
        s, spec, store, signer_from(s), cadence=Cadence(spec.snapshot_every, spec.snapshot_seconds)
    )
    app.start(30)
    started, cpu = time.perf_counter(), CpuMark.now(broker_pid)
    while app.learner.state.offsets != ends:
        app.step()
    elapsed = time.perf_counter() - started
    app.stop()  # reaps a decoding process, so its CPU shows under children
    used = CpuMark.now(broker_pid) - cpu
    client = redis.Redis.from_url(s.redis_url_value)
    client.delete(*client.keys(f"{s.redis_key_prefix}:*"))
    n = app.learner.state.n_learned
    return n / elapsed, app.snapshots.stats.published, n, used


def cpu_report(used: list[CpuMark], learned: list[int], bare_rates: list[float]) -> None:
    """Per learned event: CPU by process, and the cores a 0.7 ratio would need at that cost."""

    def per_event(part: str) -> float:
        return float(
            statistics.median(getattr(u, part) / n for u, n in zip(used, learned, strict=True))
            * 1e6
        )

    learner, own, kids, broker = (per_event(p) for p in ("thread", "own", "children", "other"))
    total = own + kids + broker
    budget = 1e6 / (0.7 * statistics.median(bare_rates))
    print()
    print("CPU per learned event (two messages: a reading and its outcome), median of the rounds:")
    print(f"  learner thread                   {learner:6.1f} us")
    print(f"  trainer process, all threads     {own:6.1f} us")
    print(f"  decoding process                 {kids:6.1f} us")
    print(f"  broker                           {broker:6.1f} us")
    print(f"  total                            {total:6.1f} us")
    print(
        f"a ratio of 0.7 against the bare loop over parsed events allows {budget:.1f} us of wall "
        f"time per learned event: the learner thread alone is {learner / budget:.1f}x that, and "
        f"the total needs {total / budget:.1f} cores busy in parallel ({os.cpu_count()} here)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    private, public = generate()
    with (
        ExitStack() as stack,
        embedded_broker(
            topic_prefix="bench.",
            redis_url=redis_url(stack),
            signing_private_key=private,
            signing_public_key=public,
        ) as (broker, s),
    ):
        assert broker.pid is not None
        ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), 4)
        produce_sensors(s, args.events)
        bare: dict[str, list[float]] = {"features": [], "events": [], "json": []}
        trainer_rates, used, learned = [], [], []
        for r in range(args.rounds):
            for name, rate in in_memory(args.events).items():
                bare[name].append(rate)
            rate, snaps, n, cpu = trainer(s, broker.pid)
            trainer_rates.append(rate)
            used.append(cpu)
            learned.append(n)
            print(
                f"round {r + 1}: trainer {rate:,.0f} ev/s ({snaps} snapshots); bare loops: "
                + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in bare.items()),
                flush=True,
            )
    print()
    print(
        f"trainer, Kafka -> validate -> join -> test-then-train -> snapshots: {summary(trainer_rates)} ev/s"
    )
    labels = {
        "features": "bare loop over feature dicts (predict, 1 metric, learn)",
        "events": "bare loop over parsed events (+ to_features)",
        "json": "bare loop over the JSON messages in memory (+ validation)",
    }
    for name, rates in bare.items():
        ratios = sorted(t / b for t, b in zip(trainer_rates, rates, strict=True))
        print(
            f"{labels[name]:<58} {summary(rates)} ev/s; trainer ratio median "
            f"{ratios[len(ratios) // 2]:.2f}"
        )
    print("target (issue #4): ratio >= 0.7")
    cpu_report(used, learned, bare["events"])


if __name__ == "__main__":
    main()
