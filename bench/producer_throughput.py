"""Simulated sensor events/s into the broker, against raw confluent-kafka produce of pre-serialized bytes.

Same broker, same producer configuration (idempotent, acks=all), same run.
Target (issue #3): >= 100k events/s and a ratio >= 0.5.

    python -m bench.producer_throughput [--events 300000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
from datetime import UTC, datetime
from functools import partial

from confluent_kafka import Producer

from bench.common import broker_settings, summary, timed
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.feed import FeedLimits, run_feed
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS


def raw(conf: dict, topic: str, payloads: list[tuple[bytes, bytes]]) -> int:  # type: ignore[type-arg]
    producer = Producer(conf)
    for i, (key, value) in enumerate(payloads):
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(60)
    return len(payloads)


def simulated(conf: dict, prefix: str, events: int, seed: int) -> int:  # type: ignore[type-arg]
    publisher = Publisher(conf).start(10)
    stream = iter(SensorNetwork(SimConfig(seed=seed), datetime(2026, 1, 1, tzinfo=UTC)))
    stats = run_feed(
        stream,
        publisher,
        topic=SENSOR_READINGS.full(prefix),
        outcome_topic=HABITAT_OUTCOMES.full(prefix),
        limits=FeedLimits(count=events),
        stopped=lambda: False,
    )
    counts = publisher.close(60)
    assert counts.failed == 0 and counts.acked == counts.sent
    return stats.events + stats.outcomes


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=300_000, help="sensor readings per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with broker_settings(topic_prefix="bench.") as s:
        conf = producer_config(s)
        prefix = s.topic_prefix
        ensure_topics(
            client_config(s, quiet=True),
            [SENSOR_READINGS.full(prefix), HABITAT_OUTCOMES.full(prefix), "bench.raw"],
            4,
        )
        # Pre-serialized payloads of the same size and keys as the simulator's messages.
        pairs = itertools.islice(
            SensorNetwork(SimConfig(seed=99), datetime(2026, 1, 1, tzinfo=UTC)), args.events
        )
        payloads = []
        for key, reading, outcome in pairs:
            payloads.append((key.encode(), reading))
            if outcome:
                payloads.append((key.encode(), outcome))
        raw_rates, sim_rates, sim_readings = [], [], []
        for r in range(args.rounds):
            secs, n = timed(lambda: raw(conf, "bench.raw", payloads))
            raw_rates.append(n / secs)
            secs, n = timed(partial(simulated, conf, prefix, args.events, seed=r))
            sim_rates.append(n / secs)
            sim_readings.append(args.events / secs)
            print(
                f"round {r + 1}: raw {raw_rates[-1]:,.0f} msg/s   simulated {sim_rates[-1]:,.0f} events/s "
                f"({sim_readings[-1]:,.0f} readings/s + their outcomes)",
                flush=True,
            )
    ratios = [s / r for s, r in zip(sim_rates, raw_rates, strict=True)]
    print()
    print(f"raw produce (pre-serialized):  {summary(raw_rates)} msg/s")
    print(f"simulated feed (events):       {summary(sim_rates)} events/s  (readings + outcomes)")
    print(f"simulated feed (readings):     {summary(sim_readings)} readings/s")
    print(
        f"ratio simulated/raw per round: {', '.join(f'{x:.2f}' for x in ratios)}  "
        f"(median {sorted(ratios)[len(ratios) // 2]:.2f}; target >= 0.5, and >= 100k events/s)"
    )


if __name__ == "__main__":
    main()
