"""Drift detectors on the habitat simulator: how soon they see its concept drift, how often they
fire on a feed without one, and what they cost next to test-then-train (the same-run baseline).

For each seed, the simulator's stream in memory (every reading labelled at once, no faulty
readings), `--events` long, once with the concept drift at reading `--drift-at` and once
without; the built-in habitat pipeline learns it test-then-train. Its 0/1 errors go to ADWIN
and to Page-Hinkley (`lazarus.trainer.drift.ErrorDrift`), its feature rows to the KS test
(`FeatureDrift`) without the cyclic time features, as the trainer feeds it
(`lazarus.trainer.feature_drift.CYCLIC`), all with `DriftPolicy()`'s defaults. Reported per seed,
then median and max:

- delay: labelled events after the drift point until a detector's first detection after it
  (`early`: its detections before the drift point, false alarms on the drifting feed);
- false alarms per 100k events on the feed without drift;
- us per event of each detector, and of test-then-train (predict_proba_one, learn_one), and
  the ratio of a watch's detectors (ADWIN or Page-Hinkley, plus KS) to test-then-train.

The simulator's drift is a concept drift: P(occupied | features) changes, the features'
distribution does not, so KS cannot see it. Its alarms (on both feeds) are the days and
seasons in the measurements (temperature, sound): KS assumes exchangeable rows.

    python -m bench.drift_detection [--seeds 5] [--events 100000] [--drift-at 20000] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas.lifecycle import DriftPolicy
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.trainer.drift import ErrorDrift, FeatureDrift
from lazarus.trainer.feature_drift import CYCLIC
from lazarus.trainer.specs import habitat

START = datetime(2026, 1, 1, tzinfo=UTC)
DETECTORS = ("ADWIN", "PageHinkley", "KS")
CHUNK = 1000
FIGURES = ("delay", "early", "false_alarms_per_100k", "us_per_event", "watch_over_ttt")
"""Each seed's figures, summarised over the seeds (median, max)."""

Row = tuple[dict[str, float], Any]


def labelled(seed: int, n: int, drift_at: int) -> list[Row]:
    """The first `n` readings of the simulator as (features, label); `drift_at` < 0: no drift."""
    cfg = SimConfig(seed=seed, drift_at=drift_at, fault_rate=0.0, label_delay_s=0.0)
    emitted = list(itertools.islice(SensorNetwork(cfg, START), n))
    rows: list[Row] = []
    for i in range(0, len(emitted), CHUNK):
        chunk = emitted[i : i + CHUNK]
        readings = SENSOR_READINGS.decode_many([r for _, r, _ in chunk])
        outcomes = HABITAT_OUTCOMES.decode_many([o for _, _, o in chunk if o is not None])
        for reading, outcome in zip(readings, outcomes, strict=True):
            rows.append((reading.to_features(), outcome.label))  # type: ignore[union-attr]
    return rows


def test_then_train(rows: list[Row]) -> tuple[list[float], float]:
    """The habitat pipeline's prequential 0/1 errors, and the seconds it took."""
    model = habitat().pipeline()
    errors = []
    started = time.perf_counter()
    for x, y in rows:
        proba = model.predict_proba_one(x)
        y_pred = max(proba, key=proba.__getitem__) if proba else None
        errors.append(0.0 if y_pred == y else 1.0)
        model.learn_one(x, y)
    return errors, time.perf_counter() - started


