"""Lazarus beside what a user would pick instead (issue #20): one broker, the same readings and
outcomes preloaded, and in interleaved rounds, each contender in its own fresh process:

- scoring: a hand-written confluent-kafka loop (`bench.peer_loops.hand_scorer`; `consume()` in
  batches of 1,000, and "poll": `poll()` per message, as the client's examples) against one
  Lazarus scorer worker (`bench.scorer_throughput.scorer`);
- training: a hand-written join-then-test-then-train loop against the Lazarus trainer
  (`bench.trainer_throughput.trainer`), both consuming the same topics;
- river's `progressive_val_score` over the same events in memory, from JSON and from features.

Printed: events/s per round, then medians, ratios to Lazarus and CPU per event: the child
process's own CPU (all its threads) over its timed window, plus the broker's when it is the
embedded one (its pid is known).

`--peers quix,bytewax` adds Quix Streams and Bytewax doing the hand scorer's job
(`bench.peer_frameworks`), in their own virtualenv `.venv-peers`, which
`--setup-peers` makes once from `bench/peers-requirements.txt` (their pins clash with Lazarus's).

    python -m bench.peers [--events 200000] [--rounds 3] [--quick] [--kafka host:port]
    python -m bench.peers --setup-peers && python -m bench.peers --peers quix,bytewax
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import process_cpu_s, redis_url
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.registry.signing import generate
from lazarus.schemas.topics import topic_names
from lazarus.settings import Settings
from tests.integration.cli import cli_env

SCORERS = ("lazarus scorer", "hand scorer", "hand scorer poll")
TRAINERS = ("lazarus trainer", "hand trainer", "river pvs json", "river pvs features")
FRAMEWORKS = {"quix": "quix scorer", "bytewax": "bytewax scorer"}
CHILD_TIMEOUT_S = 900.0
ROOT = str(Path(__file__).resolve().parents[1])
PEERS_VENV = Path(ROOT) / ".venv-peers"
PEERS_PYTHON = PEERS_VENV / "bin" / "python"


@dataclass(frozen=True)
class Run:
    rate: float
    events: int
    cpu_s: float  # the contender's process, all threads (and a decoding child of the trainer)
    broker_s: float  # the embedded broker over the same run; 0 when unknown
    thread_s: float = 0.0  # the Lazarus trainer's learner thread; 0 for the others

    def cpu_us(self) -> float:
        return self.cpu_s / self.events * 1e6

    def broker_us(self) -> float:
        return self.broker_s / self.events * 1e6


def child(name: str, events: int) -> dict[str, float]:
    """Run one contender in this (child) process; its figures as a dict."""
    s = Settings()
    broker_pid = int(os.environ.get("BENCH_BROKER_PID") or 0)
    if name == "lazarus scorer":
        from bench.scorer_throughput import scorer

        rate, used = scorer(s, events, broker_pid=broker_pid or None)
        return {"rate": rate, "events": events, "cpu_s": used.own, "broker_s": used.other}
    if name == "lazarus trainer":
        from bench.trainer_throughput import trainer

        rate, _, n, used = trainer(s, broker_pid or os.getpid())
        return {
            "rate": rate,
            "events": n,
            "cpu_s": used.own + used.children,
            "broker_s": used.other if broker_pid else 0.0,
            "thread_s": used.thread,
        }
    from bench import peer_loops

    before = process_cpu_s(broker_pid) if broker_pid else 0.0
    if name in FRAMEWORKS.values():
        from bench import peer_frameworks

        run = (
            peer_frameworks.quix_scorer if name == "quix scorer" else peer_frameworks.bytewax_scorer
        )
        rate, n, cpu = run(s, events)
    elif name.startswith("hand scorer"):
        rate, n, cpu = peer_loops.hand_scorer(s, events, one_by_one=name.endswith("poll"))
    elif name == "hand trainer":
        rate, n, cpu = peer_loops.hand_trainer(s)
    else:
        rate, n, cpu = peer_loops.river_pvs(events, name.rsplit(" ", 1)[1])
    kafka = not name.startswith("river")
    broker = process_cpu_s(broker_pid) - before if broker_pid and kafka else 0.0
    return {"rate": rate, "events": n, "cpu_s": cpu, "broker_s": broker}


def run_child(s: Settings, name: str, events: int, broker_pid: int | None) -> Run:
    env = cli_env(s, BENCH_BROKER_PID=str(broker_pid or ""))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    python = str(PEERS_PYTHON) if name in FRAMEWORKS.values() else sys.executable
    done = subprocess.run(
        [python, "-m", "bench.peers", "--child", name, "--events", str(events)],
        env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    last = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
    if not last or not last[0].startswith("{"):
        sys.exit(f"{name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    r = json.loads(last[0])
    return Run(r["rate"], int(r["events"]), r["cpu_s"], r["broker_s"], r.get("thread_s", 0.0))


@contextmanager
def broker(kafka: str | None) -> Iterator[tuple[Settings, int | None]]:
    """Settings for a fresh topic prefix on `kafka`, or on an embedded broker (and its pid)."""
    private, public = generate()
    with ExitStack() as stack:
        common: dict[str, Any] = {
            "topic_prefix": f"bench{uuid.uuid4().hex[:6]}.",
            "redis_url": redis_url(stack),
            "redis_key_prefix": f"bench:{uuid.uuid4().hex[:8]}",
            "signing_private_key": private,
            "signing_public_key": public,
        }
        if kafka:
            yield Settings(embedded=False, kafka_bootstrap_servers=kafka, **common), None
            return
        from bench.common import embedded_broker

        b, s = stack.enter_context(embedded_broker(**common))
        yield s, b.pid


def preload(s: Settings, events: int) -> None:
    from tests.integration.scorerkit import ModelMaker
    from tests.integration.trainerkit import produce_sensors

    outputs = [f"{s.topic_prefix}bench.{name}_scores" for name in ("hand", "quix", "bytewax")]
    # created here: a broker with topic auto-creation off (scripts/kafka) refuses them
    ensure_topics(client_config(s, quiet=True), [*topic_names(s.topic_prefix), *outputs], 4)
    ModelMaker(s).publish(learn=5000)  # the model the Lazarus scorer serves
    produce_sensors(s, events)  # readings and their outcomes, as the trainer bench does


def optional_peers(names: list[str]) -> tuple[str, ...]:
    """The framework contenders `--peers` names; exits with one line on an unknown name or a
    missing `.venv-peers`."""
    unknown = [n for n in names if n not in FRAMEWORKS]
    if unknown:
        print(
            f"--peers: unknown peer {unknown[0]!r} (known: {', '.join(FRAMEWORKS)})",
            file=sys.stderr,
        )
        sys.exit(2)
    if names and not PEERS_PYTHON.exists():
        print(
            f"--peers: {PEERS_VENV} does not exist; make it once with "
            "`python -m bench.peers --setup-peers`",
            file=sys.stderr,
        )
        sys.exit(2)
    return tuple(FRAMEWORKS[n] for n in names)


def setup_peers() -> None:
    """Make `.venv-peers` from bench/peers-requirements.txt (about a minute, from PyPI)."""
    print(f"making {PEERS_VENV} from bench/peers-requirements.txt", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    requirements = str(Path(ROOT) / "bench" / "peers-requirements.txt")
    subprocess.run(
        [str(PEERS_PYTHON), "-m", "pip", "install", "-q", "-r", requirements], check=True
    )
    print(f"done: python -m bench.peers --peers {','.join(FRAMEWORKS)}")


def announce(s: Settings, kafka: str | None, events: int) -> None:
    print(
        f"broker: {s.kafka_bootstrap_servers} ({'Apache Kafka' if kafka else 'embedded Tansu'}); "
        f"{events:,} readings and outcomes; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def interleaved(
    s: Settings,
    names: tuple[str, ...],
    events: int,
    rounds: int,
    broker_pid: int | None,
    unit: str,
) -> dict[str, list[Run]]:
    """`rounds` rounds of every contender, each in a fresh process, the order reversed every
    other round; each round's rates printed as it ends."""
    runs: dict[str, list[Run]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else tuple(reversed(names)):
            runs[name].append(run_child(s, name, events, broker_pid))
        print(
            f"round {r + 1}: "
            + ", ".join(f"{n} {runs[n][-1].rate:,.0f}" for n in names)
            + f" {unit} (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    return runs


def table(runs: dict[str, list[Run]], baseline: str, names: tuple[str, ...]) -> None:
    base = statistics.median(r.rate for r in runs[baseline])
    print(
        f"  {'':<20} {'ev/s median':>12} {'(min-max)':>18} {'vs ' + baseline:>18} {'CPU us/ev':>10} {'broker':>7}"
    )
    for name in names:
        rates = [r.rate for r in runs[name]]
        med = statistics.median(rates)
        cpu = statistics.median(r.cpu_us() for r in runs[name])
        brk = statistics.median(r.broker_us() for r in runs[name])
        spread = f"{min(rates):,.0f}-{max(rates):,.0f}"
        ratio = f"{base / med:.2f}x" if name != baseline else "1.00x"
        print(
            f"  {name:<20} {med:>12,.0f} {spread:>18} {ratio:>18} {cpu:>10.1f} {brk or float('nan'):>7.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="20,000 events, one round")
    ap.add_argument("--kafka", help="host:port of an Apache Kafka (scripts/kafka start)")
    ap.add_argument(
        "--peers", default="", help="optional framework peers of the scorer: quix,bytewax"
    )
    ap.add_argument(
        "--setup-peers", action="store_true", help="make .venv-peers for --peers, then exit"
    )
    ap.add_argument("--only", choices=("scoring", "training"), help="one half only")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.events)))
        return
    if args.setup_peers:
        setup_peers()
        return
    frameworks = optional_peers([p.strip() for p in args.peers.split(",") if p.strip()])
    if args.quick:
        args.events, args.rounds = min(args.events, 20_000), 1
    scorers = SCORERS + frameworks
    names = (scorers if args.only != "training" else ()) + (
        TRAINERS if args.only != "scoring" else ()
    )
    with broker(args.kafka) as (s, broker_pid):
        announce(s, args.kafka, args.events)
        preload(s, args.events)
        runs = interleaved(s, names, args.events, args.rounds, broker_pid, "ev/s")
    print()
    if args.only != "training":
        print("scoring (events/s in; 'vs' = Lazarus over it):")
        table(runs, "lazarus scorer", scorers)
    if args.only != "scoring":
        print("training (learned events/s; 'vs' = Lazarus over it):")
        table(runs, "lazarus trainer", TRAINERS)
        print("targets (issue #20): trainer >= 1.0x the hand loop, >= 0.6x river pvs from JSON")
    print(
        "CPU: the contender's process over its timed window (the trainer's decoding child "
        "included); broker: the embedded broker's CPU over the run (nan: not measured)"
    )


if __name__ == "__main__":
    main()
