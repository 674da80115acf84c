"""Sharded training of one per-key model (issue #18): learned events/s with 1 and with 2 trainer
processes on the same preloaded data. Target: 2 processes >= 1.7x one.

Before each run, fresh topics (4 partitions: 4 shards) are filled with the same `--events`
simulated readings of `--sites` sites and their outcomes (label delay 0, one seed), so each run
has a consumer group of its own (the embedded broker was seen never to assign the next member
of a group that an earlier run's trainers had left). Each run starts its trainers
(`python -m lazarus.trainer habitat_sites`, the spec's default cadence: a shard version every
5,000 learned events or 10 s) under a fresh Redis key prefix, so they learn from offset 0, and
reads their heartbeats every `POLL_S`. A run's window opens at the first heartbeats that show the
final assignment (every process its share of the shards) with every shard learning, and closes
when every shard has learned what its version trained through the log ends records. Process
start, the group join and any rebalance before that are outside the window; the events learned
before it are not counted. Both counts run `--runs` times, alternating; the ratio is taken per
run (the same machine state for both) and reported as median and spread.

Beside the rates it prints where the 2 cores went in each window: the trainers (main thread:
decode, join, learn, publish; librdkafka threads: fetch), the broker, Redis, this bench (it only
sleeps and reads one hash per trainer per poll) and every other process on the machine.

    python -m bench.sharded_training [--events 300000] [--sites 200] [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench.common import embedded_broker, process_cpu_s, redis_url
from bench.shard_watch import (
    HEARTBEAT_S,
    Shards,
    check,
    machine_busy_s,
    num,
    shards_of,
    spawn,
    stop,
    thread_cpu_s,
    trainer_logs,
)
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.registry.signing import generate
from lazarus.schemas.topics import topic_names
from lazarus.settings import Settings
from tests.integration.shardkit import produce_next, sensor_stream, shard_ends, shard_manifest
from tests.integration.trainerkit import log_ends, store_of, topics_of

PARTITIONS = 4
POLL_S = 0.1
RUN_TIMEOUT_S = 600.0
MIN_WINDOW_S = 0.5


@dataclass
class Cpu:
    """CPU seconds so far of everything that shares the cores during a run."""

    trainers: dict[str, float]
    broker: float
    redis: float
    bench: float
    machine: float

    @classmethod
    def now(cls, pids: list[int], broker: int, redis_pid: int | None) -> Cpu:
        trainers = {"main": 0.0, "librdkafka": 0.0, "other": 0.0}
        for pid in pids:
            for k, v in thread_cpu_s(pid).items():
                trainers[k] += v
        return cls(
            trainers,
            process_cpu_s(broker),
            process_cpu_s(redis_pid) if redis_pid else 0.0,
            time.process_time(),
            machine_busy_s(),
        )

    def cores(self, earlier: Cpu, seconds: float) -> dict[str, float]:
        """Cores busy on average over `seconds`, by who."""
        used = {f"trainers {k}": v - earlier.trainers[k] for k, v in self.trainers.items()}
        used |= {"broker": self.broker - earlier.broker, "redis": self.redis - earlier.redis}
        used["bench"] = self.bench - earlier.bench
        used["others on the machine"] = (self.machine - earlier.machine) - sum(used.values())
        return {k: v / seconds for k, v in used.items()}


@dataclass
class Run:
    processes: int
    rate: float
    events: int
    seconds: float
    versions: int
    cores: dict[str, float] = field(default_factory=dict)
    busiest: float = 1.0
    """The busiest process's share of the events (`busiest_share`)."""


def shard_view(s: Settings, client: redis.Redis, pids: list[int], partitions: int) -> Shards | None:
    """Every shard's heartbeat entry, or None before the final assignment (each process owns
    its share of the shards) with every shard learning."""
    view: Shards = {}
    for pid in pids:
        mine = shards_of(client, s.redis_key_prefix, pid)
        if len(mine) != partitions // len(pids):
            return None
        view |= mine
    if len(view) != partitions or any(
        not v["n_learned"] or v["ready_after_s"] is None for v in view.values()
    ):
        return None
    return view


@dataclass(frozen=True)
class Poll:
    """What one poll saw: every shard's heartbeat entry (None before the final assignment)
    and the CPU used so far, at `wall` (monotonic seconds)."""

    wall: float
    view: Shards | None
    cpu: Cpu


