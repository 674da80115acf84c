"""`lazarus produce replay FILE`: parses the options and calls `producers.replay_run.run_replay`."""

from __future__ import annotations

from pathlib import Path

import click

from lazarus.cli.context import CliContext, pass_cli
from lazarus.producers.options import finish, pacing
from lazarus.producers.replay import ReplayConfig
from lazarus.producers.replay_run import ReplayOptions, StrictAbort, run_replay
from lazarus.producers.replay_target import SENSOR_OPTIONS, TargetOptions, replay_target
from lazarus.recording import DEFAULT_ENCODING, check_encoding
from lazarus.schemas.sensors import SensorKind


def _encoding(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_encoding(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _mapping(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} should look like COLUMN=measurement_name")
        column, name = item.split("=", 1)
        out[column] = name
    return out


@click.command(
    epilog="""\b
Your own data goes to your own model: write its spec with `lazarus spec init`,
then replay with --model SPEC.toml. Each row becomes one record on the model's
input topic carrying exactly the row's cells (numbers, categories; NA markers
are missing values; nothing is added), and its label an outcome on the model's
outcome topic, typed as the spec declares its classes. The spec's [data] table
names the label, key and time columns; the options here override it.

\b
Without --model, rows are sensor readings of the built-in habitat model: every
column that is not --key-column, --label-column, --time-column or --exclude
becomes a measurement (snake_cased; --map renames, e.g. --map "Air
Temp=temperature_c" to get units and range checks), and the habitat model's
features (time of day and season, location, sensor kind) apply.

\b
Without --key-column, every row has one constant subject (site "replay", or
subject "all" for records): one partition, in file order, one segment.
Without --time-column, a row's event time is when it is sent. A row that
cannot be used (bytes not valid in --encoding, a line that is not JSON, a CSV
row with the wrong number of fields, a value that fails validation) is reported
with its line number and sent to the dead-letter topic with its bytes;
--strict stops at it instead (exit 1). Events carry the time they are sent as
their Kafka timestamp.

\b
Examples:
  lazarus spec init surveys.csv --label-column occupied --out surveys.toml
  lazarus produce replay surveys.csv --model surveys.toml --label-delay 1
  lazarus produce replay station.csv --time-column timestamp --key-column site
  lazarus produce replay export.csv --encoding cp1252    a file from a Windows spreadsheet
"""
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--model",
    default="habitat",
    show_default=True,
    help="The model whose topics the rows go to: a model spec file (SPEC.toml), a built-in "
    "name, or module:factory.",
)
@pacing
@click.option(
    "--key-column",
    default=None,
    help="Column holding the subject (site); default: one constant subject for every row.",
)
@click.option("--label-column", default=None, help="Column turned into outcome events.")
@click.option(
    "--time-column",
    default=None,
    help="Column with the event time (ISO 8601 or epoch seconds); default: now.",
)
@click.option(
    "--columns", default=None, help="Comma-separated measurement columns (default: all others)."
)
@click.option("--exclude", default=None, help="Comma-separated columns to leave out.")
@click.option(
    "--map",
    "rename",
    multiple=True,
    callback=_mapping,
    help="COLUMN=measurement_name (repeatable).",
)
@click.option(
    "--kind", type=click.Choice([k.value for k in SensorKind]), default="climate", show_default=True
)
@click.option("--sensor-id", default="replay", show_default=True)
@click.option("--lat", type=click.FloatRange(-90, 90), default=0.0, show_default=True)
@click.option("--lon", type=click.FloatRange(-180, 180), default=0.0, show_default=True)
@click.option("--loop", is_flag=True, help="Start again at the end (until Ctrl-C).")
@click.option(
    "--encoding",
    default=DEFAULT_ENCODING,
    show_default=True,
    callback=_encoding,
    help="The file's text encoding (cp1252, latin-1, utf-16, ...). A row with bytes it cannot "
    "decode is dead-lettered.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Stop at the first bad row (exit 1) instead of dead-lettering it.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@pass_cli
def replay(
    cli: CliContext,
    file: Path,
    model: str,
    rate: float | None,
    label_delay: float,
    timeout: float,
    key_column: str | None,
    label_column: str | None,
    time_column: str | None,
    columns: str | None,
    exclude: str | None,
    rename: dict[str, str],
    kind: str,
    sensor_id: str,
    lat: float,
    lon: float,
    loop: bool,
    encoding: str,
    strict: bool,
    no_progress: bool,
) -> None:
    """Replay a real recording (CSV or JSONL) to a model's topics, with delayed outcomes."""
    ctx = click.get_current_context()
    given = [
        name
        for name in SENSOR_OPTIONS
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    ]
    cfg = ReplayConfig(
        key_column=key_column,
        label_column=label_column,
        time_column=time_column,
        columns=_split(columns),
        exclude=_split(exclude),
        rename=rename,
        kind=kind,
        sensor_id=sensor_id,
        lat=lat,
        lon=lon,
        label_delay_s=label_delay,
    )
    opts = ReplayOptions(
        rate=rate,
        loop=loop,
        strict=strict,
        label_delay=label_delay,
        progress=not no_progress and cli.err.is_terminal,
        encoding=encoding,
    )
    options = TargetOptions(model, cfg, tuple(given), file, encoding)
    target = replay_target(options)
    try:  # an unreadable header raises UnreadableHeader: one line, exit 2, nothing sent
        report = run_replay(cli.settings, file, target, opts, timeout)
    except StrictAbort as exc:
        raise click.ClickException(str(exc)) from None
    finish(cli, report)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()
