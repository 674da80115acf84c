"""Scorer workers as processes: kill -9 mid-stream, rebalances, SIGTERM, the --workers pool.
Every input event gets at least one score; duplicates are counted and printed, and every
score of one input has the same id, whichever version made it."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import redis

from lazarus.heartbeat import read_heartbeats
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import topic_names
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus_bg
from tests.integration.scorerkit import ModelMaker, scores, send_sensors, wait_until
from tests.integration.trainerkit import START, with_keys
from tests.proctools import pids_with, wait_gone


@pytest.fixture
def s(settings: Settings) -> Settings:
    s4 = with_keys(settings).with_overrides(topic_partitions=4)
    ensure_topics(client_config(s4, quiet=True), topic_names(s4.topic_prefix), 4)
    ModelMaker(s4).publish()
    return s4


def serving(s: Settings) -> list[dict[str, str]]:
    client = redis.Redis.from_url(s.redis_url_value)
    try:
        rows = read_heartbeats(client, s.redis_key_prefix)
    finally:
        client.close()
    return [r for r in rows if r.get("role") == "scorer:habitat" and r.get("state") == "running"]


def all_scoring(s: Settings, workers: int) -> bool:
    rows = serving(s)
    return len(rows) == workers and all(int(r.get("scored") or 0) > 0 for r in rows)


def all_serve(s: Settings, version: str) -> bool:
    return all(r.get("model_version") == version for r in serving(s))


def assigned(s: Settings, workers: int) -> bool:
    rows = serving(s)
    return (
        len(rows) == workers
        and all(int(r.get("partitions") or 0) > 0 for r in rows)
        and sum(int(r.get("partitions") or 0) for r in rows) == 4
    )


@pytest.fixture
def workers(s: Settings) -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(10)


def start_worker(
    s: Settings, procs: list[subprocess.Popen[str]], **env: str
) -> subprocess.Popen[str]:
    proc = lazarus_bg("score", "habitat", env=cli_env(s, **env))
    procs.append(proc)
    return proc


def in_background(
    s: Settings, chunks: int, size: int, pause: float
) -> tuple[threading.Thread, list[str]]:
    ids: list[str] = []

    def feed() -> None:
        for i in range(chunks):
            ids.extend(send_sensors(s, size, seed=100 + i, start=START.replace(month=1 + i % 12)))
            time.sleep(pause)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread, ids


def all_scored(s: Settings, ids: list[str], timeout: float = 90.0) -> Counter[str]:
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        # not `expect=len(ids)`: with duplicates, that many messages need not cover every input
        got = Counter(sc.input_event_id for sc in scores(s, timeout=10))
        missing = wanted - set(got)
        if not missing:
            return got
        assert time.monotonic() < deadline, f"{len(missing)} of {len(wanted)} events never scored"
        time.sleep(1)


def test_killing_a_worker_mid_stream_loses_no_event_and_rescores_keep_their_ids(
    s: Settings, workers: list[subprocess.Popen[str]]
) -> None:
    # A never commits (its interval outlasts the test): whatever it scored, its partitions'
    # next owner scores again after the kill, by then with a newer version.
    a = start_worker(s, workers, LAZARUS_KAFKA_OPTIONS='{"auto.commit.interval.ms": "600000"}')
    b = start_worker(s, workers)
    wait_until(lambda: assigned(s, 2), 60, "two workers sharing 4 partitions")
    feeder, ids = in_background(s, chunks=10, size=400, pause=0.3)
    wait_until(lambda: all_scoring(s, 2), 60, "both workers scoring with v1")
    ModelMaker(s).publish()  # v2
    wait_until(lambda: all_serve(s, "2"), 30, "both workers serving v2")
    a.send_signal(signal.SIGKILL)
    feeder.join(60)
    got = all_scored(s, ids)
    duplicates = sum(n - 1 for n in got.values())
    print(
        f"\nkill -9 of one of two workers: {len(ids)} events, all scored; {duplicates} duplicate scores"
    )
    assert duplicates > 0, "what the killed worker scored was never committed: it is rescored"
    by_input: dict[str, list[Score]] = {}
    for sc in scores(s, expect=len(ids) + duplicates, timeout=30):
        by_input.setdefault(sc.input_event_id, []).append(sc)
    rescored_by_newer = 0
    for input_id, same in by_input.items():
        assert {sc.event_id for sc in same} == {score_id(input_id, "habitat")}
        rescored_by_newer += len({sc.model_version for sc in same}) > 1
    assert rescored_by_newer > 0, "v1 scores of the killed worker were redone by v2"
    b.send_signal(signal.SIGTERM)
    assert b.wait(30) == 0


def test_adding_and_removing_workers_loses_no_event(
    s: Settings, workers: list[subprocess.Popen[str]]
) -> None:
    a = start_worker(s, workers)
    wait_until(lambda: assigned(s, 1), 60, "one worker with every partition")
    ids = send_sensors(s, 500, seed=1)
    b = start_worker(s, workers)
    wait_until(lambda: assigned(s, 2), 60, "the second worker taking partitions")
    ids += send_sensors(s, 500, seed=2)
    a.send_signal(signal.SIGTERM)
    assert a.wait(30) == 0
    wait_until(lambda: assigned(s, 1), 60, "the remaining worker taking every partition")
    ids += send_sensors(s, 500, seed=3)
    got = all_scored(s, ids)
    duplicates = sum(n - 1 for n in got.values())
    print(f"\nscale 1 -> 2 -> 1: {len(ids)} events, all scored; {duplicates} duplicate scores")
    assert duplicates == 0, "a clean rebalance commits what it delivered before letting go"
    b.send_signal(signal.SIGTERM)
    assert b.wait(30) == 0


def test_the_workers_pool_runs_n_processes_and_stops_them_all(s: Settings) -> None:
    marker = f"LAZARUS_REDIS_KEY_PREFIX={s.redis_key_prefix}"
    pool = lazarus_bg("score", "habitat", "--workers", "2", env=cli_env(s))
    try:
        wait_until(lambda: assigned(s, 2), 90, "two pooled workers")
        ids = send_sensors(s, 300)
        all_scored(s, ids)
        children = [p for p in pids_with(marker) if p != pool.pid]
        assert len(children) == 2, children
        pool.send_signal(signal.SIGTERM)
        assert pool.wait(40) == 0, pool.stdout.read() if pool.stdout else ""
        assert wait_gone(marker) == []
    finally:
        if pool.poll() is None:
            pool.kill()
