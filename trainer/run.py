"""Run one trainer until SIGTERM or Ctrl-C: the services, heartbeat, metrics and step loop.

`lazarus train` (`trainer.cli`) parses its options and calls `run()`; everything that builds
and drives a `TrainerApp` lives here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from lazarus import redisconn
from lazarus.heartbeat import running_heartbeat
from lazarus.registry.lineup import Lineup
from lazarus.registry.rebuilds import Rebuilds
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.signing import signer_from
from lazarus.settings import Settings
from lazarus.stopsignal import StopRequested
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.servable import check_fresh
from lazarus.trainer.sharded import ShardedTrainerApp
from lazarus.trainer.specs import ModelSpec

log = logging.getLogger("lazarus.trainer")


def run(
    settings: Settings,
    spec: ModelSpec,
    *,
    cadence: Cadence,
    from_beginning: bool = False,
    timeout: float = 120.0,
    report: Callable[[str], None] | None = None,
    stop: StopRequested | None = None,
) -> int:
    """Train `spec` until SIGINT or SIGTERM, then publish a final snapshot; returns the exit
    code (0, or 1 when the final snapshot could not be published).

    `cadence` says when to snapshot; `from_beginning` ignores snapshots and rereads from offset
    0; `timeout` (seconds) bounds the wait for Redis (at most `redisconn.START_TIMEOUT_S`) and
    Kafka. Heartbeats and the /metrics server run for the life of the loop. `report(line)` gets
    one summary line at the end (logged when None); `stop`: the SIGINT/SIGTERM handler the
    caller installed before its own start-up work (installed here when None). Raises ServiceUnavailable (no Redis, Kafka or topics),
    TopicsRecreated, the signing key's ConfigError, or UnservableModel (a ConfigError: scorers
    would refuse the model, checked first with a fresh one and then at every publish), each a
    LazarusError.
    """
    check_fresh(spec, settings.snapshot_modules)  # before any service: in the first second
    signer = signer_from(settings)
    stop = stop or StopRequested.install()
    client = redisconn.require(
        settings.redis_url_value, timeout=min(timeout, redisconn.START_TIMEOUT_S)
    )
    store = RedisSnapshotStore(client, settings.redis_key_prefix)
    app: TrainerApp | ShardedTrainerApp
    if spec.per_key is not None:  # any number of trainers, sharing its shards
        rebuilds = Rebuilds(client, settings.redis_key_prefix)
        app = ShardedTrainerApp(
            settings,
            spec,
            store,
            signer,
            cadence=cadence,
            from_beginning=from_beginning,
            rebuilds=rebuilds,
        )
    else:
        lineup = Lineup(client, settings.redis_key_prefix)
        app = TrainerApp(
            settings,
            spec,
            store,
            signer,
            cadence=cadence,
            from_beginning=from_beginning,
            lineup=lineup,
        )
    app.start(timeout, stop.is_set)
    with running_heartbeat(settings, app.role, app.stats, app.metrics):
        while not stop.is_set():
            app.step()
    log.info("%s received: publishing the final version", stop.signal_name or "stop")
    code = app.stop()
    (report or log.info)(app.summary())
    return code
