"""A per-key model at 10,000 keys (issue #18): memory per key, snapshot size and publish time per
shard, and how long a shard's new owner takes to learn again after a rebalance.

1. Memory: a `KeyedLearner` (habitat_sites: one scaler + logistic regression per site, plus the
   pooled fallback) learns `--events-per-key` readings of each of `--keys` sites in-process;
   the growth of resident memory (RSS) is what it keeps (its state and its checkpoint copy;
   tracemalloc would be exact but slows river's per-key `clone()` about 20x).
   Baseline, same run and events: the whole-model `Learner` of habitat (the same pipeline, once).
2. Snapshots: the keys split in 4 shards (crc32 of the site id; ~2,500 keys each), each shard's
   learner published `--publishes` times to a real Redis by the real `SnapshotPublisher`
   (canonical pickle, sha256, Ed25519 signature, the Lua store script). Baseline: the same keys
   as one unsharded shard of 10,000 keys.
3. Handover (`bench.per_key_handover`): real trainer processes on the embedded broker; the new
   owner's `ready_after_s` of each moved shard (assignment to first learned event: restore the
   version, start the feed, first batch), at `--keys` and at 20 keys as the baseline.

    python -m bench.per_key_scale [--keys 10000] [--events-per-key 10] [--publishes 20] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import statistics
import time
import uuid
import zlib
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import redis

from bench.common import redis_url
from bench.per_key_handover import FEW_KEYS, handover_report
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.signing import generate, parse_private
from lazarus.schemas import Outcome
from lazarus.schemas.per_key import shard_line
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.trainer.keyed_learner import KeyedLearner
from lazarus.trainer.learner import Learner
from lazarus.trainer.publishing import SnapshotPublisher
from lazarus.trainer.specs import habitat, habitat_sites
from tests.integration.trainerkit import START

SHARDS = 4
SENSORS_PER_SITE = 5  # the simulator's default: a tick is 5 readings of each site
Pairs = list[tuple[Any, Outcome]]


def events(keys: int, per_key: int) -> Pairs:
    """`per_key` readings of each of `keys` sites (whole ticks), decoded, with their outcomes."""
    cfg = SimConfig(seed=3, sites=keys, fault_rate=0, label_delay_s=0, drift_at=-1)
    ticks = max(1, -(-per_key // SENSORS_PER_SITE))
    stream = SensorNetwork(cfg, START)
    return [
        (SENSOR_READINGS.decode(raw), Outcome.model_validate_json(out))  # type: ignore[arg-type]
        for _, raw, out in itertools.islice(stream, keys * SENSORS_PER_SITE * ticks)
    ]


def learn(learner: Learner, pairs: Pairs) -> Learner:
    for i, (reading, outcome) in enumerate(pairs):
        learner.observe_features(reading, i)
        learner.observe_outcome(outcome)
    return learner


def rss_bytes() -> int:
    """This process's resident memory now (/proc/self/statm)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def kept(build: Callable[[], Learner]) -> tuple[Learner, int, float]:
    """(the learner `build` made, the growth of resident memory it kept, seconds it took)."""
    gc.collect()
    before, started = rss_bytes(), time.perf_counter()
    learner = build()
    seconds = time.perf_counter() - started
    gc.collect()
    return learner, rss_bytes() - before, seconds


def memory_report(pairs: Pairs, keys: int) -> KeyedLearner:
    # The small baseline first: resident memory rarely goes back down after a free.
    _, whole_bytes, _ = kept(lambda: learn(Learner(habitat()), pairs))
    keyed, keyed_bytes, secs = kept(lambda: learn(KeyedLearner(habitat_sites()), pairs))
    n = len(keyed.state.model)  # type: ignore[arg-type]
    print(
        f"1. memory, {len(pairs):,} events over {n:,} keys (in-process, resident memory grown; "
        f"learning took {secs:.1f} s):"
    )
    print(f"   per-key learner (habitat_sites)     {keyed_bytes / 1e6:8.1f} MB")
    print(f"   whole-model learner (habitat)       {whole_bytes / 1e6:8.1f} MB   (baseline)")
    print(
        f"   per key: {(keyed_bytes - whole_bytes) / n:,.0f} bytes, with the learner's "
        f"checkpoint copy of every key's model; {keys:,} keys asked"
    )
    return keyed  # type: ignore[return-value]


