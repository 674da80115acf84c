"""Consumer-group rebalance time, classic against KIP-848 (`group.protocol=consumer`), on a real
3-node Apache Kafka.

Starts Apache Kafka 4.1 with 3 nodes (scripts/kafka, on its own ports and directory; stopped at
the end) and one topic of 12 partitions (3 replicas), then runs `--rounds` rounds of four steps
per variant: 1 -> 2 members (a join), 2 -> 3 (a join), 3 -> 2 (the newest leaves), 2 -> 1 (a
leave). Members are Lazarus's `GroupConsumer` (its rebalance hooks, `close()`), each polling in
its own thread, with Lazarus's default settings. A step's time runs from the join
(`subscribe()`) or the leave (`close()`) until the assignment has settled as the members'
on_assign/on_revoke callbacks show it: every partition owned by exactly one live member, sizes
within one of each other (balanced), and still so `--grace` seconds later. Beside it, the
partition-seconds with no owner meanwhile: what the stop-the-world of an eager rebalance costs.
Before each step it waits a random 0 to `--jitter` seconds more: members learn of a rebalance
at their next heartbeat (every 3 s in classic groups, 5 s in KIP-848 ones), and steps at a
fixed delay after the last settle would always land at the same point between heartbeats.

Variants: classic with Lazarus's default assignor (librdkafka's `range,roundrobin`, so range,
eager: the baseline), classic `cooperative-sticky` (incremental), and `consumer` (KIP-848; the
broker's default assignor `uniform` and member heartbeats every 5 s, its default and minimum).
Prints the median and p90 per step kind, and each variant's ratio to the baseline.

    python -m bench.rebalance [--rounds 6] [--grace 1.5] [--jitter 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.rebalance_group import PARTITIONS, Member, Ownership, Running, wait_settled
from lazarus.embedded.ports import port_is_free
from lazarus.kafka.admin import ensure_topics, wait_for_broker
from lazarus.kafka.config import client_config, consumer_config, quiet_logger
from lazarus.settings import Settings

NODES = 3
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "kafka"
STEPS = (("join", 2), ("join", 3), ("leave", 2), ("leave", 1))
"""Each step: its kind and the number of members after it."""


@dataclass(frozen=True)
class Variant:
    name: str
    protocol: str
    options: tuple[tuple[str, str], ...] = ()


VARIANTS = (
    Variant("classic, range (eager)", "classic"),
    Variant("classic, cooperative-sticky", "classic", (("partition.assignment.strategy", "cooperative-sticky"),)),
    Variant("consumer (KIP-848), uniform", "consumer"),
)  # fmt: skip
BASELINE = VARIANTS[0]


def free_block(n: int, rng: random.Random) -> int:
    """The first of `n` consecutive free ports, below Linux's ephemeral range (32768 and up),
    where the outgoing connections of other processes cannot take one meanwhile."""
    for _ in range(200):
        port = rng.randrange(20000, 32000 - n)
        if all(port_is_free("127.0.0.1", port + i) for i in range(n)):
            return port
    raise SystemExit(f"no {n} consecutive free ports between 20000 and 32000")


@contextmanager
def apache_kafka(rng: random.Random) -> Iterator[str]:
    """A 3-node Apache Kafka on free ports (node i: port + 2(i-1), its controller the next).
    Started up to 3 times: another process may take a port between the check and the bind."""
    root = Path(tempfile.mkdtemp(prefix="lazarus-bench-rebalance-"))
    script = [sys.executable, str(SCRIPT)]
    try:
        for attempt in range(3):
            port = free_block(2 * NODES, rng)
            started = subprocess.run(
                [*script, "start", "--brokers", str(NODES), "--port", str(port), "--dir", str(root)],
                capture_output=True, text=True, check=False, timeout=300,
            )  # fmt: skip
            if started.returncode == 0:
                break
            print(f"start {attempt + 1} failed: {started.stderr.strip()}", file=sys.stderr)
        else:
            raise SystemExit("scripts/kafka could not start Apache Kafka (3 attempts)")
        bootstrap = started.stdout.strip().splitlines()[-1]
        wait_for_broker({"bootstrap.servers": bootstrap, "logger": quiet_logger()}, timeout=60)
        yield bootstrap
    finally:
        subprocess.run([*script, "stop", "--dir", str(root)], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Figures:
    seconds: dict[str, list[float]] = field(default_factory=lambda: {"join": [], "leave": []})
    unowned: dict[str, list[float]] = field(default_factory=lambda: {"join": [], "leave": []})


@dataclass(frozen=True)
class Pacing:
    rounds: int
    grace: float
    jitter: float
    rng: random.Random


def run_variant(s: Settings, topic: str, variant: Variant, pace: Pacing) -> Figures:
    settings = s.with_overrides(kafka_group_protocol=variant.protocol)
    conf = consumer_config(
        settings, f"bench.rebalance.{uuid.uuid4().hex[:8]}", **dict(variant.options)
    )
    ownership, figures = Ownership(), Figures()
    members: list[Running] = []
    numbers = itertools.count(1)  # never reused: a gone member's late callbacks stay its own

    def add() -> float:
        running = Running(Member(next(numbers), conf, ownership))
        members.append(running)
        ownership.begin(time.monotonic(), {r.member.number for r in members})
        return running.start(topic)

    began = add()
    wait_settled(ownership, began, pace.grace, f"{variant.name}: the first member")
    try:
        for r in range(pace.rounds):
            for kind, after in STEPS:
                time.sleep(pace.rng.uniform(0, pace.jitter))
                leaving = None if kind == "join" else members.pop()
                if leaving is None:
                    began = add()
                else:
                    ownership.begin(time.monotonic(), {m.member.number for m in members})
                    began = leaving.leave()
                seconds, unowned = wait_settled(
                    ownership,
                    began,
                    pace.grace,
                    f"{variant.name}, round {r + 1}, {kind} to {after}",
                )
                figures.seconds[kind].append(seconds)
                figures.unowned[kind].append(unowned)
                if leaving is not None:
                    leaving.join()
                print(f"  {variant.name}: {kind} to {after}: {seconds:.2f} s", file=sys.stderr)
    finally:
        for running in reversed(members):
            running.leave()
            running.join()
    return figures


def p90(values: list[float]) -> float:
    return (
        statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]
    )


def report(results: list[tuple[Variant, Figures]]) -> str:
    base = dict((v.name, f) for v, f in results)[BASELINE.name]

    def pick(values: dict[str, list[float]], kind: str) -> list[float]:
        return values["join"] + values["leave"] if kind == "all" else values[kind]

    lines = [
        f"{'variant':<30} {'step':<6} {'n':>3} {'median s':>9} {'p90 s':>7} "
        f"{'unowned p*s':>12} {'median/baseline':>16}"
    ]
    for variant, figures in results:
        for kind in ("join", "leave", "all"):
            secs, gone = pick(figures.seconds, kind), pick(figures.unowned, kind)
            ratio = statistics.median(secs) / statistics.median(pick(base.seconds, kind))
            lines.append(
                f"{variant.name:<30} {kind:<6} {len(secs):>3} {statistics.median(secs):>9.2f} "
                f"{p90(secs):>7.2f} {statistics.median(gone):>12.1f} {ratio:>16.2f}"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=6, help="rounds of 4 steps per variant")
    ap.add_argument("--grace", type=float, default=1.5, help="seconds a settled state must hold")
    ap.add_argument("--jitter", type=float, default=5.0, help="random extra wait before a step")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random waits")
    args = ap.parse_args()
    if args.rounds < 1 or args.grace < 0 or args.jitter < 0:
        ap.error("--rounds must be 1 or more, --grace and --jitter 0 or more")
    pace = Pacing(args.rounds, args.grace, args.jitter, random.Random(args.seed))
    with apache_kafka(random.Random()) as bootstrap:
        s = Settings(embedded=False, kafka_bootstrap_servers=bootstrap)
        topic = f"bench.rebalance.{uuid.uuid4().hex[:8]}"
        ensure_topics(client_config(s, quiet=True), [topic], PARTITIONS, NODES)
        print(
            f"Apache Kafka, {NODES} nodes at {bootstrap}; {topic}: {PARTITIONS} partitions, "
            f"{args.rounds} rounds of {len(STEPS)} steps per variant, grace {args.grace} s, "
            f"jitter {args.jitter} s",
            file=sys.stderr,
        )
        results = [(v, run_variant(s, topic, v, pace)) for v in VARIANTS]
    print(report(results))


if __name__ == "__main__":
    main()
