"""What shadow scoring costs a scorer (issue #17): one worker scoring a backlog end to end with
the champion only, with 1 challenger and with 2 challengers scored in shadow, interleaved in the
same run (embedded broker and Redis, a fresh consumer group per round).

For each it prints events/s, the ratio to champion-only, the work added (the scoring thread's
CPU seconds per event over champion-only's, less one), and the champion's batch latency p50/p99
(consume to the champion's scores handed to the producer, `processing_seconds`) and the whole
step's (shadows included). Shadow scoring reuses the champion's decoded, featurized inputs, so a
shadow adds its prediction, its render and its produce, not a second decode: the issue's target
is that it cuts throughput by no more than the work it adds (ratio >= 1 / (1 + work added)),
and, the scorer being CPU-bound, ~1 / (1 + k) would be k whole second scorings.

    python -m bench.shadow_cost [--events 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass

import redis

from bench.common import CpuMark, broker_settings, redis_url
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.registry.lineup import Lineup
from lazarus.registry.signing import generate, verifier_from
from lazarus.schemas.models import HABITAT
from lazarus.schemas.topics import topic_names
from lazarus.scorer.app import ScorerApp
from lazarus.settings import Settings
from tests.integration.scorerkit import ModelMaker, send_sensors

M = HABITAT.name
LINES = (f"{M}.c1", f"{M}.c2")
SHADOWS = (0, 1, 2)
WAIT_S = 60.0


@dataclass(frozen=True)
class Round:
    events_s: float
    cpu_per_event_us: float
    """The scoring thread's CPU microseconds per event."""
    champion_ms: list[float]
    step_ms: list[float]


def run_one(s: Settings, lineup: Lineup, shadows: int, n: int) -> Round:
    """One worker reading the whole topic with `shadows` challengers in the lineup."""
    for i, line in enumerate(LINES):
        (lineup.join if i < shadows else lineup.leave)(M, line)
    app = ScorerApp(s, HABITAT, verifier_from(s))
    champion_ms: list[float] = []
    app.scoring.observe_seconds = lambda sec: champion_ms.append(sec * 1000)
    app.start(30)
    assert app.wait_for_model(lambda: False, timeout=WAIT_S), "no model"
    app.group = f"bench-shadow-{uuid.uuid4().hex[:6]}"  # reads the topic from the start
    app.subscribe()
    deadline = time.monotonic() + WAIT_S
    while app.events_in == 0 or len(app.shadows) != shadows:
        app.step()
        assert time.monotonic() < deadline, f"{len(app.shadows)} shadows, not {shadows}"
    first, mark, started = app.events_in, CpuMark.now(), time.perf_counter()
    scored, shadowed = app.scored, app.scoring.shadow.total
    champion_ms.clear()
    step_ms: list[float] = []
    while app.events_in < n or len(app.ledger):
        t = time.perf_counter()
        if app.step():
            step_ms.append((time.perf_counter() - t) * 1000)
    elapsed, cpu = time.perf_counter() - started, CpuMark.now() - mark
    scored, shadowed = app.scored - scored, app.scoring.shadow.total - shadowed
    app.stop()
    assert shadowed == shadows * scored, f"{shadowed} shadow scores for {scored} scores"
    done = app.events_in - first
    return Round(done / elapsed, cpu.thread / done * 1e6, champion_ms, step_ms)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    private, public = generate()
    with ExitStack() as stack:
        url = redis_url(stack)
        s = stack.enter_context(
            broker_settings(
                topic_prefix="bench.",
                redis_url=url,
                redis_key_prefix=f"bench:{uuid.uuid4().hex[:8]}",
                signing_private_key=private,
                signing_public_key=public,
            )
        )
        ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), 4)
        ModelMaker(s).publish(learn=5000)
        for seed, line in enumerate(LINES, start=31):
            ModelMaker(s, seed=seed, line=line).publish(learn=3000)
        lineup = Lineup(redis.Redis.from_url(url), s.redis_key_prefix)
        send_sensors(s, args.events, fault_rate=0.002)
        results: dict[int, list[Round]] = {k: [] for k in SHADOWS}
        for r in range(args.rounds):
            order = SHADOWS[r % 3 :] + SHADOWS[: r % 3]  # each first in turn
            for k in order:
                results[k].append(run_one(s, lineup, k, args.events))
            print(
                f"round {r + 1}: "
                + ", ".join(f"+{k} {results[k][-1].events_s:,.0f} ev/s" for k in SHADOWS),
                flush=True,
            )
    report(results)


def report(results: dict[int, list[Round]]) -> None:
    """Ratios and work added are taken round by round against the same round's champion-only
    run (the machine's load changes between rounds more than within one), then the median."""
    base = results[0]
    print()
    print(
        f"{'shadows':>8} {'ev/s (median)':>14} {'ratio':>6} {'work added':>11} "
        f"{'1/(1+added)':>12} {'1/(1+k)':>8} {'champion p50/p99 ms':>20} {'step p50/p99 ms':>16}"
    )
    for k, rounds in results.items():
        pairs = list(zip(rounds, base, strict=True))
        ratio = statistics.median(x.events_s / b.events_s for x, b in pairs)
        added = statistics.median(x.cpu_per_event_us / b.cpu_per_event_us - 1 for x, b in pairs)
        champion = [v for x in rounds for v in x.champion_ms]
        step = [v for x in rounds for v in x.step_ms]
        print(
            f"{k:>8} {statistics.median(x.events_s for x in rounds):>14,.0f} {ratio:>6.2f} "
            f"{added:>10.0%} {1 / (1 + added):>12.2f} {1 / (1 + k):>8.2f} "
            f"{pct(champion, 50):>9.1f}/{pct(champion, 99):<10.1f} "
            f"{pct(step, 50):>7.1f}/{pct(step, 99):<8.1f}"
        )
    print(
        "\nratio: events/s over the same round's champion-only; work added: the scoring "
        "thread's CPU per event over champion-only's, less one (the target: ratio >= "
        "1/(1+added)); 1/(1+k): as if each shadow were a whole second scoring"
    )
    cpu = statistics.median(x.cpu_per_event_us for x in base)
    print(f"champion-only: {cpu:.1f} us CPU per event (scoring thread)")


if __name__ == "__main__":
    main()
