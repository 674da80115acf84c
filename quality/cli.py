"""`lazarus quality MODEL`: judge the served scores of MODEL by the outcomes that arrive later."""

from __future__ import annotations

import click

from lazarus import redisconn
from lazarus.cli.context import CliContext, pass_cli
from lazarus.heartbeat import running_heartbeat
from lazarus.kafka.admin import wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.quality.app import QualityApp
from lazarus.schemas.models import load_contract
from lazarus.stopsignal import StopRequested


@click.command(
    epilog="""\b
Example:
  lazarus quality habitat

Joins each score a scorer published with the trainer's own test-then-train
prediction for the same event (which carries the label, once the outcome has
arrived), and keeps, per model version, the served metric against the
prequential metric on exactly those events. Their difference is the
decoupling cost. Read it with `lazarus models show MODEL` or on the dashboard.
`lazarus up` runs one per model.
"""
)
@click.argument("model")
@pass_cli
def quality(cli: CliContext, model: str) -> None:
    """Measure the quality of the predictions actually served, per model version."""
    settings = cli.settings
    spec = load_contract(model)
    wait_for_broker(client_config(settings, quiet=True), timeout=30)
    client = redisconn.require(settings.redis_url_value)
    stop = StopRequested.install()
    app = QualityApp(settings, spec, client)
    app.start()
    with running_heartbeat(settings, app.role, app.stats, app.metrics):
        while not stop.is_set():
            app.step()
    app.stop()
