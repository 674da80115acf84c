"""Snapshot publish time of the habitat model with the pending-join buffer the simulated feed builds
at 5k events/s (label delay 5 s: 25,000 features waiting). Target (issue #4): p99 <= 20 ms.

Each publish: pickle the whole trainer state, sha256 it, sign the manifest, and run the Lua
script that stores v{N}, moves `current`, trims old versions and notifies. Baseline in the
same run: a bare Redis SET of a blob of the same size.

    python -m bench.snapshot_publish [--rate 5000] [--label-delay 5] [--publishes 200]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
import uuid
from datetime import UTC, datetime

import redis

from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.signing import generate, parse_private
from lazarus.schemas import Outcome
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.settings import DEFAULT_REDIS_URL
from lazarus.trainer.learner import Learner
from lazarus.trainer.publishing import SnapshotPublisher
from lazarus.trainer.specs import habitat


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--label-delay", type=float, default=5.0)
    ap.add_argument("--publishes", type=int, default=200)
    ap.add_argument("--redis", default=DEFAULT_REDIS_URL)
    args = ap.parse_args()
    pending = int(args.rate * args.label_delay)
    spec = habitat()
    learner = Learner(spec)
    stream = iter(SensorNetwork(SimConfig(seed=9, fault_rate=0), datetime(2026, 1, 1, tzinfo=UTC)))
    for i, (_, raw, out) in enumerate(itertools.islice(stream, 20_000)):  # a model that has learned
        learner.observe_features(SENSOR_READINGS.decode(raw), i)  # type: ignore[arg-type]
        learner.observe_outcome(Outcome.model_validate_json(out))  # type: ignore[arg-type]
    for i, (_, raw, _) in enumerate(itertools.islice(stream, pending)):  # features still waiting
        learner.observe_features(SENSOR_READINGS.decode(raw), 10**6 + i)  # type: ignore[arg-type]
    assert len(learner.state.join.entries) == pending
    client = redis.Redis.from_url(args.redis)
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    store = RedisSnapshotStore(client, prefix)
    publisher = SnapshotPublisher(store, spec, parse_private(generate()[0]), 1, keep=10)
    times, sizes = [], []
    try:
        for _ in range(args.publishes):
            started = time.perf_counter()
            manifest = publisher.publish(learner)
            times.append((time.perf_counter() - started) * 1000)
            assert manifest is not None
            sizes.append(manifest.blob_bytes)
        blob = b"x" * sizes[-1]
        set_times: list[float] = []
        for _ in range(args.publishes):
            started = time.perf_counter()
            client.set(f"{prefix}:baseline", blob)
            set_times.append((time.perf_counter() - started) * 1000)
    finally:
        client.delete(*client.keys(f"{prefix}:*"))
    print(
        f"pending features: {pending:,}; snapshot size {sizes[-1] / 1e6:.2f} MB; {args.publishes} publishes"
    )
    print(
        f"publish (pickle+sha256+sign+Lua store): p50 {statistics.median(times):.2f} ms  "
        f"p99 {pct(times, 0.99):.2f} ms  max {max(times):.2f} ms   (target p99 <= 20 ms)"
    )
    print(
        f"baseline: bare Redis SET of the same size: p50 {statistics.median(set_times):.2f} ms  "
        f"p99 {pct(set_times, 0.99):.2f} ms;  publish/SET p50 ratio {statistics.median(times) / statistics.median(set_times):.1f}x"
    )


if __name__ == "__main__":
    main()
