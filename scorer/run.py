"""Run scorer workers until SIGTERM or Ctrl-C: one worker in this process, or a pool of them.

`lazarus score` (`scorer.cli`) parses its options and calls `run()` (one worker) or
`run_pool()` (`--workers N`); everything that builds and drives a `ScorerApp` lives here.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from lazarus import processes, redisconn
from lazarus.heartbeat import running_heartbeat
from lazarus.registry.signing import verifier_from
from lazarus.schemas.contract import ModelContract
from lazarus.scorer.app import BATCH
from lazarus.scorer.keyed_app import scorer_app, served_text
from lazarus.settings import Settings
from lazarus.stopsignal import StopRequested

log = logging.getLogger("lazarus.scorer")

RESTART_DELAY_S = 2.0
"""Seconds before a pool restarts a worker that died (its partitions go to the others)."""
POOL_STOP_S = 15.0
"""Seconds the pool's workers get to finish, flush and commit after SIGTERM."""


def run(
    settings: Settings,
    contract: ModelContract,
    *,
    batch: int = BATCH,
    timeout: float = 120.0,
    report: Callable[[str], None] | None = None,
) -> int:
    """Score `contract`'s inputs in this process until SIGINT or SIGTERM, then finish the
    batch, flush and commit; returns the exit code (0 on a clean stop).

    `batch` messages are consumed and scored at a time; `timeout` (seconds) bounds the wait for
    Kafka. The worker waits for a servable `current` version before it joins the group.
    Heartbeats and the /metrics server run for the life of the loop. `report(line)` gets one
    summary line at the end (logged when None). Raises ServiceUnavailable (no Redis or Kafka)
    or the verifying key's ConfigError, each a LazarusError.
    """
    verifier = verifier_from(settings)
    stop = StopRequested.install()
    app = scorer_app(settings, contract, verifier, batch=batch)
    app.start(timeout, stop.is_set)
    with running_heartbeat(settings, app.role, app.stats, app.metrics):
        if app.wait_for_model(stop.is_set):
            app.subscribe()
            while not stop.is_set():
                app.step()
        log.info("%s received: finishing", stop.signal_name or "stop")
        code = app.stop()
    (report or log.info)(
        f"{contract.name} scorer: scored {app.scored}, dead-lettered {app.dead_letters.count}, "
        f"last model {served_text(app)}, group {app.group}"
    )
    return code


def run_pool(
    settings: Settings, model: str, *, workers: int, batch: int = BATCH, timeout: float = 120.0
) -> int:
    """Run `workers` single-worker children of `model` (the name or import path, as given on
    the command line) until SIGINT or SIGTERM; a child that dies is restarted after
    RESTART_DELAY_S. Returns 1 when a child ended with an error on stop, else 0.

    Redis is checked first, as each worker does: no Redis at start raises ServiceUnavailable
    (exit 1), rather than N children restarted forever.
    """
    redisconn.require(
        settings.redis_url_value, timeout=min(timeout, redisconn.START_TIMEOUT_S)
    ).close()
    stop = StopRequested.install()
    argv = [sys.executable, "-P", "-m", "lazarus.scorer", model]
    argv += ["--batch", str(batch), "--timeout", str(timeout)]
    env = {**os.environ, **settings.child_env()}
    env.pop("LAZARUS_SIGNING_PRIVATE_KEY", None)  # scorers verify; they never sign
    procs: list[subprocess.Popen[bytes]] = [
        processes.spawn(argv, env=env, death_signal=signal.SIGTERM) for _ in range(workers)
    ]
    log.info("started %d %s workers: pids %s", workers, model, [p.pid for p in procs])
    while not stop.wait(0.5):
        _restart_dead(procs, argv, env)
    processes.stop_all(procs, timeout=POOL_STOP_S)
    return 1 if any(proc.returncode not in (0, None) for proc in procs) else 0


def _restart_dead(
    procs: list[subprocess.Popen[bytes]], argv: list[str], env: dict[str, str]
) -> None:
    """Replace, in place, each worker of `procs` that has exited."""
    for i, proc in enumerate(procs):
        rc = proc.poll()
        if rc is None:
            continue
        log.error(
            "worker pid %d exited with %d; restarting it in %.0fs (its partitions went to the others)",
            proc.pid,
            rc,
            RESTART_DELAY_S,
        )
        time.sleep(RESTART_DELAY_S)
        procs[i] = processes.spawn(argv, env=env, death_signal=signal.SIGTERM)
