"""The default demo trains every built-in model (issue #12, item 9).

`lazarus up` with its default rate and label delay: each trainer keeps learning (not just its
first few events), and the scorers serve a version that learned. Once the genome feed stamped
3600 s of event time per assay, so its 5 s wall-clock label delay was 1,000 h of event time at
200 assays/s: past the 14-day join TTL, and `viability` learned nothing. Simulated time that
runs ahead of the wall clock also runs past the models' allowed clock skew, and every event
would be dead-lettered.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from typing import IO

import pytest
import redis

from lazarus.embedded.ports import free_port
from lazarus.registry import keys
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.settings import Settings
from tests.integration.cli import cli_env
from tests.proctools import wait_gone

MODELS = ("habitat", "viability")
DEADLINE_S = 100.0
LEARNED = 2000
"""Labelled events each trainer must have learned: 10 s of the default 200 events/s."""
SERVED_LEARNED = 1000
"""...and the version each scorer serves."""


def heartbeats(client: redis.Redis, prefix: str, role: str) -> list[dict[str, str]]:
    """The live heartbeat hashes of every instance of `role`."""
    out = []
    for key in client.scan_iter(match=keys.roles_pattern(prefix, role), count=1000):
        fields = client.hgetall(key)
        out.append({_text(k): _text(v) for k, v in fields.items()})
    return out


def _text(value: bytes | str) -> str:
    """A Redis reply as text (the client is typed to return either; without decode_responses it is bytes)."""
    return value.decode() if isinstance(value, bytes) else value


def learning(client: redis.Redis, store: RedisSnapshotStore, prefix: str) -> dict[str, str]:
    """Per model, what is still missing; empty when each has learned and its scorers serve a
    version whose manifest says it learned."""
    missing = {}
    for model in MODELS:
        trainers = heartbeats(client, prefix, f"trainer:{model}")
        if not any(keeps_learning(t) for t in trainers):
            missing[model] = f"trainer is not learning what it reads: {trainers}"
            continue
        served = [s.get("model_version", "") for s in heartbeats(client, prefix, f"scorer:{model}")]
        versions = [int(v) for v in served if v]
        if not versions:
            missing[model] = f"no scorer serves a version yet: {served}"
            continue
        for version in versions:
            manifest = store.manifest(model, version)
            if manifest is None or manifest.n_learned < SERVED_LEARNED:
                learned = manifest.n_learned if manifest else None
                missing[model] = f"v{version} is served, having learned {learned}"
    return missing


def keeps_learning(beat: dict[str, str]) -> bool:
    """Learned LEARNED events, most of those it could (every message read is a feature or an
    outcome; a pending feature waits for its outcome), and dead-lettered next to nothing (the
    sensor feed's faulty values: 0.2 %)."""
    read, learned = int(beat.get("events_in") or 0), int(beat.get("n_learned") or 0)
    pending, dead = int(beat.get("pending") or 0), int(beat.get("dead_lettered") or 0)
    return learned >= LEARNED and learned >= 0.8 * (read - pending) / 2 and dead <= 0.05 * read


@pytest.mark.timeout(DEADLINE_S + 60)
def test_the_default_demo_trains_and_serves_every_built_in_model(settings: Settings) -> None:
    env = cli_env(
        settings,
        LAZARUS_EMBEDDED="true",
        LAZARUS_EMBEDDED_BROKER_PORT=str(free_port()),
        XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="lazarus-keys-"),  # dev keys: not in ~
    )
    prefix = keys.embedded_prefix(settings.redis_key_prefix)  # where `up` keeps an embedded run
    client = redis.Redis.from_url(settings.redis_url_value)
    store = RedisSnapshotStore(client, prefix)
    # Output to a file, not a pipe: nobody reads it while `up` runs.
    with tempfile.TemporaryFile("w+") as log:
        proc = up(env, log)
        try:
            missing: dict[str, str] = {"all": "not checked yet"}
            deadline = time.monotonic() + DEADLINE_S
            while missing and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.5)
                missing = learning(client, store, prefix)
            assert proc.poll() is None, _output(log)
            assert not missing, f"after {DEADLINE_S:.0f}s: {missing}"
        finally:
            stop(proc)
            client.close()
        assert proc.returncode == 0, _output(log)
    assert wait_gone(settings.redis_key_prefix, 10) == []


def up(env: dict[str, str], log: IO[str]) -> subprocess.Popen[str]:
    """`lazarus up` with the default --rate and --label-delay; one scorer per model and no
    dashboard keep the machine free for the rest."""
    return subprocess.Popen(
        [sys.executable, "-m", "lazarus", "up", "--scorers", "1", "--dashboard-port", "-1"],
        env=env,
        text=True,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _output(log: IO[str]) -> str:
    log.seek(0)
    return log.read()[-4000:]