def measure(
    s: Settings, processes: int, ends: dict[str, int], broker_pid: int, logs: Path, partitions: int
) -> Run:
    """One run: `processes` trainers from offset 0 under a fresh Redis key prefix."""
    s = s.with_overrides(redis_key_prefix=f"bench:sharded:{uuid.uuid4().hex[:8]}")
    client = redis.Redis.from_url(s.redis_url_value)
    redis_pid = int(client.info("server")["process_id"])
    store = store_of(s)
    procs = [spawn(s, logs) for _ in range(processes)]
    pids = [p.pid for p in procs]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    polls: list[Poll] = []
    final: dict[int, int] = {}  # shard -> events learned through the log ends
    try:
        while len(final) < partitions or not all(
            any(q.view and num(q.view[p]["n_learned"]) >= n for q in polls)
            for p, n in final.items()
        ):
            check(procs, deadline, logs)
            view = shard_view(s, client, pids, partitions)
            if view is not None or polls:
                polls.append(Poll(time.monotonic(), view, Cpu.now(pids, broker_pid, redis_pid)))
            for p in set(range(partitions)) - set(final):
                m = shard_manifest(store, p)
                if m is not None and m.trained_through == shard_ends(ends, p):
                    final[p] = m.n_learned
            time.sleep(POLL_S)
    finally:
        stop(procs)
        client.delete(*client.keys(f"{s.redis_key_prefix}:*"))
    return window(processes, polls, final)


def busiest_share(final: dict[int, int], processes: int) -> float:
    """The share of the events in the busiest process's shards, the range assignor giving
    each process a contiguous block of partitions: 1 / this bounds the speed-up.

    >>> busiest_share({0: 30, 1: 30, 2: 20, 3: 20}, 2)
    0.6
    """
    ordered = [final[p] for p in sorted(final)]
    size = len(ordered) // processes
    blocks = [sum(ordered[i * size : (i + 1) * size]) for i in range(processes)]
    return max(blocks) / max(1, sum(ordered))


def window(processes: int, polls: list[Poll], final: dict[int, int]) -> Run:
    """The run's figures from the first poll with every shard learning to the first at which
    every shard had learned through the log ends (times from the heartbeats' own clocks)."""
    first = polls[0]
    assert first.view is not None
    last = next(
        q
        for q in polls
        if q.view and all(num(q.view[p]["n_learned"]) >= n for p, n in final.items())
    )
    assert last.view is not None
    seconds = max(num(v["at"]) for v in last.view.values()) - max(
        num(v["at"]) for v in first.view.values()
    )
    events = sum(final.values()) - sum(int(num(v["n_learned"])) for v in first.view.values())
    versions = sum(
        int(num(last.view[p]["version"] or 0) - num(first.view[p]["version"] or 0)) for p in final
    )
    if seconds < MIN_WINDOW_S or last.wall - first.wall < MIN_WINDOW_S:
        raise SystemExit(
            f"{processes} process(es) learned everything in {seconds:.2f} s, too short to "
            f"measure at {HEARTBEAT_S} s heartbeats: raise --events"
        )
    cores = last.cpu.cores(first.cpu, last.wall - first.wall)
    run = Run(processes, events / seconds, events, seconds, versions, cores)
    run.busiest = busiest_share(final, processes)
    return run


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):,.0f}  min {min(values):,.0f}  max {max(values):,.0f}"
    )


def report(runs: list[Run]) -> None:
    one = [r for r in runs if r.processes == 1]
    two = [r for r in runs if r.processes == 2]
    ratios = [b.rate / a.rate for a, b in zip(one, two, strict=True)]
    print()
    for group in (one, two):
        n = group[0].processes
        print(
            f"{n} trainer process{'es' if n > 1 else ''}: {spread([r.rate for r in group])} "
            f"learned ev/s  (windows {', '.join(f'{r.seconds:.1f}' for r in group)} s; "
            f"{statistics.median(r.versions for r in group):.0f} shard versions per window)"
        )
    print(
        f"ratio 2/1 per run: {', '.join(f'{x:.2f}' for x in ratios)}; median "
        f"{statistics.median(ratios):.2f}x  (target >= 1.7x)"
    )
    print()
    print(f"cores busy during the windows (median of the runs; {os.cpu_count()} cores here):")
    names = list(runs[0].cores)
    print(f"  {'':<28} {'1 process':>10} {'2 processes':>12}")
    for name in names:
        a = statistics.median(r.cores[name] for r in one)
        b = statistics.median(r.cores[name] for r in two)
        print(f"  {name:<28} {a:>10.2f} {b:>12.2f}")
    total = [statistics.median(sum(r.cores.values()) for r in g) for g in (one, two)]
    print(f"  {'total':<28} {total[0]:>10.2f} {total[1]:>12.2f}")
    share = statistics.median(r.busiest for r in two)
    print(
        f"with 2 processes the busier one's shards held {share:.1%} of the events (ideal 50%): "
        f"that alone bounds the ratio at {1 / share:.2f}x (more partitions even it out)"
    )
    explain(one, two)


