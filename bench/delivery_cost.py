"""What exactly-once costs the scorer: at-least-once (ALO) and exactly-once (EOS) scores on the
same Apache Kafka, in the same run (issue #16). Not on Tansu: it refuses exactly-once.

`LAZARUS_SCORER_DELIVERY=exactly-once` scores each consumed batch (up to 1,000 inputs) inside
one Kafka transaction with its input offsets; at-least-once stores an input's offset once its
score is acknowledged and commits stored offsets every second. Both are measured `--rounds`
times, alternating (ALO, EOS, ALO, EOS, ...) so drift on a shared machine hits both:

- Throughput: a backlog of `--events` readings on 4 partitions. Each round an in-process
  `ScorerApp` with a fresh consumer group scores the whole backlog, timed from its first
  consumed batch (the group join is left out) until every output is acknowledged (ALO) or its
  transaction committed (EOS). One uncounted warm-up round of each mode goes first (the
  broker's JIT, the page cache). Events/s per round, the median per mode, the ratio EOS/ALO;
  and CPU time per event of the scorer's process and of the broker (when it is ours), which
  other work on a shared machine disturbs far less than events/s.
- Latency: readings at `--rate` per second for `--seconds` (after `WARM_S` uncounted seconds;
  a producer thread, 10 ms slices) into fresh topics, scored by one worker process
  (`python -m lazarus.scorer habitat`). An input's latency is the time a `read_committed`
  reader of the scores topic receives its score minus the input's Kafka timestamp (set by the
  producing client when it sent the input; one host, one clock). It includes the producer's
  linger and the broker's append of the input, the scorer's fetch and its batch wait, scoring,
  the produce and acknowledgement of the score, and the reader's fetch. With exactly-once it
  also includes the commit of the batch's transaction (offsets sent, commit markers written):
  a read_committed reader sees none of a batch's scores before that. At-least-once scores are
  not transactional, so the same read_committed reader sees them as soon as the broker has
  them. p50/p90/p99 per round; per mode the median of each over the rounds; the ratio EOS/ALO.

    python -m bench.delivery_cost [--events 100000] [--rounds 3] [--rate 2000] [--seconds 10]
                                  [--bootstrap HOST:PORT] [--quick]

Without `--bootstrap` it starts its own one-node Apache Kafka with `scripts/kafka` (free ports,
a temporary directory, stopped at the end). Redis: the one at the default URL, else an
embedded one. `--quick`: a short run (10,000 events, 1 round, 3 s at 1,000/s). The load
average is printed at the start and the end: the figures mean little on a saturated machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from bench.common import CpuMark, redis_url
from bench.delivery_latency import WAIT_S, WARM_S, Failure, paced_run, until
from bench.scorer_serving import pct
from lazarus.embedded.ports import free_port, port_is_free
from lazarus.errors import ConfigError
from lazarus.kafka.admin import ensure_topics, wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.kafka.transactional import TransactionalConsumer
from lazarus.kafka.txn_probe import require_transactions
from lazarus.registry.signing import generate, verifier_from
from lazarus.schemas.models import HABITAT
from lazarus.schemas.topics import topic_names
from lazarus.scorer.app import ScorerApp
from lazarus.settings import Settings
from tests.integration.scorerkit import ModelMaker, send_sensors

PARTITIONS = 4
MODES = ("at-least-once", "exactly-once")
SHORT = {"at-least-once": "alo", "exactly-once": "eos"}
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "kafka"
KAFKA_START_S = 300.0
"""How long `scripts/kafka start` may take (the jars are fetched once, with Maven)."""


@contextmanager
def apache_kafka() -> Iterator[tuple[str, int]]:
    """A one-node Apache Kafka started by `scripts/kafka` on free ports: bootstrap, pid."""
    root = Path(tempfile.mkdtemp(prefix="lazarus-bench-kafka-"))
    port = free_port()
    while not port_is_free("127.0.0.1", port + 1):  # node 1's controller port
        port = free_port()
    try:
        started = subprocess.run(
            [sys.executable, str(SCRIPT), "start", "--port", str(port), "--dir", str(root)],
            capture_output=True, text=True, check=False, timeout=KAFKA_START_S,
        )  # fmt: skip
        if started.returncode != 0:
            why = started.stderr.strip() or started.stdout.strip()
            logs = [p.read_text(errors="replace")[-1500:] for p in root.glob("node*.log")]
            raise Failure(f"scripts/kafka could not start Apache Kafka: {why}\n" + "\n".join(logs))
        pid = int((root / "pids").read_text().split()[0])
        yield started.stdout.strip().splitlines()[-1], pid
    finally:
        subprocess.run(
            [sys.executable, str(SCRIPT), "stop", "--dir", str(root)],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


# -- throughput ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    """One scorer's pass over the backlog."""

    rate: float
    """events/s, wall clock"""
    transactions: int
    """committed (0 at-least-once)"""
    cpu_us: float
    """CPU microseconds per event of this process (the scorer and its librdkafka threads)"""
    broker_cpu_us: float
    """CPU microseconds per event of the broker (0 when it is not ours: --bootstrap)"""


