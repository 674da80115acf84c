"""The lifecycle's decisions on the habitat simulator, in memory: after a concept drift, how soon
a fresh challenger is started, promoted, and served quality recovers; on a feed without drift,
how often anything is started or promoted for nothing. The same-run baseline is the champion
alone (what is served without the lifecycle).

For each seed, the simulator's stream (every reading labelled at once, no faulty readings),
`--events` long, with the drift at reading `--drift-at` and once without. The trainer's learner
(`lazarus.trainer.learner.Learner`, habitat's pipeline, drift action `challenger`) learns it;
before each event is learned, the served line (the champion: the main line, or the fresh one
once promoted) and the other line predict it, as the scorer does in shadow; their 0/1 losses
are paired (`lazarus.quality.paired`) and every `--judge-every` events the gate
(`lazarus.quality.gate`, `PromotionPolicy()` defaults) decides, as the quality monitor does.
Reported per seed, then the median:

- detected: labelled events after the drift point until the trainer's ADWIN fired;
- promoted: labelled events after the drift point until the fresh line was promoted;
- recovery: labelled events after the drift point until served accuracy (mean of the last
  `--window` served events) is back within one point of its level over the `--window` events
  before the drift, with the lifecycle and for the champion alone ("–": not within the run);
- served accuracy over the events after the drift, with the lifecycle and champion alone, and
  their difference;
- on the feed without drift: error drifts, fresh starts and promotions per 100k events.

This measures the decisions, not the transport: the end-to-end test on the broker
(tests/integration/test_lifecycle.py) shows the same steps through Kafka and Redis.

    python -m bench.lifecycle_recovery [--seeds 5] [--events 40000] [--drift-at 10000] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.quality.gate import gate
from lazarus.quality.paired import PairedLosses, compare
from lazarus.schemas import Outcome
from lazarus.schemas.lifecycle import DriftPolicy, Lifecycle, PromotionPolicy
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.trainer.learner import Learner
from lazarus.trainer.specs import ModelSpec, habitat

START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Run:
    seed: int
    detected: int | None
    promoted: int | None
    recovery: int | None
    recovery_alone: int | None
    served_after: float
    alone_after: float
    drifts: int
    fresh_starts: int
    promotions: int
    events: int


def stream(seed: int, n: int, drift_at: int) -> tuple[list[tuple[Any, Outcome]], int]:
    """The labelled readings of the first `n`, and the index among them of reading `drift_at`
    (len when there is no drift)."""
    source = SensorNetwork(SimConfig(seed=seed, fault_rate=0.0, drift_at=drift_at), START)
    data: list[tuple[Any, Outcome]] = []
    boundary: int | None = None
    for i, (_, raw, out) in enumerate(itertools.islice(source, n)):
        if drift_at >= 0 and boundary is None and i >= drift_at:
            boundary = len(data)
        if out is not None:
            data.append((SENSOR_READINGS.decode(raw), Outcome.model_validate_json(out)))
    return data, len(data) if boundary is None else boundary


def lifecycle_spec(policy: PromotionPolicy) -> ModelSpec:
    return habitat().replace(
        lifecycle=Lifecycle(promotion=policy, drift=DriftPolicy(action="challenger"))
    )


def recovered(accuracy: list[float], level: float, window: int, after: int) -> int | None:
    """Events after `after` until the mean of the last `window` served outcomes is within one
    point of `level`; None if never."""
    recent: deque[float] = deque(maxlen=window)
    for i, a in enumerate(accuracy):
        recent.append(a)
        if i >= after + window and sum(recent) / window >= level - 0.01:
            return i - after
    return None


def run(seed: int, n: int, drift_at: int, args: argparse.Namespace) -> Run:
    policy = PromotionPolicy()
    data, boundary = stream(seed, n, drift_at)
    learner = Learner(lifecycle_spec(policy))
    champion_is_fresh = False
    losses = PairedLosses()
    served, alone = [], []
    detected = promoted = None
    drifts = starts = promotions = 0
    for i, (event, outcome) in enumerate(data):
        x, y = event.to_features(), outcome.label
        main = learner.state.model.predict_one(x)
        fresh = learner.state.fresh
        other = fresh.model.predict_one(x) if fresh is not None and fresh.n_learned else None
        serve = other if champion_is_fresh and other is not None else main
        served.append(float(serve == y))
        alone.append(float(main == y))
        if other is not None:
            champ, chall = (other, main) if champion_is_fresh else (main, other)
            losses.add(float(champ != y), float(chall != y))
        learner.observe_features(event, i)
        learner.observe_outcome(outcome)
        for report in learner.take_drift_reports():
            if report.detection.source != "prequential":
                continue
            drifts += 1
            starts += report.acted_on == "fresh"
            if detected is None and i >= boundary:
                detected = i - boundary
            losses = PairedLosses()  # a new challenger: judged from its start
        if i % args.judge_every == 0 and losses.n >= 2 and not champion_is_fresh:
            verdict = gate(policy, compare(losses, "Accuracy", policy.confidence))
            if verdict.state == "promote":
                champion_is_fresh = learner.fresh_is_champion = True
                promotions += 1
                losses = PairedLosses()
                if promoted is None and i >= boundary:
                    promoted = i - boundary
    level = statistics.fmean(served[max(0, boundary - args.window) : boundary] or [0.0])
    after = slice(boundary, None)
    return Run(
        seed,
        detected,
        promoted,
        recovered(served, level, args.window, boundary) if drift_at >= 0 else None,
        recovered(alone, level, args.window, boundary) if drift_at >= 0 else None,
        statistics.fmean(served[after] or [0.0]),
        statistics.fmean(alone[after] or [0.0]),
        drifts,
        starts,
        promotions,
        len(data),
    )


def _cell(v: int | None) -> str:
    return "–" if v is None else f"{v:,}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--drift-at", type=int, default=10_000)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--judge-every", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    drifting = [run(s, args.events, args.drift_at, args) for s in range(1, args.seeds + 1)]
    steady = [run(s, args.events, -1, args) for s in range(1, args.seeds + 1)]
    if args.json:
        print(
            json.dumps(
                {"drift": [asdict(r) for r in drifting], "no_drift": [asdict(r) for r in steady]}
            )
        )
        return 0
    print(
        f"habitat simulator, drift at reading {args.drift_at:,}, {args.events:,} readings per feed"
    )
    print(
        "  seed | detected | promoted | recovery: lifecycle / alone | served acc after: lifecycle / alone (diff)"
    )
    for r in drifting:
        print(
            f"  {r.seed:>4} | {_cell(r.detected):>8} | {_cell(r.promoted):>8} | "
            f"{_cell(r.recovery):>9} / {_cell(r.recovery_alone):<8} | "
            f"{r.served_after:.4f} / {r.alone_after:.4f} ({r.served_after - r.alone_after:+.4f})"
        )
    med = statistics.median
    print(
        f"median | {_cell(_med([r.detected for r in drifting]))} | "
        f"{_cell(_med([r.promoted for r in drifting]))} | "
        f"served acc diff {med([r.served_after - r.alone_after for r in drifting]):+.4f}"
    )
    per = 100_000 / statistics.fmean([r.events for r in steady])
    print(
        "no drift: per 100k events, error drifts "
        f"{statistics.fmean([r.drifts for r in steady]) * per:.1f}, fresh starts "
        f"{statistics.fmean([r.fresh_starts for r in steady]) * per:.1f}, promotions "
        f"{statistics.fmean([r.promotions for r in steady]) * per:.1f}"
    )
    return 0


def _med(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return int(statistics.median(known)) if known else None


if __name__ == "__main__":
    sys.exit(main())
