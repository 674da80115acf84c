"""`lazarus quality MODEL`: judge the served scores of MODEL by the outcomes that arrive later."""

from __future__ import annotations

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.model_topics import ensure_model_topics
from lazarus.quality.run import BROKER_TIMEOUT_S, run
from lazarus.schemas.models import load_contract
from lazarus.schemas.specfile import is_spec_file


@click.command(
    epilog="""\b
Examples:
  lazarus quality habitat
  lazarus quality survey.toml           a model spec file (`lazarus spec init`)

Joins each score a scorer published with the trainer's own test-then-train
prediction for the same event (which carries the label, once the outcome has
arrived), and keeps, per model version and over all versions, the served
metric against the prequential metric on exactly those events, and how much
worse serving is (the decoupling cost; positive when serving loses). Only
honest scores count: those of events their version had not learned yet; the
others are counted apart. Read it with `lazarus models show MODEL` or on the
dashboard. `lazarus up` runs one per model.

It also runs the model's lifecycle (its spec's `lifecycle` policies): it
compares each challenger line with the champion on the same honest events
(scores in shadow on lazarus.shadow_scores.v1) and promotes one that is better
by more than the promotion margin with confidence; it compares what is served
with the baseline (the version served before) and rolls back a version worse
by more than the guard's margin with confidence; and it publishes a drift
event when the served error rises. `lazarus models gate MODEL` shows where
each challenger stands.

It runs until Ctrl-C or SIGTERM, then says what it judged. To judge the
scores of a replay honestly, start the trainer, the scorers and this monitor
first and pace the replay (`--rate`): scores made after their version had
learned the event are counted apart, never as served quality.

MODEL is a built-in model's name, a model spec file (a path ending in .toml)
or an import path (module:factory), as for `lazarus train`. A spec file's
model creates its topics if they are missing.
"""
)
@click.argument("model")
@pass_cli
def quality(cli: CliContext, model: str) -> int:
    """Measure the quality of the predictions actually served, per model version, and
    promote or roll back by it."""
    settings = cli.settings
    contract = load_contract(model)
    if is_spec_file(model):
        ensure_model_topics(settings, contract, BROKER_TIMEOUT_S)
    return run(settings, contract)