def explain(one: list[Run], two: list[Run]) -> None:
    """The ratio as (cores the trainers got) x (CPU per learned event), and the ceiling the
    rest of the machine leaves: what a shortfall comes from."""

    def trainer_cores(r: Run) -> float:
        return sum(v for k, v in r.cores.items() if k.startswith("trainers"))

    cores = [statistics.median(trainer_cores(r) for r in g) for g in (one, two)]
    cost = [statistics.median(trainer_cores(r) / r.rate * 1e6 for r in g) for g in (one, two)]
    rest = statistics.median(sum(r.cores.values()) - trainer_cores(r) for r in two)
    ceiling = (os.cpu_count() or 1) - rest
    print(
        f"trainer processes got {cores[0]:.2f} vs {cores[1]:.2f} cores (x{cores[1] / cores[0]:.2f}) "
        f"at {cost[0]:.0f} vs {cost[1]:.0f} us of trainer CPU per learned event "
        f"(x{cost[0] / cost[1]:.2f}): ratio = product of the two"
    )
    print(
        f"with 2 processes the broker, Redis, this bench and other processes took {rest:.2f} "
        f"cores, leaving {ceiling:.2f} for the trainers: at one process's cost per event the "
        f"ceiling here is {ceiling / cores[0]:.2f}x (one process keeps {cores[0]:.2f} cores busy)"
    )


def preload(
    base: Settings, events: int, sites: int, partitions: int
) -> tuple[tuple[Settings, dict[str, int]], float]:
    """((settings of fresh topics holding the feed's first `events` readings, their log ends),
    seconds it took). Every run gets topics (so a consumer group) of its own: on the embedded
    broker a group that members of an earlier run left may never assign its next member."""
    s = base.with_overrides(topic_prefix=f"bench.sharded.{uuid.uuid4().hex[:6]}.")
    started = time.perf_counter()
    ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), partitions)
    produce_next(s, sensor_stream(seed=11, sites=sites), events)
    return (s, log_ends(s, topics_of(s))), time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--events", type=int, default=300_000, help="readings preloaded (each with its outcome)"
    )
    ap.add_argument("--sites", type=int, default=200, help="sites (keys) of the simulated feed")
    ap.add_argument("--runs", type=int, default=3, help="runs of each count")
    ap.add_argument(
        "--partitions", type=int, default=PARTITIONS, help="partitions, so shards (even, >= 2)"
    )
    ap.add_argument("--quick", action="store_true", help="a smoke run: 30,000 events, 1 run")
    args = ap.parse_args()
    if args.quick:
        args.events, args.runs = 30_000, 1
    if args.partitions < 2 or args.partitions % 2:
        ap.error("--partitions must be even and 2 or more (two processes share them)")
    if args.events < 1000 or args.sites < args.partitions or args.runs < 1:
        ap.error("--events must be 1000 or more, --sites at least --partitions, --runs 1 or more")
    private, public = generate()
    with ExitStack() as stack:
        url = redis_url(stack)
        broker, s = stack.enter_context(
            embedded_broker(
                topic_partitions=args.partitions,
                redis_url=url,
                heartbeat_seconds=HEARTBEAT_S,
                signing_private_key=private,
                signing_public_key=public,
            )
        )
        assert broker.pid is not None
        logs = stack.enter_context(trainer_logs("sharded"))
        print(
            f"each run: its own topics ({args.partitions} partitions) holding the same {args.events:,} "
            f"readings of {args.sites} sites and their outcomes; trainers at the spec's cadence "
            f"(a shard version every 5,000 learned events or 10 s)",
            flush=True,
        )
        runs: list[Run] = []
        for r in range(args.runs):
            for n in (1, 2):
                (fresh, ends), loaded = preload(s, args.events, args.sites, args.partitions)
                run = measure(fresh, n, ends, broker.pid, logs, args.partitions)
                runs.append(run)
                print(
                    f"run {r + 1}, {n} process{'es' if n > 1 else ''}: {run.rate:,.0f} ev/s "
                    f"({run.events:,} events in {run.seconds:.1f} s, {run.versions} versions; "
                    f"preloaded in {loaded:.1f} s)",
                    flush=True,
                )
    report(runs)


if __name__ == "__main__":
    main()
