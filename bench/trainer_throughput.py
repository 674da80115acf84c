"""Trainer throughput (Kafka -> validate -> join -> test-then-train -> prequential records ->
snapshots) against its same-run baselines (issue #20), each in its own fresh process, in
interleaved rounds over the same preloaded readings and outcomes:

- "hand trainer": the hand-written confluent-kafka loop a user would write instead (join
  readings to outcomes by id, then river test-then-train with one metric; `bench.peer_loops`);
- "river pvs json": river's `progressive_val_score` over the same events parsed from their JSON
  in memory; "river pvs features": over feature dicts made beforehand (the floor).

Targets: the trainer's learned events/s >= 1.0x the hand loop and >= 0.6x pvs from JSON. Printed:
events/s per round, medians, ratios, CPU us per learned event of each contender (and the
broker's), and where the trainer's own CPU goes (learner thread, whole process, broker).

    python -m bench.trainer_throughput [--events 100000] [--rounds 3] [--quick] [--kafka host:port]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

import redis

from bench.common import CpuMark
from bench.peers import Run, announce, broker, interleaved, table
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.signing import signer_from
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS, topic_names
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.specs import habitat
from tests.integration.trainerkit import log_ends, produce_sensors


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


CONTENDERS = ("lazarus trainer", "hand trainer", "river pvs json", "river pvs features")
TARGETS = {"hand trainer": 1.0, "river pvs json": 0.6}
"""Issue #20: the trainer's learned events/s over each baseline's, at least."""


def cpu_report(runs: list[Run]) -> None:
    """Where the Lazarus trainer's CPU goes per learned event, median of the rounds."""

    def per_event(f: Callable[[Run], float]) -> float:
        return float(statistics.median(f(r) / r.events for r in runs) * 1e6)

    learner = per_event(lambda r: r.thread_s)
    process = per_event(lambda r: r.cpu_s)
    broker = per_event(lambda r: r.broker_s)
    print()
    print(
        "Lazarus trainer, CPU per learned event (a reading and its outcome), median of the rounds:"
    )
    print(f"  learner thread                   {learner:6.1f} us")
    print(f"  trainer process, all threads     {process:6.1f} us (a decoding child included)")
    print(f"  broker (embedded only)           {broker:6.1f} us")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kafka", help="host:port of an Apache Kafka (scripts/kafka start)")
    ap.add_argument("--quick", action="store_true", help="20,000 events, one round")
    args = ap.parse_args()
    if args.quick:
        args.events, args.rounds = min(args.events, 20_000), 1
    with broker(args.kafka) as (s, broker_pid):
        announce(s, args.kafka, args.events)
        ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), 4)
        produce_sensors(s, args.events)
        runs = interleaved(s, CONTENDERS, args.events, args.rounds, broker_pid, "learned/s")
    print()
    print("learned events/s; 'vs' = the Lazarus trainer's rate over the contender's:")
    table(runs, "lazarus trainer", CONTENDERS)
    ours = [r.rate for r in runs["lazarus trainer"]]
    for name, target in TARGETS.items():
        ratios = sorted(o / b.rate for o, b in zip(ours, runs[name], strict=True))
        median = ratios[len(ratios) // 2]
        verdict = "met" if median >= target else "NOT met"
        print(
            f"target: >= {target:.1f}x {name}: median of the rounds' ratios {median:.2f} ({verdict})"
        )
    print(
        "CPU us/ev: the contender's process over its timed window; broker: the embedded broker's "
        "CPU over the same window (nan: not measured, or no broker)"
    )
    cpu_report(runs["lazarus trainer"])


if __name__ == "__main__":
    main()
