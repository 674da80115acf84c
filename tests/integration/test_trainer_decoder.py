"""The trainer with its decoding in a second process (LAZARUS_TRAINER_DECODER=process)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from lazarus.heartbeat import read_heartbeats
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.sealing import unseal
from lazarus.registry.signing import signer_from
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.specs import habitat
from tests.integration.cli import cli_env
from tests.integration.trainerkit import (
    latest_manifest,
    log_ends,
    produce_sensors,
    run_to_end,
    store_of,
    topics_of,
    with_keys,
)

N = 3000


def trained(s: Settings, store: RedisSnapshotStore) -> TrainerApp:
    app = TrainerApp(s, habitat(), store, signer_from(s), cadence=Cadence(400, 60))
    app.start(30)
    return app


def test_a_decoding_process_learns_what_inline_decoding_learns_even_when_it_dies(
    settings: Settings, topics: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    s = with_keys(settings)
    produce_sensors(s, N, fault_rate=0.01)
    ends = log_ends(s, topics_of(s))
    ref_settings = s.with_overrides(
        redis_key_prefix=f"{s.redis_key_prefix}:ref", trainer_decoder="inline"
    )
    ref_store = store_of(ref_settings)
    ref = trained(ref_settings, ref_store)
    run_to_end(ref, ends)
    assert ref.stop() == 0

    s = s.with_overrides(trainer_decoder="process")
    store = store_of(s)
    app = trained(s, store)
    assert app.decoder_process
    first = app._feed.pid  # type: ignore[union-attr]
    assert first is not None and first != os.getpid()
    deadline = time.monotonic() + 60
    while app.learner.state.n_learned < N // 3:
        assert time.monotonic() < deadline, "the decoding process fed nothing"
        app.step()
    with caplog.at_level(logging.ERROR, logger="lazarus.trainer.app"):
        os.kill(first, signal.SIGKILL)
        run_to_end(app, ends)
    assert "decoding process of habitat stopped (killed by SIGKILL)" in caplog.text
    assert app._feed is not None and app._feed.pid not in (None, first)  # type: ignore[attr-defined]
    assert app.stop() == 0

    mine, theirs = latest_manifest(store), latest_manifest(ref_store)
    assert mine is not None and theirs is not None
    assert mine.n_learned == theirs.n_learned == N - mine.invalid_events
    assert mine.invalid_events == theirs.invalid_events > 0
    assert app.dead_letters.count == ref.dead_letters.count == mine.invalid_events
    assert mine.trained_through == theirs.trained_through == ends
    assert mine.metrics == theirs.metrics and mine.join == theirs.join
    verifier = signer_from(s).verifier
    _, a = unseal(store.get("habitat", store.latest("habitat")), verifier)  # type: ignore[arg-type]
    _, b = unseal(ref_store.get("habitat", ref_store.latest("habitat")), verifier)  # type: ignore[arg-type]
    assert dict(a.model["LogisticRegression"].weights) == dict(
        b.model["LogisticRegression"].weights
    )


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def test_a_killed_trainer_leaves_no_decoding_process(settings: Settings, topics: list[str]) -> None:
    s = with_keys(settings).with_overrides(trainer_decoder="process")
    produce_sensors(s, 200)
    env = cli_env(s)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lazarus.trainer", "habitat"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis.from_url(s.redis_url_value)
    deadline = time.monotonic() + 60
    while not any(
        b.get("pid") == str(proc.pid) for b in read_heartbeats(client, s.redis_key_prefix)
    ):
        assert proc.poll() is None and time.monotonic() < deadline, "the trainer did not start"
        time.sleep(0.05)
    (decoder,) = children(proc.pid)
    assert b"lazarus.trainer.feed_process" in Path(f"/proc/{decoder}/cmdline").read_bytes()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{decoder}").exists():
        stat = Path(f"/proc/{decoder}/stat").read_text().split()
        if stat[2] == "Z":  # exited; only its reaping (by init) is left
            break
        assert time.monotonic() < deadline, "the decoding process outlived its trainer"
        time.sleep(0.05)


def test_sigterm_stops_the_decoding_process_with_the_trainer(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings).with_overrides(trainer_decoder="process")
    produce_sensors(s, 200)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lazarus.trainer", "habitat"],
        env=cli_env(s),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = redis.Redis.from_url(s.redis_url_value)
    deadline = time.monotonic() + 60
    while not any(
        b.get("pid") == str(proc.pid) for b in read_heartbeats(client, s.redis_key_prefix)
    ):
        assert proc.poll() is None and time.monotonic() < deadline, "the trainer did not start"
        time.sleep(0.05)
    (decoder,) = children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "decoding in a second process" in err
    assert not Path(f"/proc/{decoder}").exists(), "the decoding process outlived its trainer"