def score_backlog(s: Settings, n: int, broker_pid: int | None) -> Round:
    """One in-process ScorerApp (a fresh group) scores the `n`-reading backlog."""
    app = ScorerApp(s, HABITAT, verifier_from(s))
    app.start(30)
    try:
        if not app.wait_for_model(lambda: False, timeout=30):
            raise Failure("the scorer found no servable model in 30 s")
        app.group = f"bench-{SHORT[s.scorer_delivery]}-{uuid.uuid4().hex[:6]}"
        app.subscribe()
        until(lambda: app.events_in > 0, "the first batch", app.step)
        first, started, cpu = app.events_in, time.perf_counter(), CpuMark.now(broker_pid)
        # generous: 1,000 events/s at worst, on a machine others load too
        done = lambda: app.events_in >= n and not len(app.ledger)  # noqa: E731
        until(done, "the backlog to be scored", app.step, WAIT_S + n / 1000)
        elapsed, used = time.perf_counter() - started, CpuMark.now(broker_pid) - cpu
    finally:
        app.stop()
    commits = app.consumer.commits if isinstance(app.consumer, TransactionalConsumer) else 0
    scored = app.events_in - first
    return Round(scored / elapsed, commits, used.own / scored * 1e6, used.other / scored * 1e6)


def throughput(
    s: Settings, events: int, rounds: int, broker_pid: int | None
) -> dict[str, list[Round]]:
    """A warm-up round of each mode, then `rounds` of each, alternating; prints each round;
    the counted rounds per mode."""
    send_sensors(s, events, fault_rate=0.002)
    out: dict[str, list[Round]] = {m: [] for m in MODES}
    for r in range(rounds + 1):
        for mode in MODES:
            one = score_backlog(s.with_overrides(scorer_delivery=mode), events, broker_pid)
            txns = one.transactions
            ratio = f" (EOS/ALO {one.rate / out[MODES[0]][-1].rate:.2f})" if txns and r else ""
            print(
                f"{f'round {r}' if r else 'warm-up'} {mode}: {one.rate:,.0f} ev/s{ratio}; "
                f"CPU per event: scorer {one.cpu_us:.0f} us, broker {one.broker_cpu_us:.0f} us"
                + (f"; {txns} transactions of {events / txns:,.0f} inputs" if txns else ""),
                flush=True,
            )
            if r:
                out[mode].append(one)
    return out


def throughput_summary(rounds: dict[str, list[Round]], n: int) -> None:
    """Per mode the median of each figure over the counted rounds; the ratios EOS/ALO."""
    med = {
        m: Round(*(statistics.median(getattr(r, f) for r in v) for f in Round.__dataclass_fields__))
        for m, v in rounds.items()
    }
    alo, eos = med[MODES[0]], med[MODES[1]]
    print(
        f"throughput, median of {n}: ALO {alo.rate:,.0f} ev/s, EOS {eos.rate:,.0f} ev/s; "
        f"ratio EOS/ALO {eos.rate / alo.rate:.2f}"
    )
    print(
        f"CPU per event, median of {n}: scorer ALO {alo.cpu_us:.0f} us, EOS {eos.cpu_us:.0f} us "
        f"(ratio {eos.cpu_us / alo.cpu_us:.2f}); broker ALO {alo.broker_cpu_us:.0f} us, "
        f"EOS {eos.broker_cpu_us:.0f} us"
    )


# -- latency ---------------------------------------------------------------------------------


