"""`lazarus score MODEL [--workers N]` (also `python -m lazarus.scorer MODEL`)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import click

from lazarus import processes, redisconn
from lazarus.cli.context import CliContext, pass_cli
from lazarus.heartbeat import running_heartbeat
from lazarus.registry.signing import verifier_from
from lazarus.schemas.models import load_contract
from lazarus.scorer.app import BATCH, ScorerApp
from lazarus.stopsignal import StopRequested

log = logging.getLogger("lazarus.scorer")

RESTART_DELAY_S = 2.0


@click.command(
    epilog="""\b
Examples:
  lazarus score habitat                 one worker scoring sensor readings
  lazarus score habitat --workers 4     four worker processes in one consumer group
  lazarus score viability --batch 200

Workers form the consumer group lazarus.scorer.MODEL (after any topic prefix): start more on other
hosts with the same settings and Kafka spreads the partitions over all of them.
Each worker serves the model's `current` snapshot, verified with
LAZARUS_SIGNING_PUBLIC_KEY before it is unpickled, and swaps to a new version
between batches as soon as Redis announces it (and polls every
LAZARUS_SCORER_POLL_SECONDS in case a notification was lost). A snapshot that
fails verification is refused and logged; the worker keeps its previous model.
No Redis at start is exit 1 naming LAZARUS_REDIS_URL; Redis going away later is
logged, and the worker goes on scoring with the model it has.
Until a version that has learned the model's min_learned events is current,
workers wait; a version that learned fewer is refused.

Every score names the model version that made it and the offsets that version
was trained through. An input's offset is committed only after its score is
acknowledged (at least once: a crash can score an input again, maybe with a
newer version; every score of an input has the same id, and consumers keep the
first). Invalid inputs go to the dead-letter topic. SIGTERM or Ctrl-C
finishes the batch, flushes, commits and exits 0.
"""
)
@click.argument("model")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Worker processes to run here (each a member of the group).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1, max=100_000),
    default=BATCH,
    show_default=True,
    help="Messages consumed and scored at a time.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Give up (exit 1) if Kafka has not answered by then (Redis: within 5 s).",
)
@pass_cli
def score(cli: CliContext, model: str, workers: int, batch: int, timeout: float) -> int:
    """Run scorer workers for MODEL: verified hot-swapped snapshots, scores with lineage."""
    spec = load_contract(model)
    if workers > 1:
        return _pool(cli, model, workers, batch, timeout)
    settings = cli.settings
    verifier = verifier_from(settings)
    stop = StopRequested.install()
    app = ScorerApp(settings, spec, verifier, batch=batch)
    app.start(timeout, stop.is_set)
    with running_heartbeat(settings, app.role, app.stats, app.metrics):
        if app.wait_for_model(stop.is_set):
            app.subscribe()
            while not stop.is_set():
                app.step()
        log.info("%s received: finishing", stop.signal_name or "stop")
        code = app.stop()
    cli.err.print(
        f"{spec.name} scorer: scored {app.scored}, dead-lettered {app.dead_letters.count}, "
        f"last model v{app.model.version if app.model else '-'}, group {app.group}",
        highlight=False,
    )
    return code


def _pool(cli: CliContext, model: str, workers: int, batch: int, timeout: float) -> int:
    """N single-worker children; a child that dies is restarted; SIGTERM stops them all.
    Redis is checked first, as each worker does: no Redis at start means exit 1, not N
    children restarted forever."""
    redisconn.require(
        cli.settings.redis_url_value, timeout=min(timeout, redisconn.START_TIMEOUT_S)
    ).close()
    stop = StopRequested.install()
    argv = [
        sys.executable,
        "-P",
        "-m",
        "lazarus.scorer",
        model,
        "--batch",
        str(batch),
        "--timeout",
        str(timeout),
    ]
    env = {**os.environ, **cli.settings.child_env()}
    env.pop("LAZARUS_SIGNING_PRIVATE_KEY", None)  # scorers verify; they never sign
    procs: list[subprocess.Popen[bytes]] = [
        processes.spawn(argv, env=env, death_signal=signal.SIGTERM) for _ in range(workers)
    ]
    log.info("started %d %s workers: pids %s", workers, model, [p.pid for p in procs])
    code = 0
    while not stop.wait(0.5):
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
    processes.stop_all(procs, timeout=15.0)
    for proc in procs:
        if proc.returncode not in (0, None):
            code = 1
    return code
