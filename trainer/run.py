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
from lazarus.registry.signing import Signer, signer_from
from lazarus.settings import Settings
from lazarus.stopsignal import StopRequested
from lazarus.trainer import sharded_view
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
    if spec.per_key is not None:
        rebuilds = Rebuilds(client, settings.redis_key_prefix)
        return _run_sharded(
            settings, spec, store, signer, cadence, from_beginning, timeout, report, stop, rebuilds
        )
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
    log.info("%s received: publishing a final snapshot", stop.signal_name or "stop")
    code = app.stop()
    (report or log.info)(
        f"{spec.name}: learned {app.learner.state.n_learned}, "
        f"published up to v{app.snapshots.current_version}, "
        f"dead-lettered {app.dead_letters.count}"
    )
    return code


def _run_sharded(
    settings: Settings,
    spec: ModelSpec,
    store: RedisSnapshotStore,
    signer: Signer,
    cadence: Cadence,
    from_beginning: bool,
    timeout: float,
    report: Callable[[str], None] | None,
    stop: StopRequested,
    rebuilds: Rebuilds,
) -> int:
    """A per-key model: this process joins its trainers' group and trains the shards it owns
    (`trainer.sharded`); SIGTERM publishes each owned shard's final version."""
    app = ShardedTrainerApp(
        settings,
        spec,
        store,
        signer,
        cadence=cadence,
        from_beginning=from_beginning,
        rebuilds=rebuilds,
    )
    app.start(timeout, stop.is_set)
    with running_heartbeat(settings, app.role, app.stats, app.metrics):
        while not stop.is_set():
            app.step()
    log.info("%s received: publishing each owned shard's final version", stop.signal_name or "stop")
    shards = sorted(app.shards.items())
    code = app.stop()
    owned = [(p, shard.snapshots.current_version) for p, shard in shards]
    versions = ", ".join(f"shard{p} v{v}" for p, v in owned) or "none"
    (report or log.info)(
        f"{spec.name}: learned {sharded_view.learned(app)} here; published at stop: {versions}; "
        f"dead-lettered {app.dead_letters.count}"
    )
    return code
