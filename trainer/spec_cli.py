"""`lazarus spec init DATA --label-column COL --out SPEC.toml` and `lazarus spec check SPEC.toml`.

A trainer command (loaded lazily by `lazarus`): it builds the river pipeline of every spec it
writes or checks, so a spec file it accepts is one `lazarus train` accepts.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import click

from lazarus.errors import ConfigError
from lazarus.recording import DEFAULT_ENCODING, check_encoding, read_rows
from lazarus.schemas.specfile import is_spec_file, parse_spec, read_spec_file
from lazarus.schemas.tabular import TASKS
from lazarus.spec_inference import Inference, infer, model_name
from lazarus.spec_text import Source, spec_text
from lazarus.trainer import catalogue
from lazarus.trainer.spec_champion import check_champion
from lazarus.trainer.specfile import spec_from

SAMPLE_ROWS = 10_000


@click.group()
def spec() -> None:
    """Write a model spec file from a sample of your data, or check one."""


@spec.command(
    "init",
    epilog="""\b
Examples:
  lazarus spec init survey.csv --label-column occupied --key-column site --out survey.toml
  lazarus spec init counts.csv --label-column n_birds --task regression --drop notes \\
      --out counts.toml
  lazarus spec init species.jsonl --label-column species --estimator HoeffdingTreeClassifier \\
      --out species.toml

Reads the first --sample-rows rows of DATA (CSV with a header, or JSONL) and
writes a commented spec file: which columns are numeric (every cell a number)
and which categorical (text, one-hot encoded); the NA markers the data uses
("", NA, N/A, NaN, null, None, ?, -, ...); the task (--task auto: two label
values make a binary task, non-integer numbers or more than 20 integers a
regression, anything else a multiclass task) and its classes, typed as the
data writes them; a linear model for the task (--estimator picks another from
the catalogue the file lists); the metrics. Constant columns, identifiers and
row numbers are dropped, with a comment saying why. Edit the file freely, then
`lazarus spec check SPEC.toml`, and name the model by the file everywhere:

\b
  lazarus produce replay survey.csv --model survey.toml
  lazarus train survey.toml
  lazarus score survey.toml
""",
)
@click.argument("data", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--label-column", required=True, help="The column holding what to predict.")
@click.option(
    "--task",
    type=click.Choice(["auto", *TASKS]),
    default="auto",
    show_default=True,
    help="What to predict; auto reads it from the label column.",
)
@click.option("--key-column", default=None, help="Each row's subject (default: one subject).")
@click.option("--time-column", default=None, help="Each row's time (default: when it is sent).")
@click.option(
    "--name",
    default=None,
    help="The model's name, which names its topics (default: from --out's file name).",
)
@click.option("--estimator", default=None, help="From the catalogue (default: linear).")
@click.option("--drop", multiple=True, help="A column to leave out (repeatable).")
@click.option(
    "--sample-rows",
    type=click.IntRange(min=2),
    default=SAMPLE_ROWS,
    show_default=True,
    help="Rows read to infer the spec.",
)
@click.option("--encoding", default=DEFAULT_ENCODING, show_default=True, help="DATA's encoding.")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The spec file to write (ends in .toml).",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def init(
    data: Path,
    label_column: str,
    task: str,
    key_column: str | None,
    time_column: str | None,
    name: str | None,
    estimator: str | None,
    drop: tuple[str, ...],
    sample_rows: int,
    encoding: str,
    out: Path,
    force: bool,
) -> None:
    """Write a model spec file for DATA: columns, task, classes, pipeline, metrics."""
    if not data.is_file():
        raise ConfigError(f"{data}: no such file")
    if not is_spec_file(str(out)):
        raise ConfigError(
            f"--out {out}: a spec file's name ends in .toml (that is how commands know it)"
        )
    if out.exists() and not force:
        raise ConfigError(f"--out {out} exists: pass --force to overwrite it")
    rows, unreadable = _sample(data, encoding, sample_rows)
    found = infer(
        rows,
        label_column=label_column,
        name=name or model_name(out.stem),
        task=task,
        key_column=key_column,
        time_column=time_column,
        drop=drop,
    )
    chosen = estimator or catalogue.DEFAULT[found.task]
    choices = catalogue.entries(found.task)
    if chosen not in {e.name for e in choices}:
        raise ConfigError(
            f"--estimator {chosen!r} is not in the catalogue for a {found.task} task "
            f"(choose from: {', '.join(e.name for e in choices)})"
        )
    source = Source(str(data), len(rows), unreadable)
    text = spec_text(found, source, chosen, [(e.name, e.about) for e in choices])
    spec_from(parse_spec(text, out))  # what we write, `lazarus train` takes
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write it: {exc.strerror or exc}") from None
    click.echo(_summary(out, found, chosen))


@spec.command(
    "check",
    epilog="""\b
Example:
  lazarus spec check survey.toml

Reads the spec file and builds its river pipeline, as `lazarus train` would.
A challenger ([lifecycle] challenger_of) is compared with its champion, when
that is built in or a spec file in the same folder: scorers refuse a
challenger whose schema fingerprint differs. Prints one line: ok and what the
model is, or the error naming the line and the key (exit 2).""",
)
@click.argument("spec_file", metavar="SPEC", type=click.Path(path_type=Path, dir_okay=False))
def check(spec_file: Path) -> None:
    """Check a model spec file: one line, ok or the first error."""
    if not is_spec_file(str(spec_file)):
        raise ConfigError(f"{spec_file}: a spec file's name ends in .toml")
    read = read_spec_file(spec_file)
    model = spec_from(read)
    champion = check_champion(read)
    contract = model.contract
    columns = contract.inputs[0].event.COLUMNS  # type: ignore[attr-defined]
    topics = [t.name for t in (*contract.inputs, contract.outcomes)]
    topics += [contract.scores.name] if contract.scores is not None else []
    estimator = model.pipeline.estimator  # type: ignore[attr-defined]
    click.echo(
        f"{spec_file}: ok: model {contract.name}, {model.pipeline.task} task, "  # type: ignore[attr-defined]
        f"{len(columns)} feature columns, {estimator}; topics {', '.join(topics)}{champion}"
    )


def _sample(data: Path, encoding: str, rows: int) -> tuple[list[dict[str, object]], int]:
    """The first `rows` data rows of `data` that could be read, and how many could not."""
    try:
        check_encoding(encoding)
        records = list(islice(read_rows(data, encoding), rows))
    except ValueError as exc:
        raise ConfigError(f"--encoding: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{data}: cannot read it: {exc.strerror or exc}") from None
    good = [r.row for r in records if r.row is not None]
    return good, len(records) - len(good)


def _summary(out: Path, found: Inference, estimator: str) -> str:
    classes = ""
    if found.classes is not None:
        classes = f" ({', '.join(map(str, found.classes))}"
        classes += f"; positive {found.positive})" if found.task == "binary" else ")"
    return (
        f"wrote {out}: {found.task} task{classes}, {len(found.numeric)} numeric and "
        f"{len(found.categorical)} categorical columns, {len(found.dropped)} dropped, "
        f"{estimator}. Read it, edit it, then: lazarus spec check {out}"
    )
