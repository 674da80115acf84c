"""Run the quality monitor of one model until SIGTERM or Ctrl-C.

`lazarus quality` (`quality.cli`) parses its options and calls `run()`; everything that builds
and drives a `QualityApp` lives here.
"""

from __future__ import annotations

import logging

from lazarus import redisconn
from lazarus.heartbeat import running_heartbeat
from lazarus.kafka.admin import wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.quality.app import QualityApp
from lazarus.schemas.contract import ModelContract
from lazarus.settings import Settings
from lazarus.stopsignal import StopRequested

log = logging.getLogger("lazarus.quality")

BROKER_TIMEOUT_S = 30.0
"""Seconds to wait for Kafka at start before giving up (exit 1)."""


def run(settings: Settings, contract: ModelContract) -> int:
    """Judge `contract`'s served scores until SIGINT or SIGTERM, keeping the per-version report
    in Redis, and act on its lifecycle (promote a challenger that clears the gate, roll back a
    version the guard finds worse, publish served drifts); returns the exit code, 0. Heartbeats and the /metrics server run for the life of
    the loop. Raises ServiceUnavailable (no Kafka within BROKER_TIMEOUT_S, or no Redis) or
    ConfigError (a contract without a scores topic), each a LazarusError.
    """
    wait_for_broker(client_config(settings, quiet=True), timeout=BROKER_TIMEOUT_S)
    client = redisconn.require(settings.redis_url_value)
    stop = StopRequested.install()
    app = QualityApp(settings, contract, client)
    app.start()
    with running_heartbeat(settings, app.role, app.stats, app.metrics):
        while not stop.is_set():
            app.step()
    app.stop()
    s = app.stats()
    log.info(
        "stopped: %s messages read; %s scores judged, %s of them honest (their version had not "
        "learned the event); %s scores and %s labels still waiting for their other half; "
        "%s promotions, %s rollbacks, %s served drifts",
        s["events_in"],
        s["judged"],
        s["honest"],
        s["waiting_scores"],
        s["waiting_labels"],
        s["promotions"],
        s["rollbacks"],
        s["served_drifts"],
    )
    return 0