@dataclass
class Feed:
    """What the detectors found on one feed: detection indices and seconds, by detector."""

    hits: dict[str, list[int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    ks_features: Counter[str] = field(default_factory=Counter)


def detect(rows: list[Row], errors: list[float]) -> Feed:
    feed = Feed()
    policy = DriftPolicy()
    for name in ("ADWIN", "PageHinkley"):
        update = ErrorDrift(DriftPolicy(detector=name)).update  # type: ignore[arg-type]
        started = time.perf_counter()
        feed.hits[name] = [i for i, e in enumerate(errors) if update(e)]
        feed.seconds[name] = time.perf_counter() - started
    ks = FeatureDrift(policy.feature_window, policy.feature_alpha)
    hits = []
    features = [{k: v for k, v in x.items() if k not in CYCLIC} for x, _ in rows]
    started = time.perf_counter()
    for i, x in enumerate(features):
        shifts = ks.update(x)
        if shifts:
            hits.append(i)
            feed.ks_features.update(s.feature for s in shifts)
    feed.seconds["KS"] = time.perf_counter() - started
    feed.hits["KS"] = hits
    return feed


def one_seed(seed: int, n: int, drift_at: int) -> tuple[dict[str, Any], Counter[str]]:
    drifting, steady = labelled(seed, n, drift_at), labelled(seed, n, -1)
    errors_d, ttt_d = test_then_train(drifting)
    errors_s, ttt_s = test_then_train(steady)
    found_d, found_s = detect(drifting, errors_d), detect(steady, errors_s)
    events = len(drifting) + len(steady)
    after = {d: [i for i in found_d.hits[d] if i >= drift_at] for d in DETECTORS}
    return {
        "seed": seed,
        "delay": {d: after[d][0] - drift_at if after[d] else None for d in DETECTORS},
        "early": {d: len(found_d.hits[d]) - len(after[d]) for d in DETECTORS},
        "false_alarms_per_100k": {
            d: len(found_s.hits[d]) * 100_000 / len(steady) for d in DETECTORS
        },
        "us_per_event": {
            "test_then_train": (ttt_d + ttt_s) * 1e6 / events,
            **{d: (found_d.seconds[d] + found_s.seconds[d]) * 1e6 / events for d in DETECTORS},
        },
        "watch_over_ttt": {
            f"{d}+KS": (
                found_d.seconds[d]
                + found_s.seconds[d]
                + found_d.seconds["KS"]
                + found_s.seconds["KS"]
            )
            / (ttt_d + ttt_s)
            for d in ("ADWIN", "PageHinkley")
        },
        "error_rate": {
            "before_drift": statistics.fmean(errors_d[drift_at // 2 : drift_at]),
            "after_drift": statistics.fmean(errors_d[drift_at:]),
            "no_drift": statistics.fmean(errors_s[drift_at:]),
        },
    }, found_s.ks_features


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and max of every figure over the seeds; a delay's max is None if one was missed."""

    def over(figure: str, key: str) -> dict[str, float | None]:
        values = [r[figure][key] for r in results]
        found = [v for v in values if v is not None]
        return {
            "median": statistics.median(found) if found else None,
            "max": max(found) if found and len(found) == len(values) else None,
        }

    summary: dict[str, Any] = {f: {k: over(f, k) for k in results[0][f]} for f in FIGURES}
    summary["missed"] = {d: sum(r["delay"][d] is None for r in results) for d in DETECTORS}
    return summary


def show(table: dict[str, Any]) -> None:
    def cell(v: float | None, fmt: str = "{:,.0f}") -> str:
        return "missed" if v is None else fmt.format(v)

    def line(label: object, r: dict[str, Any]) -> str:
        us, ratio = r["us_per_event"], r["watch_over_ttt"]
        return (
            f"{label!s:>6} | "
            + " ".join(f"{cell(r['delay'][d]):>6}" for d in DETECTORS)
            + " | "
            + " ".join(f"{cell(r['early'][d]):>5}" for d in DETECTORS)
            + " | "
            + " ".join(f"{cell(r['false_alarms_per_100k'][d]):>5}" for d in DETECTORS)
            + f" | {us['test_then_train']:5.1f} {us['ADWIN']:5.2f} {us['PageHinkley']:5.2f} "
            f"{us['KS']:5.2f} | {ratio['ADWIN+KS']:6.2f} {ratio['PageHinkley+KS']:6.2f}"
        )

    cfg = table["config"]
    print(
        f"habitat simulator, {cfg['events']:,} labelled events per feed, concept drift at "
        f"{cfg['drift_at']:,}; {cfg['seeds']} seeds; {cfg['policy']}"
    )
    print(
        f"{'':>6} | {'delay (events)':^20} | {'early':^17} | {'false alarms / 100k':^17} | "
        f"{'us per event':^23} | {'watch / ttt':^13}"
    )
    print(
        f"{'seed':>6} | {'ADWIN':>6} {'PH':>6} {'KS':>6} | {'ADWIN':>5} {'PH':>5} {'KS':>5} | "
        f"{'ADWIN':>5} {'PH':>5} {'KS':>5} | {'ttt':>5} {'ADWIN':>5} {'PH':>5} {'KS':>5} | "
        f"{'A+KS':>6} {'PH+KS':>6}"
    )
    for r in table["seeds"]:
        print(line(r["seed"], r))
    summary = table["summary"]
    for stat in ("median", "max"):
        print(line(stat, {f: {k: v[stat] for k, v in summary[f].items()} for f in FIGURES}))
    print("missed drifts:", ", ".join(f"{d} {n}" for d, n in summary["missed"].items()))
    rates = [r["error_rate"] for r in table["seeds"]]
    print(
        "0/1 error (median over seeds): "
        + ", ".join(
            f"{k.replace('_', ' ')} {statistics.median(e[k] for e in rates):.3f}" for k in rates[0]
        )
    )
    top = ", ".join(f"{f} {n}" for f, n in table["ks_alarms_by_feature"][:8])
    print(f"KS alarms on the feeds without drift, by feature (all seeds): {top}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=5, help="seeds 1..N (default 5)")
    ap.add_argument("--events", type=int, default=100_000, help="labelled events per feed")
    ap.add_argument("--drift-at", type=int, default=20_000, help="the drift's reading")
    ap.add_argument("--json", action="store_true", help="print the table as JSON")
    args = ap.parse_args()
    if not 0 < args.drift_at < args.events:
        ap.error(f"--drift-at must be between 0 and --events ({args.events}), not {args.drift_at}")
    if args.seeds < 1:
        ap.error(f"--seeds must be at least 1, not {args.seeds}")
    results, by_feature = [], Counter[str]()
    for seed in range(1, args.seeds + 1):
        result, ks_features = one_seed(seed, args.events, args.drift_at)
        results.append(result)
        by_feature.update(ks_features)
        if not args.json:
            print(f"seed {seed} done", file=sys.stderr, flush=True)
    table = {
        "config": {
            "seeds": args.seeds,
            "events": args.events,
            "drift_at": args.drift_at,
            "policy": asdict(DriftPolicy()),
        },
        "seeds": results,
        "summary": summarise(results),
        "ks_alarms_by_feature": by_feature.most_common(),
    }
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        show(table)


if __name__ == "__main__":
    main()
