"""How much of a backlog the trainer's ordered merge holds while catching up.

The merge can release nothing while any partition has nothing queued. A broker
that serves one partition's backlog before another's would make it hold most of
the backlog in memory before learning starts; the feed's throttle pauses
partitions far ahead of a blocked one. This drains the same backlog with and
without the throttle and prints the peak held, the time to the first release and
the time to drain it all.

    python -m bench.merge_backlog [--events 100000]
"""

from __future__ import annotations

import argparse
import time

from confluent_kafka import OFFSET_BEGINNING

from bench.common import broker_settings
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS, topic_names
from lazarus.trainer.app import trainer_consumer_config
from lazarus.trainer.decoding import Throttle
from lazarus.trainer.feed import FeedPlan, Pump
from lazarus.trainer.rows import RowMaker
from lazarus.trainer.specs import habitat
from tests.integration.trainerkit import produce_sensors

PARTITIONS = 4


def drain(plan: FeedPlan, total: int, throttled: bool) -> tuple[int, float, float]:
    pump = Pump(plan)
    if not throttled:
        pump.throttle = Throttle(high=10**12, low=10**12 - 1)
    started = time.perf_counter()
    released = peak = 0
    first = 0.0
    try:
        while released < total:
            batch, _ = pump.step(0.1)
            if batch.items and not first:
                first = time.perf_counter() - started
            released += len(batch.items)
            peak = max(peak, pump.decoder.merge.queued)
    finally:
        pump.close()
    return peak, first, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with broker_settings(topic_prefix="bench.") as s:
        ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), PARTITIONS)
        produce_sensors(s, args.events)
        readings, outcomes = (
            SENSOR_READINGS.full(s.topic_prefix),
            HABITAT_OUTCOMES.full(s.topic_prefix),
        )
        conf = {k: v for k, v in trainer_consumer_config(s, "bench.merge").items() if k != "logger"}
        plan = FeedPlan(
            conf=conf,
            assignments=[
                (t, p, OFFSET_BEGINNING) for t in (readings, outcomes) for p in range(PARTITIONS)
            ],
            topics={readings: SENSOR_READINGS, outcomes: HABITAT_OUTCOMES},
            outcomes=outcomes,
            rank={readings: 0, outcomes: 1},
            rows=RowMaker.for_spec(habitat()),
            role="bench",
        )
        total = 2 * args.events
        for r in range(args.rounds):
            for throttled in (False, True):
                peak, first, elapsed = drain(plan, total, throttled)
                print(
                    f"round {r + 1}, throttle {'on ' if throttled else 'off'}: peak held "
                    f"{peak:,} of {total:,} messages ({peak / total:.0%}), first release after "
                    f"{first:.2f}s, all in {elapsed:.2f}s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
