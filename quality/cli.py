"""`lazarus quality MODEL`: judge the served scores of MODEL by the outcomes that arrive later."""

from __future__ import annotations

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.quality.run import run
from lazarus.schemas.models import load_contract


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
def quality(cli: CliContext, model: str) -> int:
    """Measure the quality of the predictions actually served, per model version."""
    settings = cli.settings
    return run(settings, load_contract(model))
