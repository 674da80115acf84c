"""Sharded trainers of a per-key model (issue #18): the exactly-once training effect per
partition across scale-out, rebalances and `kill -9`, by digest against one uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from subprocess import Popen

import pytest
import redis

from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.registry.rebuilds import Rebuilds
from lazarus.registry.signing import signer_from
from lazarus.schemas.per_key import shard_line
from lazarus.schemas.topics import topic_names
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence
from lazarus.trainer.sharded import ShardedTrainerApp
from lazarus.trainer.specs import load_spec
from tests.integration.conftest import isolated_settings
from tests.integration.shardkit import (
    MODEL,
    all_trained_through,
    inputs_read,
    owned_by,
    produce_phase,
    sensor_stream,
    shard_ends,
    shard_manifest,
    spawn_trainer,
    wait_for,
)
from tests.integration.trainerkit import log_ends, produce_next, store_of, topics_of, with_keys

PHASE = 1500


Spawn = Callable[..., Popen[str]]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Starts trainers (`shardkit.spawn_trainer`); any still running at the end is killed, so
    a failing test leaves no orphan."""
    procs: list[Popen[str]] = []

    def start(s: Settings, *extra: str) -> Popen[str]:
        procs.append(spawn_trainer(s, *extra))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _split(s: Settings, a: Popen[str], b: Popen[str], partitions: int) -> bool:
    """A and B own every shard between them, each some (heartbeats are a second apart: this
    waits for a view in which they agree)."""
    mine, theirs = owned_by(s, a), owned_by(s, b)
    whole = mine | theirs == set(range(partitions))
    return bool(mine) and bool(theirs) and mine.isdisjoint(theirs) and whole


def _reference(s: Settings, ends: dict[str, int]) -> dict[int, object]:
    """One in-process trainer over everything, from the beginning, under its own Redis prefix."""
    ref_settings = s.with_overrides(redis_key_prefix=f"{s.redis_key_prefix}:ref")
    store = store_of(ref_settings)
    app = ShardedTrainerApp(
        ref_settings, load_spec(MODEL), store, signer_from(s), cadence=Cadence(100, 60)
    )
    app.start(30)

    def learned_everything() -> bool:
        app.step()
        return len(app.shards) == s.topic_partitions and all(
            shard.learner.state.offsets == shard_ends(ends, p) for p, shard in app.shards.items()
        )

    try:
        wait_for("the reference to learn everything", learned_everything, 90)
    finally:
        assert app.stop() == 0
    return {p: shard_manifest(store, p) for p in range(s.topic_partitions)}


@pytest.mark.timeout(300)
def test_scale_out_rebalance_and_kill_9_end_with_the_uninterrupted_shards(
    settings: Settings, topics: list[str], spawn: Spawn
) -> None:
    s = with_keys(settings)
    partitions = s.topic_partitions
    store = store_of(s)
    stream = sensor_stream()
    produce_next(s, stream, PHASE)
    a = spawn(s)
    wait_for(
        "trainer A to publish every shard",
        lambda: all(store.latest(shard_line(MODEL, p)) for p in range(partitions)),
        90,
        a,
    )
    b = spawn(s)  # 1 -> 2: the group splits the shards

    def read_all(who: str, *procs: subprocess.Popen[str]) -> None:
        ends = log_ends(s, topics_of(s))
        wait_for(
            f"{who} to read the readings", lambda: inputs_read(store, ends, partitions), 90, *procs
        )

    wait_for("A and B to split the shards", lambda: _split(s, a, b, partitions), 90, a, b)
    produce_phase(s, stream, PHASE, lambda: read_all("A and B", a, b))
    b_shard = min(owned_by(s, b))
    before = store.latest(shard_line(MODEL, b_shard))
    wait_for("B to learn", lambda: store.latest(shard_line(MODEL, b_shard)) > before, 90, a, b)
    a.send_signal(signal.SIGKILL)  # 2 -> 1, the hard way: B takes A's shards from their versions
    a.wait()
    produce_phase(s, stream, PHASE, lambda: read_all("B", b))
    ends = log_ends(s, topics_of(s))
    wait_for(
        "B to own every shard and learn everything",
        lambda: len(owned_by(s, b)) == partitions and all_trained_through(store, ends, partitions),
        120,
        b,
    )
    b.send_signal(signal.SIGTERM)
    _, err = b.communicate(timeout=60)
    assert b.returncode == 0, err
    reference = _reference(s, ends)
    manifests = [shard_manifest(store, p) for p in range(partitions)]
    learned = sum(m.n_learned for m in manifests if m is not None)
    invalid = sum(m.invalid_events for m in manifests if m is not None)
    assert invalid > 0 and learned + invalid == 3 * PHASE  # every reading learned or dead-lettered
    for p in range(partitions):
        mine, theirs = shard_manifest(store, p), reference[p]
        assert mine is not None and theirs is not None
        assert mine.trained_through == theirs.trained_through  # type: ignore[attr-defined]
        assert mine.n_learned == theirs.n_learned > 0  # type: ignore[attr-defined]
        assert mine.metrics == theirs.metrics  # type: ignore[attr-defined]
        assert mine.join == theirs.join, f"{mine.join!r} != {theirs.join!r}"  # type: ignore[attr-defined]
        assert mine.model_sha256 == theirs.model_sha256, f"shard {p} differs"  # type: ignore[attr-defined]


