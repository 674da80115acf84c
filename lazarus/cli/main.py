"""`lazarus`: run and operate the Lazarus streaming-ML pipeline.

Errors end in one line on stderr, `error: ...`: exit 2 for a bad setting, exit 1 for a
service that is missing or failed (or another refusal). A bad argument prints click's usage
and its `Error: ...` line, exit 2.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.markup import escape

from lazarus import __version__
from lazarus.cli.lazy import LazyGroup
from lazarus.logs import setup_logging

EPILOG = """\b
Start here:
  lazarus up                      the whole pipeline on the embedded broker
  lazarus up --duration 60        ... and stop by itself after a minute
  lazarus config show             the settings in effect (secrets masked)

Every option that has a setting falls back to its LAZARUS_* environment
variable (also read from ./.env); `lazarus config show` lists them all.
"""


ROLE_COMMANDS = {
    "produce": (
        "lazarus.producers.cli:produce",
        "Publish events: simulated feeds, or replays of real recordings.",
    ),
    "train": ("lazarus.trainer.cli:train", "Run the incremental trainer of a model."),
    "score": ("lazarus.scorer.cli:score", "Run scorer workers for a model."),
    "quality": ("lazarus.quality.cli:quality", "Measure the quality of the predictions served."),
    "genomes": (
        "lazarus.producers.genomes_cli:genomes",
        "Read VCF/BCF genotypes into per-individual summaries (without publishing).",
    ),
    "spec": (
        "lazarus.trainer.spec_cli:spec",
        "Write a model spec file from a sample of your data, or check one.",
    ),
}


OPS_COMMANDS = {
    "up": (
        "lazarus.cli.stack_cmds:up",
        "Bring the whole pipeline up: broker, Redis, topics, producers, trainers, scorers.",
    ),
    "broker": (
        "lazarus.cli.stack_cmds:broker",
        "Run only the embedded broker (memory storage), for multi-terminal work.",
    ),
    "topics": (
        "lazarus.cli.topics:topics",
        "Create and list the pipeline's topics (declared once, in schemas/topics.py).",
    ),
    "config": ("lazarus.cli.config_cmd:config", "Inspect configuration."),
    "schemas": (
        "lazarus.cli.schemas_cmd:schemas",
        "The event contracts and the CLI's JSON outputs, for consumers in other languages.",
    ),
    "models": (
        "lazarus.cli.models_cmd:models",
        "List, inspect, verify, promote and roll back model snapshots.",
    ),
    "keys": ("lazarus.cli.models_cmd:keys", "Snapshot signing keys (Ed25519)."),
    "lag": (
        "lazarus.cli.lag_cmd:lag",
        "Consumer lag per group, topic and partition: committed, log end, lag, lag in seconds.",
    ),
    "dlq": (
        "lazarus.cli.dead_letters_cmd:dlq",
        "Inspect dead letters grouped by reason, and replay fixed or selected ones.",
    ),
    "dashboard": (
        "lazarus.cli.dashboard_cmd:dashboard",
        "A live web dashboard: lag, throughput, model versions, staleness, dead letters.",
    ),
    "lag-exporter": (
        "lazarus.cli.exporter_cmd:lag_exporter",
        "Serve consumer lag (messages and seconds) at /metrics for Prometheus.",
    ),
    "status": (
        "lazarus.cli.status_cmd:status",
        "One summary of the whole system: services, lag, models, roles, dead letters.",
    ),
}
"""The operations commands, imported when used: `lazarus --help` imports none of them (nor
Redis, pydantic or river through them). Each one-line help is its command's own (a test checks)."""


@click.group(
    cls=LazyGroup,
    lazy={**OPS_COMMANDS, **ROLE_COMMANDS},
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="lazarus")
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default=None,
    help="Log level.  [env var: LAZARUS_LOG_LEVEL; default: INFO]",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """Lazarus keeps models learning from conservation sensor and genomic streams
    and serves their predictions, with training and inference decoupled.

    Sensor and genomic events flow through Kafka; trainers learn online (river)
    and publish signed snapshots to Redis; scorer workers hot-swap to the newest
    snapshot and publish scores that name the model version that made them.
    """
    from lazarus.cli.context import CliContext  # settings (pydantic): not for --help

    obj = ctx.ensure_object(CliContext)
    obj.overrides["log_level"] = log_level.upper() if log_level else None
    if ctx.invoked_subcommand and ctx.invoked_subcommand not in ("config",):
        setup_logging(obj.settings.log_level)


def main(argv: list[str] | None = None) -> None:
    """Entry point of `lazarus` and of every role's `python -m` module: one line and a clear
    exit code for every expected failure (see `lazarus.cli.failures`)."""
    err = Console(stderr=True)
    try:
        code = cli.main(args=argv, prog_name="lazarus", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.UsageError as exc:  # click's usage and its "Error: ..." line, exit 2
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # one line, as every other failure
        err.print(
            f"[red]error:[/red] {escape(exc.format_message())}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
    except Exception as exc:
        from lazarus.cli.failures import one_line  # Kafka, Redis, pydantic: not for --help

        failure = one_line(exc)
        if failure is None:
            raise
        message, exit_code = failure
        err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)
