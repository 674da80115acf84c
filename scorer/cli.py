"""`lazarus score MODEL [--workers N]` (also `python -m lazarus.scorer MODEL`)."""

from __future__ import annotations

from pathlib import Path

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.model_topics import ensure_model_topics
from lazarus.schemas.models import load_contract
from lazarus.schemas.specfile import is_spec_file
from lazarus.scorer.app import BATCH
from lazarus.scorer.run import run, run_pool


@click.command(
    epilog="""\b
Examples:
  lazarus score habitat                 one worker scoring sensor readings
  lazarus score habitat --workers 4     four worker processes in one consumer group
  lazarus score viability --batch 200
  lazarus score survey.toml             a model spec file (`lazarus spec init`)

MODEL is a built-in model's name, a model spec file (a path ending in .toml)
or an import path (module:factory), as for `lazarus train`. A spec file's
model creates its topics if they are missing.

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
Each worker serves the champion line (MODEL, or the challenger the quality
monitor promoted) and scores every challenger line, and the rollback guard's
baseline, in shadow to lazarus.shadow_scores.v1 (docs/lifecycle.md).
A per-key model (habitat_sites) is served shard by shard: an input of partition
P by the current version of MODEL.shardP, routed by its key to the key's own
model or the shard's fallback; a partition whose shard has no version yet waits,
unread, until one is published (docs/per-key.md).

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
    help="The most messages consumed and scored at a time (100 while caught up, more under a backlog).",
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
    contract = load_contract(model)
    if is_spec_file(model):
        created = ensure_model_topics(cli.settings, contract, timeout)
        for topic in (t for t, made in created.items() if made):
            cli.err.print(f"created topic {topic}", highlight=False)
        model = str(Path(model).resolve())  # the workers' path, wherever they start
    if workers > 1:
        return run_pool(cli.settings, model, workers=workers, batch=batch, timeout=timeout)
    return run(
        cli.settings,
        contract,
        batch=batch,
        timeout=timeout,
        report=lambda line: cli.err.print(line, highlight=False),
    )
