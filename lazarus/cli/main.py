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
from lazarus.cli import (
    config_cmd,
    dashboard_cmd,
    dead_letters_cmd,
    exporter_cmd,
    lag_cmd,
    models_cmd,
    schemas_cmd,
    stack_cmds,
    status_cmd,
    topics,
)
from lazarus.cli.context import CliContext
from lazarus.cli.failures import one_line
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


@click.group(
    cls=LazyGroup,
    lazy=ROLE_COMMANDS,
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
    obj = ctx.ensure_object(CliContext)
    obj.overrides["log_level"] = log_level.upper() if log_level else None
    if ctx.invoked_subcommand and ctx.invoked_subcommand not in ("config",):
        setup_logging(obj.settings.log_level)


for command in (
    stack_cmds.up,
    stack_cmds.broker,
    topics.topics,
    config_cmd.config,
    schemas_cmd.schemas,
    models_cmd.models,
    models_cmd.keys,
    lag_cmd.lag,
    dead_letters_cmd.dlq,
    dashboard_cmd.dashboard,
    exporter_cmd.lag_exporter,
    status_cmd.status,
):
    cli.add_command(command)


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
        failure = one_line(exc)
        if failure is None:
            raise
        message, exit_code = failure
        err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)
