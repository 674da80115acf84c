"""Real datasets through the whole pipeline, judged against river run in-process.

Per dataset (`bench.real_datasets`): the CSV as a user has it, `lazarus spec init` (task auto),
then a broker, a trainer, two scorer workers and the quality monitor as processes, and
`lazarus produce replay --model SPEC --label-delay 1` paced to last about `--seconds`. It
prints, per dataset:

- river: the spec's pipeline under `river.evaluate.progressive_val_score`, in-process, on the
  same features (the records' `to_features()`) and labels in the same order: the baseline;
- prequential: the trainer's own test-then-train metric (its last snapshot's manifest);
- served (honest): scores made by a version that had not read the event, against the labels
  (the quality monitor's all-versions figure), with how many they were; how much worse than
  the trainer's own prequential on those same events (positive: served is worse); and how
  many scores were left out because the serving version had already learned the event;
- learned / rows.

Targets (issue #14): prequential within 0.5 points of river (accuracy) or within 2 %
(relative MAE); every labelled row learned with a 1 s label delay.

    python -m bench.real_data [--datasets phishing,bananas,...] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from river import evaluate

from bench.common import embedded_broker, redis_url
from bench.real_datasets import DATASETS, Dataset, write
from lazarus.inputchecks import InputRejected, check_label
from lazarus.producers.record_replay import RecordLayout, RecordReplayer
from lazarus.quality_store import ModelQuality, read_overall
from lazarus.recording import read_rows
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.signing import generate
from lazarus.schemas.specfile import SpecFile, read_spec_file
from lazarus.settings import Settings
from lazarus.trainer.specfile import spec_from_file

SNAPSHOT_SECONDS = 1.0
"""The benchmark's snapshot cadence (the spec default is 10 s): how far behind the trainer a
served version may be, which is what the served figure measures."""
LABEL_DELAY_S = 1.0


@dataclass
class Result:
    dataset: Dataset
    task: str
    metric: str
    rows: int
    labelled: int
    learned: int
    river: float
    prequential: float | None
    served: float | None
    honest: int
    learned_before: int
    worse_by: float | None
    """Served minus prequential on the same honest events, signed so positive is worse."""
    seconds: float


# -- the baseline ------------------------------------------------------------------------------


def labelled_rows(spec: SpecFile, path: Path) -> Iterator[tuple[dict[Any, Any], Any]]:
    """(features, target) of every row the trainer can learn, in file order: the records and
    typed labels the replay sends, as the trainer checks and translates them."""
    data = spec.data
    layout = RecordLayout(data.label_column, data.key_column, data.time_column, data.na_values)
    replayer = RecordReplayer(spec.contract, layout, "bench")
    labels = spec.contract.labels
    for record in read_rows(path):
        if record.row is None:
            continue
        row = replayer.convert(record.line, record.row, record.raw, _NOW)
        if row.reading is None or row.outcome is None:
            continue
        try:
            check_label(row.outcome.label, spec.contract.label_classes, spec.contract.name)
        except InputRejected:
            continue
        yield row.reading.to_features(), labels.target(row.outcome.label)  # type: ignore[attr-defined]


def river_baseline(spec: SpecFile, path: Path) -> tuple[str, float, int]:
    """(primary metric, river's progressive validation of it, labelled rows)."""
    recipe = spec_from_file(spec.path)
    rows = list(labelled_rows(spec, path))
    metric = recipe.metrics[0]()
    evaluate.progressive_val_score(rows, recipe.pipeline(), metric)  # type: ignore[arg-type]
    return type(metric).__name__, float(metric.get()), len(rows)


# -- the pipeline ------------------------------------------------------------------------------


def lazarus_cmd(*args: str) -> list[str]:
    return [sys.executable, "-P", "-m", "lazarus", *args]


@contextmanager
def services() -> Iterator[Settings]:
    """An embedded broker, a Redis (the one at the default URL, else an embedded one), and
    signing keys."""
    with ExitStack() as stack:
        url = redis_url(stack)
        _, settings = stack.enter_context(embedded_broker())
        private, public = generate()
        yield settings.with_overrides(
            redis_url=url, signing_private_key=private, signing_public_key=public
        )


def run_dataset(base: Settings, ds: Dataset, folder: Path, seconds: float) -> Result:
    path = write(ds, folder)
    spec_path = folder / f"{ds.name}.toml"
    tag = f"{ds.name}-{int(time.time())}"
    s = base.with_overrides(topic_prefix=f"bench.{tag}.", redis_key_prefix=f"bench:{tag}")
    env = _env(s)
    init = subprocess.run(
        lazarus_cmd("spec", "init", str(path), "--label-column", ds.label_column,
                    "--name", ds.name, "--out", str(spec_path)),
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if init.returncode != 0:
        raise SystemExit(f"spec init {ds.name}: {init.stdout}{init.stderr}")
    text = spec_path.read_text()
    text = re.sub(r"(?m)^snapshot_seconds = .*$", f"snapshot_seconds = {SNAPSHOT_SECONDS}", text)
    spec_path.write_text(text)
    spec = read_spec_file(spec_path)
    task = _task(spec)
    metric, river_value, labelled = river_baseline(spec, path)
    rows = sum(1 for r in read_rows(path) if r.row is not None)
    started = time.monotonic()
    logs = (folder / f"{ds.name}.log").open("w")
    procs = [
        subprocess.Popen(lazarus_cmd(*args, str(spec_path)), env=env, stdout=logs, stderr=logs)
        for args in (("train",), ("score", "--workers", "2"), ("quality",))
    ]
    try:
        replay = subprocess.run(
            lazarus_cmd("produce", "replay", str(path), "--model", str(spec_path),
                        "--label-delay", str(LABEL_DELAY_S), "--rate", f"{rows / seconds:.2f}",
                        "--no-progress"),
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if replay.returncode != 0:
            raise SystemExit(f"replay {ds.name}: {replay.stdout}{replay.stderr}")
        client = redis.Redis.from_url(s.redis_url_value)
        store = RedisSnapshotStore(client, s.redis_key_prefix)
        learned = _wait(lambda: _learned(store, ds.name, labelled), 120.0) or _n(store, ds.name)
        overall = _wait(lambda: _judged(client, s, ds.name, labelled), 60.0)
        manifest = store.manifest(ds.name, store.latest(ds.name))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()
    assert manifest is not None
    return Result(
        ds,
        task,
        metric,
        rows,
        labelled,
        learned,
        river_value,
        manifest.metrics.get(metric),
        (overall or {}).get("served", {}).get(metric) if overall else None,
        overall["n"] if overall else 0,
        overall["learned_before_served"] if overall else 0,
        overall["served_worse_by"].get(metric) if overall else None,
        time.monotonic() - started,
    )


def _learned(store: RedisSnapshotStore, model: str, labelled: int) -> int:
    n = _n(store, model)
    return n if n >= labelled else 0


def _n(store: RedisSnapshotStore, model: str) -> int:
    version = store.latest(model)
    manifest = store.manifest(model, version) if version else None
    return manifest.n_learned if manifest else 0


def _judged(client: redis.Redis, s: Settings, model: str, labelled: int) -> ModelQuality | None:
    """The quality monitor's all-versions report, once it has judged every labelled row
    (honest, learned before served, or without a position)."""
    overall = read_overall(client, s.redis_key_prefix, model)
    if overall is None:
        return None
    seen = overall["n"] + overall["learned_before_served"] + overall["position_unknown"]
    return overall if seen >= labelled else None


def _wait(check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    return None


def _env(s: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_")}
    env.update(s.child_env())
    env["LAZARUS_LOG_LEVEL"] = "WARNING"
    return env


def _task(spec: SpecFile) -> str:
    classes = spec.contract.label_classes
    if classes is None:
        return "regression"
    return "binary" if len(classes) == 2 else "multiclass"


_NOW = datetime(2026, 1, 1, tzinfo=UTC)
"""The time a row without a time column is stamped with (the baseline needs no clock)."""


# -- the report --------------------------------------------------------------------------------


def judge(r: Result) -> tuple[str, bool]:
    """The gap to river as the issue states its target, and whether it is met."""
    if r.prequential is None:
        return "no figure", False
    if r.metric == "MAE":
        rel = abs(r.prequential - r.river) / r.river if r.river else float("inf")
        return f"{rel * 100:.2f} % (relative)", rel <= 0.02
    gap = abs(r.prequential - r.river) * 100
    return f"{gap:.2f} points", gap <= 0.5


def show(results: list[Result]) -> None:
    head = (
        "| dataset | task (inferred) | metric | river in-process | Lazarus prequential | gap "
        "| served, honest (n) | served worse by | learned before served "
        "| learned / labelled rows |"
    )
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    ok = True
    for r in results:
        gap, met = judge(r)
        all_learned = r.learned == r.labelled
        ok &= met and all_learned
        served = f"{r.served:.4f} ({r.honest})" if r.served is not None else f"none ({r.honest})"
        print(
            f"| {r.dataset.name} | {r.task} | {r.metric} | {r.river:.4f} | "
            f"{_fmt(r.prequential)} | {gap}{'' if met else ' MISSED'} | {served} | "
            f"{_fmt(r.worse_by)} | {r.learned_before} | {r.learned} / {r.labelled}{'' if all_learned else ' MISSED'} |"
        )
    print()
    print(
        "targets (issue #14): prequential within 0.5 points of river (accuracy) or 2 % "
        "(relative MAE); every labelled row learned with a 1 s label delay:",
        "met" if ok else "NOT met",
    )


def _fmt(v: float | None) -> str:
    return "none" if v is None else f"{v:.4f}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [d.name for d in DATASETS]
    ap.add_argument("--datasets", default=",".join(names), help=f"of {', '.join(names)}")
    ap.add_argument(
        "--seconds", type=float, default=20.0, help="how long each replay lasts (paced)"
    )
    args = ap.parse_args()
    wanted = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in names]
    if unknown:
        ap.error(f"--datasets: no dataset {unknown[0]!r} (there are {', '.join(names)})")
    results = []
    with tempfile.TemporaryDirectory(prefix="lazarus-real-data-") as tmp, services() as s:
        for ds in DATASETS:
            if ds.name not in wanted:
                continue
            r = run_dataset(s, ds, Path(tmp), args.seconds)
            print(
                f"{ds.name}: {r.rows} rows in {r.seconds:.0f} s; learned {r.learned}",
                flush=True,
            )
            results.append(r)
    print()
    show(results)


if __name__ == "__main__":
    main()