@pytest.fixture
def apache(apache_bootstrap: str, redis_url: str) -> Iterator[Settings]:
    yield from isolated_settings(apache_bootstrap, redis_url)


@pytest.mark.timeout(300)
def test_kip848_members_share_the_shards_and_a_clean_leave_hands_them_over(
    apache: Settings, spawn: Spawn
) -> None:
    """`group.protocol=consumer` (Apache Kafka only: Tansu never completes a KIP-848 join):
    the broker's range assignor keeps shards whole, and a SIGTERM (2 -> 1) publishes the
    leaver's shards before the other takes them."""
    s = with_keys(apache.with_overrides(kafka_group_protocol="consumer"))
    partitions = s.topic_partitions
    ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), partitions)
    store = store_of(s)
    stream = sensor_stream(seed=12)
    produce_next(s, stream, PHASE)
    a, b = spawn(s), spawn(s)
    try:
        wait_for("A and B to split the shards", lambda: _split(s, a, b, partitions), 120, a, b)
        a.send_signal(signal.SIGTERM)
        _, err = a.communicate(timeout=60)
        assert a.returncode == 0, err

        def read_all() -> None:
            ends = log_ends(s, topics_of(s))
            wait_for("B to read", lambda: inputs_read(store, ends, partitions), 120, b)

        produce_phase(s, stream, PHASE, read_all)
        ends = log_ends(s, topics_of(s))
        wait_for(
            "B to own every shard and learn everything",
            lambda: (
                len(owned_by(s, b)) == partitions and all_trained_through(store, ends, partitions)
            ),
            120,
            b,
        )
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
    _, err = b.communicate(timeout=60)
    assert b.returncode == 0, err
    reference = _reference(s, ends)
    for p in range(partitions):
        mine, theirs = shard_manifest(store, p), reference[p]
        assert mine is not None and theirs is not None
        assert mine.trained_through == theirs.trained_through == shard_ends(ends, p)  # type: ignore[attr-defined]
        assert mine.model_sha256 == theirs.model_sha256, f"shard {p} differs"  # type: ignore[attr-defined]


@pytest.mark.timeout(300)
def test_from_beginning_rebuilds_each_shard_once_and_serves_it_only_once_caught_up(
    settings: Settings, topics: list[str], spawn: Spawn
) -> None:
    """`--from-beginning` with two trainers: each shard is rebuilt once, by whichever owns it;
    `current` never moves to a rebuilt version that has learned less than the one it replaces."""
    s = with_keys(settings)
    partitions = s.topic_partitions
    store = store_of(s)
    produce_next(s, sensor_stream(seed=13), PHASE)
    ends = log_ends(s, topics_of(s))
    first = spawn(s)
    wait_for("the first training", lambda: all_trained_through(store, ends, partitions), 90, first)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0
    before = {p: shard_manifest(store, p) for p in range(partitions)}
    latest = {p: store.latest(shard_line(MODEL, p)) for p in range(partitions)}
    a, b = spawn(s, "--from-beginning"), spawn(s)
    try:

        def rebuilt() -> bool:
            return all(
                store.latest(shard_line(MODEL, p)) > latest[p]
                and not Rebuilds(
                    redis.Redis.from_url(s.redis_url_value), s.redis_key_prefix
                ).pending(MODEL, p)
                and all_trained_through(store, ends, partitions)
                for p in range(partitions)
            )

        wait_for("every shard rebuilt once and caught up", rebuilt, 120, a, b)
    finally:
        for proc in (a, b):
            proc.send_signal(signal.SIGTERM)
    assert a.wait(timeout=60) == 0 and b.wait(timeout=60) == 0
    for p in range(partitions):
        line, old = shard_line(MODEL, p), before[p]
        assert old is not None
        mine = shard_manifest(store, p)
        assert mine is not None and mine.n_learned == old.n_learned
        assert mine.model_sha256 == old.model_sha256  # the same events, the same model again
        moves = [h for h in store.history(line) if int(h["version"]) > latest[p]]
        served = [store.manifest(line, int(h["version"])) for h in moves]
        assert all(m is None or m.n_learned >= old.n_learned for m in served), moves
        # a new version at the same offsets: learned again from 0 (a trainer with nothing new
        # to read publishes nothing)
        assert mine.version > old.version and mine.trained_through == old.trained_through
