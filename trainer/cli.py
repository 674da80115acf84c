"""`lazarus train MODEL` (also `python -m lazarus.trainer MODEL`)."""

from __future__ import annotations

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.model_topics import ensure_model_topics
from lazarus.schemas.specfile import is_spec_file
from lazarus.stopsignal import StopRequested
from lazarus.trainer.checkpoint import Cadence
from lazarus.trainer.run import run
from lazarus.trainer.specs import ModelSpec, load_spec


@click.command(
    epilog="""\b
Examples:
  lazarus train habitat                        learn from sensor readings and occupancy outcomes
  lazarus train viability --snapshot-every 500
  lazarus train habitat --from-beginning       rebuild from offset 0 (versions continue)
  lazarus train habitat --min-learned 500      serve no version that learned fewer than 500
  lazarus train survey.toml                    a model spec file (`lazarus spec init`)
  lazarus train mypkg.models:my_spec           a custom ModelSpec by import path
  lazarus train habitat_sites                  a per-key model: run it twice, they share shards

MODEL is a built-in model's name, a model spec file (a path ending in .toml)
or an import path (module:factory); every command that takes a model takes
the same three. A spec file's model creates its topics if they are missing.

On start the trainer resumes from its latest snapshot and re-reads everything
from the next offsets to read that snapshot records, so a crash (even kill -9)
loses nothing and learns nothing twice. SIGTERM or Ctrl-C finishes the batch,
publishes a final snapshot and exits 0. Snapshots are signed with
LAZARUS_SIGNING_PRIVATE_KEY.

Every snapshot is stored (a restart resumes from the newest), but only one that
has learned at least --min-learned events becomes `current`, the version
scorers serve: until then scorers wait rather than serve a model that has
learned nothing.

A per-key model (one model per key, e.g. the built-in habitat_sites, one per
site; a spec file's [per_key] table) may have any number of trainers: start
`lazarus train habitat_sites` again on another machine and they share its
partitions as the consumer group lazarus.trainer.habitat_sites, each owning
the shards (partition numbers) it is assigned, each shard a registry line
habitat_sites.shardN. --from-beginning then asks for every shard to be
rebuilt once, by whichever trainer owns it, and a rebuilt shard is served
only once it has learned as much as the version it replaces (docs/per-key.md).
"""
)
@click.argument("model")
@click.option("--from-beginning", is_flag=True, help="Ignore snapshots and retrain from offset 0.")
@click.option(
    "--snapshot-every",
    type=click.IntRange(min=1),
    default=None,
    help="Publish after this many learned events (default: the model spec's).",
)
@click.option(
    "--snapshot-seconds",
    type=click.FloatRange(min=0.05),
    default=None,
    help="...or after this many seconds, whichever comes first (default: the spec's).",
)
@click.option(
    "--min-learned",
    type=click.IntRange(min=1),
    default=None,
    help="Make no version current (served) before it has learned this many events "
    "(default: the model spec's min_learned; scorers refuse fewer than the spec's).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Give up (exit 1) if Kafka or Redis has not answered by then.",
)
@pass_cli
def train(
    cli: CliContext,
    model: str,
    from_beginning: bool,
    snapshot_every: int | None,
    snapshot_seconds: float | None,
    min_learned: int | None,
    timeout: float,
) -> int:
    """Run the incremental trainer of MODEL: delayed-label join, test-then-train, signed snapshots."""
    settings = cli.settings
    spec = _with_min_learned(load_spec(model), min_learned)
    stop = StopRequested.install()  # before any work: a SIGTERM during start-up stops cleanly
    if is_spec_file(model):
        created = ensure_model_topics(settings, spec.contract, timeout)
        for topic in (t for t, made in created.items() if made):
            cli.err.print(f"created topic {topic}", highlight=False)
    cadence = Cadence(
        snapshot_every or spec.snapshot_every, snapshot_seconds or spec.snapshot_seconds
    )
    return run(
        settings,
        spec,
        cadence=cadence,
        from_beginning=from_beginning,
        timeout=timeout,
        report=lambda line: cli.err.print(line, highlight=False),
        stop=stop,
    )


def _with_min_learned(spec: ModelSpec, min_learned: int | None) -> ModelSpec:
    """`spec` with the minimum a served version must have learned, if --min-learned gives one.
    Lower than the spec's is a bad argument: scorers refuse versions below the spec's minimum."""
    if min_learned is None:
        return spec
    if min_learned < spec.min_learned:
        raise click.BadParameter(
            f"{min_learned} is below {spec.name}'s min_learned ({spec.min_learned}), "
            "which scorers enforce: they would refuse the versions made current",
            param_hint="--min-learned",
        )
    return spec.replace(min_learned=min_learned)
