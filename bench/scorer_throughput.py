"""One scorer worker, end to end (consume -> validate -> features -> score -> produce, offsets
stored after acks), against a raw consume -> produce passthrough of the same messages in the
same run. Targets: >= 50,000 events/s (issue #5) and a ratio >= 0.6 (issue #20).

    python -m bench.scorer_throughput [--events 200000] [--rounds 3] [--profile] [--kafka host:port]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import uuid

from confluent_kafka import Consumer, Producer

from bench.common import CpuMark, summary
from bench.peers import broker
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, consumer_config, producer_config
from lazarus.registry.signing import verifier_from
from lazarus.schemas.models import HABITAT
from lazarus.schemas.topics import SENSOR_READINGS, topic_names
from lazarus.scorer.app import BATCH, ScorerApp
from lazarus.settings import Settings
from tests.integration.scorerkit import ModelMaker, send_sensors


def passthrough(s: Settings, n: int) -> float:
    """The floor: the same consumer and producer settings, no parsing, no scoring."""
    consumer = Consumer(consumer_config(s, f"bench-pass-{uuid.uuid4().hex[:6]}"))
    consumer.subscribe([SENSOR_READINGS.full(s.topic_prefix)])
    failed: list[object] = []

    def delivered(err: object, _: object) -> None:
        if err is not None:
            failed.append(err)

    producer = Producer({**producer_config(s), "on_delivery": delivered})
    out = f"{s.topic_prefix}bench.passthrough"
    seen = 0
    started = 0.0
    while seen < n:
        msgs = consumer.consume(BATCH, 0.05)
        if msgs and not started:
            started = time.perf_counter()
        for m in msgs:
            if m.error() is None:
                try:
                    producer.produce(out, m.value(), m.key())
                except BufferError:
                    producer.poll(0.01)
                    producer.produce(out, m.value(), m.key())
                seen += 1
        producer.poll(0)
    left = producer.flush(30)
    elapsed = time.perf_counter() - started
    assert left == 0 and not failed, f"passthrough: {left} unsent, failed: {failed[:1]}"
    consumer.close()
    return n / elapsed


def scorer(
    s: Settings, n: int, profile: cProfile.Profile | None = None, broker_pid: int | None = None
) -> tuple[float, CpuMark]:
    """(events in per second, CPU used by this process and the broker over the timed window)."""
    app = ScorerApp(s, HABITAT, verifier_from(s))
    app.start(30)
    assert app.wait_for_model(lambda: False, timeout=30), "no model"
    # a fresh group per round, so every round reads the topic from the start
    app.group = f"bench-scorer-{uuid.uuid4().hex[:6]}"
    app.subscribe()
    while app.events_in == 0:
        app.step()
    started, cpu = time.perf_counter(), CpuMark.now(broker_pid)
    first = app.events_in
    if profile:
        profile.enable()
    while app.events_in < n or len(app.ledger):
        app.step()
    if profile:
        profile.disable()
    elapsed, used = time.perf_counter() - started, CpuMark.now(broker_pid) - cpu
    app.stop()
    return (app.events_in - first) / elapsed, used


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="print the scorer's top functions")
    ap.add_argument("--kafka", help="host:port of an Apache Kafka (scripts/kafka start)")
    args = ap.parse_args()
    # An embedded broker (or --kafka), and the local Redis or an embedded one when none answers.
    with broker(args.kafka) as (s, _):
        names = [*topic_names(s.topic_prefix), f"{s.topic_prefix}bench.passthrough"]
        ensure_topics(client_config(s, quiet=True), names, 4)
        ModelMaker(s).publish(learn=5000)
        send_sensors(s, args.events, fault_rate=0.002)
        profile = cProfile.Profile() if args.profile else None
        base, ours = [], []
        for r in range(args.rounds):
            ours.append(scorer(s, args.events, profile)[0])
            base.append(passthrough(s, args.events))
            print(
                f"round {r + 1}: passthrough {base[-1]:,.0f} ev/s, scorer {ours[-1]:,.0f} ev/s, ratio {ours[-1] / base[-1]:.2f}",
                flush=True,
            )
    ratios = sorted(o / b for o, b in zip(ours, base, strict=True))
    print()
    print(f"raw consume -> produce passthrough: {summary(base)} ev/s")
    print(f"scorer worker, end to end:          {summary(ours)} ev/s")
    print(
        f"ratio per round {', '.join(f'{x:.2f}' for x in ratios)}; median {ratios[len(ratios) // 2]:.2f}"
    )
    print("targets: >= 50,000 ev/s (issue #5), ratio >= 0.6 (issue #20)")
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
