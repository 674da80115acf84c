"""`lazarus lag --json` and `lazarus status --json` latency, this checkout beside an older one.

Sets up a broker (the embedded one, or `--kafka HOST:PORT`) and a Redis (the one at the default
URL, else an embedded one), then 8 consumer groups with 4 partitions on each topic they read:
the built-in models' trainers and scorers (trainers read two topics) and four groups of spec-file
models (`lazarus.{trainer,scorer}.{survey,phishing}` on topics of their own). Every topic gets
`--messages` records, produced in batches (so Tansu's high watermark lags its log end); each
group but one commits after reading part of its topics with a real consumer (assigned, not
subscribed: a group join takes seconds on Tansu), so every group has lag; `trainer.viability`
never commits (its lag is the whole log).

Then it times each command as a whole subprocess (Python start-up, imports, the broker, Redis,
the output), `--runs` times for this checkout and `--old-runs` times for `--old PATH` (run as
`PYTHONPATH=PATH python -P -m lazarus`, so its own code is imported), and prints p50 and p95
side by side, with the number of groups each showed (the old code reads only the built-in
models' 4 groups; the new one finds all 8).

    git worktree add /tmp/lag-old d196c66
    python -m bench.lag_latency --old /tmp/lag-old [--runs 20] [--old-runs 3] [--kafka HOST:PORT]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from bench.common import redis_url
from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port
from lazarus.groups import group_name, known_groups
from lazarus.kafka.admin import ensure_topics, wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.schemas.topics import topic_names
from lazarus.settings import Settings

PARTITIONS = 4
REPO = Path(__file__).resolve().parents[1]
NEVER_COMMITS = "trainer.viability"
RUN_TIMEOUT_S = 600.0


@contextmanager
def services(kafka: str | None) -> Iterator[Settings]:
    """A broker and a Redis, and settings naming them under a fresh prefix."""
    with ExitStack() as stack:
        url = redis_url(stack)
        if kafka is None:
            broker = EmbeddedBroker(free_port())
            broker.start()
            stack.callback(broker.stop)
            kafka = broker.bootstrap
        tag = uuid.uuid4().hex[:8]
        yield Settings(
            embedded=False,
            kafka_bootstrap_servers=kafka,
            redis_url=url,
            topic_prefix=f"bench{tag}.",
            redis_key_prefix=f"lazarus-bench:{tag}",
            topic_partitions=PARTITIONS,
        )


def bench_groups(s: Settings) -> dict[str, tuple[str, ...]]:
    """The 8 groups and the topics each reads."""
    p = s.topic_prefix
    groups = dict(known_groups(p))
    for model in ("survey", "phishing"):
        topic = f"{p}bench.{model}.records"
        groups[group_name(p, "trainer", model)] = (topic,)
        groups[group_name(p, "scorer", model)] = (topic,)
    return groups


def seed(s: Settings, groups: dict[str, tuple[str, ...]], messages: int) -> None:
    """Topics, `messages` records on each, and each group's commit after part of them."""
    conf = client_config(s, quiet=True)
    wait_for_broker(conf, timeout=30)
    topics = sorted({*topic_names(s.topic_prefix), *(t for ts in groups.values() for t in ts)})
    ensure_topics(conf, topics, PARTITIONS)
    producer = Producer({**conf, "linger.ms": 20})
    for topic in topics:
        for i in range(messages):
            producer.produce(topic, b"{}", f"key-{i}".encode(), partition=i % PARTITIONS)
            producer.poll(0)
    assert producer.flush(60) == 0, "records not delivered"
    for n, (group, reads) in enumerate(groups.items()):
        if group.endswith(NEVER_COMMITS):
            continue
        read_and_commit(conf, group, reads, (n + 1) * messages // PARTITIONS // 10)


def read_and_commit(
    conf: dict[str, object], group: str, topics: tuple[str, ...], per_partition: int
) -> None:
    """A consumer of `group` reads the first `per_partition` records of each partition of
    `topics`, then commits the offset after them."""
    consumer = Consumer(
        {**conf, "group.id": group, "enable.auto.commit": False, "enable.partition.eof": True}
    )
    try:
        tps = [TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(PARTITIONS)]
        consumer.assign(tps)
        pending = {(tp.topic, tp.partition) for tp in tps}
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.5):
                key = (msg.topic() or "", msg.partition() or 0)
                if msg.error() is not None or (msg.offset() or 0) + 1 >= per_partition:
                    pending.discard(key)
        assert not pending, f"{group}: {sorted(pending)} not read in 60 s"
        commits = [TopicPartition(tp.topic, tp.partition, per_partition) for tp in tps]
        consumer.commit(offsets=commits, asynchronous=False)
    finally:
        consumer.close()


@dataclass(frozen=True)
class Timing:
    label: str
    command: str
    runs: list[float]
    groups: int

    def quantile(self, q: float) -> float:
        """Nearest-rank quantile of the runs, in seconds."""
        ordered = sorted(self.runs)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def time_command(label: str, code: Path, args: list[str], s: Settings, runs: int) -> Timing:
    """`runs` runs of `lazarus ARGS` (one warm-up first), each timed as a whole subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_")}
    env.update(s.child_env())
    env["PYTHONPATH"] = str(code)
    times: list[float] = []
    shown = 0
    for i in range(runs + 1):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-P", "-m", "lazarus", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            cwd="/",
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(
                f"{label} `lazarus {' '.join(args)}` exited {result.returncode}:\n{result.stderr}"
            )
        shown = len(json.loads(result.stdout)["groups"])
        if i > 0:  # the first run warms the page cache
            times.append(elapsed)
        print(
            f"  {label:<4} lazarus {' '.join(args):<14} run {i}: {elapsed:6.2f} s", file=sys.stderr
        )
    return Timing(label, " ".join(args), times, shown)


def report(timings: list[Timing]) -> str:
    lines = [
        f"{'command':<14} {'code':<4} {'runs':>4} {'groups':>6} {'p50 s':>8} {'p95 s':>8} {'max s':>8}",
    ]
    for t in timings:
        lines.append(
            f"{t.command:<14} {t.label:<4} {len(t.runs):>4} {t.groups:>6} "
            f"{statistics.median(t.runs):>8.2f} {t.quantile(0.95):>8.2f} {max(t.runs):>8.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--old", type=Path, default=None, help="an older checkout to time beside")
    ap.add_argument("--runs", type=int, default=20, help="timed runs of each command (new code)")
    ap.add_argument("--old-runs", type=int, default=3, help="timed runs with --old (it is slow)")
    ap.add_argument("--messages", type=int, default=2000, help="records on each topic")
    ap.add_argument("--kafka", default=None, help="HOST:PORT of a Kafka to use (default: embedded)")
    args = ap.parse_args()
    if args.old is not None and not (args.old / "lazarus" / "lag.py").exists():
        raise SystemExit(
            f"--old {args.old}: no lazarus/lag.py there (git worktree add PATH COMMIT)"
        )
    with services(args.kafka) as s:
        groups = bench_groups(s)
        seed(s, groups, args.messages)
        print(
            f"broker {s.kafka_bootstrap_servers} ({'given' if args.kafka else 'embedded Tansu'}), "
            f"{len(groups)} groups x {PARTITIONS} partitions per topic, "
            f"{args.messages} records per topic",
            file=sys.stderr,
        )
        timings = []
        for command in (["lag", "--json"], ["status", "--json"]):
            timings.append(time_command("new", REPO, command, s, args.runs))
            if args.old is not None:
                timings.append(time_command("old", args.old.resolve(), command, s, args.old_runs))
    print(report(timings))


if __name__ == "__main__":
    main()