def latency(
    s: Settings, rate: float, seconds: float, rounds: int, logs: Path
) -> dict[str, dict[str, float]]:
    """`rounds` paced runs of each mode, alternating, each in topics of its own; prints each;
    per mode, the median over the rounds of each percentile (ms)."""
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    for r in range(1, rounds + 1):
        for mode in MODES:
            prefix = f"{s.topic_prefix}{SHORT[mode]}{r}."
            run_s = s.with_overrides(topic_prefix=prefix, scorer_delivery=mode)
            lat, sent = paced_run(run_s, rate, seconds, logs / f"worker-{SHORT[mode]}{r}.log")
            if not lat:
                raise Failure(f"{mode}: no input was scored")
            runs[mode].append({name: pct(lat, q) for name, q in QUANTILES.items()})
            shown = ", ".join(f"{name} {v:.1f} ms" for name, v in runs[mode][-1].items())
            print(
                f"round {r} {mode}: {len(lat):,} of {sent:,} inputs scored; "
                f"{shown}, max {max(lat):.1f} ms",
                flush=True,
            )
    return {
        m: {q: statistics.median(run[q] for run in v) for q in QUANTILES} for m, v in runs.items()
    }


# -- the run ---------------------------------------------------------------------------------


def bench_settings(bootstrap: str, url: str) -> Settings:
    private, public = generate()
    tag = uuid.uuid4().hex[:8]
    return Settings(
        embedded=False,
        kafka_bootstrap_servers=bootstrap,
        redis_url=url,
        topic_prefix=f"bench{tag}.",
        redis_key_prefix=f"lazarus-bench:{tag}",
        topic_partitions=PARTITIONS,
        signing_private_key=private,
        signing_public_key=public,
    )


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.delivery_cost",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--events", type=int, help="the throughput backlog (default 100000)")
    ap.add_argument("--rounds", type=int, help="rounds per mode of each measure (default 3)")
    ap.add_argument("--rate", type=float, help="paced readings per second (default 2000)")
    ap.add_argument("--seconds", type=float, help="the counted paced window, s (default 10)")
    ap.add_argument("--bootstrap", help="an Apache Kafka to use (host:port) instead of our own")
    ap.add_argument("--quick", action="store_true", help="a short run")
    args = ap.parse_args(argv)
    defaults = (10_000, 1, 1000.0, 3.0) if args.quick else (100_000, 3, 2000.0, 10.0)
    for name, default in zip(("events", "rounds", "rate", "seconds"), defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)
        elif getattr(args, name) <= 0:
            ap.error(f"--{name} {getattr(args, name)}: must be positive")
    return args


def run(args: argparse.Namespace) -> tuple[dict[str, list[Round]], dict[str, dict[str, float]]]:
    """Both measures on one broker and Redis (started here unless given); their results."""
    with ExitStack() as stack:
        url = redis_url(stack)
        bootstrap, broker_pid = args.bootstrap, None
        if bootstrap is None:
            bootstrap, broker_pid = stack.enter_context(apache_kafka())
        print(f"Kafka {bootstrap} ({'--bootstrap' if args.bootstrap else 'scripts/kafka, 1 node'})")
        s = bench_settings(bootstrap, url)
        wait_for_broker(client_config(s, quiet=True), timeout=60)
        try:
            require_transactions(s)
        except ConfigError as exc:
            print(f"error: --bootstrap {bootstrap}: {exc}", file=sys.stderr)
            sys.exit(2)
        stack.callback(_forget_keys, s)
        ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), PARTITIONS)
        ModelMaker(s).publish(learn=5000)
        print(f"\nthroughput: a backlog of {args.events:,} readings", flush=True)
        rounds = throughput(s, args.events, args.rounds, broker_pid)
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-delivery-")))
        print(
            f"\nlatency: {args.rate:,.0f} readings/s, {args.seconds:g} s counted after "
            f"{WARM_S:g} s of warm-up",
            flush=True,
        )
        return rounds, latency(s, args.rate, args.seconds, args.rounds, logs)


def _forget_keys(s: Settings) -> None:
    client = redis.Redis.from_url(s.redis_url_value)
    keys = client.keys(f"{s.redis_key_prefix}:*")
    if keys:
        client.delete(*keys)
    client.close()


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    try:
        rounds, lat = run(args)
    except Failure as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print()
    throughput_summary(rounds, args.rounds)
    for mode in MODES:
        shown = ", ".join(f"{q} {v:.1f} ms" for q, v in lat[mode].items())
        print(f"latency {mode}, median of {args.rounds}: {shown}")
    ratios = ", ".join(f"{q} {lat[MODES[1]][q] / lat[MODES[0]][q]:.2f}" for q in QUANTILES)
    print(f"latency ratio EOS/ALO: {ratios}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
