"""Part 3 of `bench.per_key_scale`: how long a shard's new owner takes to learn again.

On the embedded broker, with 4 partitions: `python -m lazarus.trainer habitat_sites` (A) learns
every shard of `keys` sites (10 readings each) and publishes them; a trickle of readings then
keeps every shard learning, and a second trainer (B) joins: the group moves 2 shards to B. Later
B is stopped (SIGTERM: it publishes their final versions and leaves) and they move back to A.
For each moved shard, from the new owner's heartbeat: `ready_after_s` (assignment to its first
learned event: restore the newest version, start the feed, learn the first batch), and the wall
time from B's start (the join) or its SIGTERM (the stop) to the new owner's first new version
(including process start and the group's rebalance for the join; the rebalance for the stop).
"""

from __future__ import annotations

import signal
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from bench.common import embedded_broker
from bench.shard_watch import HEARTBEAT_S, check, num, shards_of, spawn, stop, trainer_logs
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.feed import FeedLimits, run_feed
from lazarus.registry.signing import generate
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS, topic_names
from lazarus.settings import Settings
from tests.integration.shardkit import all_trained_through, produce_next, sensor_stream
from tests.integration.trainerkit import log_ends, store_of, topics_of

FEW_KEYS = 20
SHARDS = 4
SNAPSHOT_S = 2.0
"""The trainers' --snapshot-seconds here: the first new version comes at most this long after
the move plus the restore (the spec's default is 10 s, which would dominate the figure)."""
TRICKLE_PER_S = 400
WAIT_S = 300.0
POLL_S = 0.05

Moves = dict[int, tuple[float, float]]
"""Moved shard -> (ready_after_s, seconds from the move's start to the new owner's first version)."""


@contextmanager
def trickle(s: Settings, stream: Iterator[object]) -> Iterator[None]:
    """Keep producing `stream` at `TRICKLE_PER_S` readings/s until the block ends."""
    done = threading.Event()
    publisher = Publisher(producer_config(s)).start(10)
    p = s.topic_prefix
    feed = threading.Thread(
        target=run_feed,
        args=(stream, publisher),
        kwargs={
            "topic": SENSOR_READINGS.full(p),
            "outcome_topic": HABITAT_OUTCOMES.full(p),
            "limits": FeedLimits(rate=TRICKLE_PER_S),
            "stopped": done.is_set,
        },
        daemon=True,
    )
    feed.start()
    try:
        yield
    finally:
        done.set()
        feed.join(30)
        publisher.close(10)


def follow(
    s: Settings,
    pid: int,
    shards: Callable[[set[int]], set[int]],
    since: float,
    guard: Callable[[], None],
) -> Moves:
    """Watch trainer `pid`'s heartbeats until each shard `shards(owned)` picks has learned and
    has a version newer than the one it was first seen with (the one it restored)."""
    client = redis.Redis.from_url(s.redis_url_value)
    first: dict[int, float] = {}
    out: Moves = {}
    wanted: set[int] = set()
    while not wanted or set(out) < wanted:
        guard()
        mine = shards_of(client, s.redis_key_prefix, pid)
        wanted = shards(set(mine))
        for p in wanted - set(out):
            v = mine[p]
            version = first.setdefault(p, num(v["version"]))
            if num(v["version"]) > version and v["ready_after_s"] is not None:
                out[p] = (num(v["ready_after_s"]), num(v["at"]) - since)
        time.sleep(POLL_S)
    return out


def handover(base: Settings, keys: int, logs: Path) -> tuple[Moves, Moves]:
    """(A -> B at the join, B -> A at the stop) for a model of `keys` sites."""
    tag = uuid.uuid4().hex[:6]
    s = base.with_overrides(
        topic_prefix=f"bench.handover.{tag}.", redis_key_prefix=f"bench:handover:{tag}"
    )
    ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), SHARDS)
    stream = sensor_stream(seed=5, sites=keys)
    produce_next(s, stream, max(10 * keys, 2000))
    ends, store = log_ends(s, topics_of(s)), store_of(s)
    cadence = ("--snapshot-seconds", str(SNAPSHOT_S))
    procs = [spawn(s, logs, *cadence)]
    deadline = time.monotonic() + WAIT_S

    def guard() -> None:
        check([p for p in procs if p.returncode is None], deadline, logs)

    try:
        while not all_trained_through(store, ends, SHARDS):
            guard()
            time.sleep(POLL_S)
        with trickle(s, stream):
            began = time.time()
            procs.append(spawn(s, logs, *cadence))
            a, b = procs
            joined = follow(
                s, b.pid, lambda owned: owned if len(owned) == 2 else set(), began, guard
            )
            began = time.time()
            b.send_signal(signal.SIGTERM)
            b.wait(60)
            back = follow(s, a.pid, lambda owned: set(joined) & owned, began, guard)
    finally:
        stop(procs)
        client = redis.Redis.from_url(s.redis_url_value)
        client.delete(*client.keys(f"{s.redis_key_prefix}:*"))
    return joined, back


def handover_report(url: str, keys: int, *, quick: bool) -> None:
    """Part 3, at `keys` and at `FEW_KEYS` keys (the baseline)."""
    private, public = generate()
    with (
        trainer_logs("handover") as logs,
        embedded_broker(
            redis_url=url,
            heartbeat_seconds=HEARTBEAT_S,
            signing_private_key=private,
            signing_public_key=public,
        ) as (_, s),
    ):
        rows = [(n, *handover(s, n, logs)) for n in (FEW_KEYS, keys)]
    print(
        f"3. handover: trainer A owns the 4 shards, B joins (2 move A -> B), then B gets SIGTERM "
        f"(they move back); trainers snapshot every {SNAPSHOT_S:.0f} s, a trickle of "
        f"{TRICKLE_PER_S} readings/s keeps every shard learning:"
    )
    print(f"   {'keys':>6} {'move':<22} {'ready_after_s per shard':<26} {'to first version':>18}")
    for n, joined, back in rows:
        for name, moves in (("join: A -> B", joined), ("stop: B -> A", back)):
            ready = ", ".join(f"{p}: {r:.2f}" for p, (r, _) in sorted(moves.items()))
            first = statistics.median(w for _, w in moves.values())
            print(f"   {n:>6,} {name:<22} {ready:<26} {first:>16.1f} s")
    (_, few_join, few_back), (_, join, back) = rows

    def median_ready(moves: Moves) -> float:
        return statistics.median(r for r, _ in moves.values())

    print(
        f"   median ready_after_s at {keys:,} keys: join {median_ready(join):.2f} s, stop "
        f"{median_ready(back):.2f} s; at {FEW_KEYS} keys (baseline) {median_ready(few_join):.2f} "
        f"and {median_ready(few_back):.2f} s. 'to first version' runs from B's start (process "
        f"start, group join, restore, the {SNAPSHOT_S:.0f} s cadence) or from its SIGTERM (B's "
        f"final versions, the rebalance, A's restore of all 4 shards, the cadence)"
        + (" [quick run]" if quick else "")
    )


if __name__ == "__main__":
    raise SystemExit("run python -m bench.per_key_scale")