def shard_of_key(site_id: str) -> int:
    return zlib.crc32(site_id.encode()) % SHARDS


def publish_times(
    store: RedisSnapshotStore, learner: Learner, line: str, publishes: int
) -> tuple[list[float], int]:
    """(milliseconds of each publish, sealed bytes) of `learner` as registry line `line`."""
    signer = parse_private(generate()[0])
    publisher = SnapshotPublisher(store, habitat_sites().replace(name=line), signer, 1, keep=10)
    times, size = [], 0
    for _ in range(publishes):
        started = time.perf_counter()
        manifest = publisher.publish(learner)
        times.append((time.perf_counter() - started) * 1000)
        assert manifest is not None, f"publishing {line} failed"
        size = manifest.blob_bytes
    return times, size


def snapshot_report(url: str, pairs: Pairs, whole: Learner, publishes: int) -> None:
    by_shard: list[Pairs] = [[] for _ in range(SHARDS)]
    for pair in pairs:
        by_shard[shard_of_key(pair[0].site_id)].append(pair)
    client = redis.Redis.from_url(url)
    prefix = f"bench:per-key:{uuid.uuid4().hex[:8]}"
    store = RedisSnapshotStore(client, prefix)
    try:
        rows = []
        for p, mine in enumerate(by_shard):
            shard = learn(KeyedLearner(habitat_sites()), mine)
            rows.append((f"shard {p}", len(shard.state.model), *publish_times(store, shard, shard_line("habitat_sites", p), publishes)))  # type: ignore[arg-type]  # fmt: skip
        rows.append(("unsharded", len(whole.state.model), *publish_times(store, whole, "habitat_sites.all", publishes)))  # type: ignore[arg-type]  # fmt: skip
    finally:
        client.delete(*client.keys(f"{prefix}:*"))
    print(f"2. snapshots to Redis at {url}, {publishes} publishes each (seal + sign + Lua store):")
    print(f"   {'':<10} {'keys':>7} {'MB':>7} {'bytes/key':>10} {'p50 ms':>8} {'max ms':>8}")
    for name, n, times, size in rows:
        print(
            f"   {name:<10} {n:>7,} {size / 1e6:>7.2f} {size / n:>10,.0f} "
            f"{statistics.median(times):>8.1f} {max(times):>8.1f}"
        )
    shard_p50 = statistics.median(statistics.median(t) for _, _, t, _ in rows[:-1])
    whole_p50 = statistics.median(rows[-1][2])
    print(
        f"   a shard's publish: median {shard_p50:.1f} ms against {whole_p50:.1f} ms unsharded "
        f"({whole_p50 / shard_p50:.1f}x less); the shards' sum per round: "
        f"{sum(statistics.median(t) for _, _, t, _ in rows[:-1]):.1f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--keys", type=int, default=10_000, help="sites (keys) of the model")
    ap.add_argument("--events-per-key", type=int, default=10, help="readings learned per key")
    ap.add_argument("--publishes", type=int, default=20, help="publishes per shard")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 200 keys, 3 publishes")
    args = ap.parse_args()
    if args.quick:
        args.keys, args.events_per_key, args.publishes = 200, 5, 3
    if args.keys < FEW_KEYS or args.events_per_key < 1 or args.publishes < 1:
        ap.error(f"--keys must be {FEW_KEYS} or more, --events-per-key and --publishes 1 or more")
    pairs = events(args.keys, args.events_per_key)
    whole = memory_report(pairs, args.keys)
    with ExitStack() as stack:
        url = redis_url(stack)
        snapshot_report(url, pairs, whole, args.publishes)
        handover_report(url, args.keys, quick=args.quick)


if __name__ == "__main__":
    main()
