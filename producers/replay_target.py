"""Which model a replay feeds, and how: `replay_target(settings, options)` -> `ReplayTarget`.

The habitat model (the default) gets sensor readings (`producers.replay`); any other model must
read records (`lazarus.schemas.records`), and gets them from `producers.record_replay`, laid
out by its spec file's `[data]` table with the command line's columns overriding it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from lazarus.errors import ConfigError
from lazarus.model_topics import model_topics
from lazarus.producers.record_replay import RecordLayout, RecordReplayer
from lazarus.producers.replay import ReplayConfig, Replayer
from lazarus.producers.replay_run import ReplayTarget
from lazarus.recording import read_rows
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.models import load_contract
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS

SENSOR_OPTIONS = ("columns", "exclude", "rename", "kind", "sensor_id", "lat", "lon")
"""Options that shape sensor readings: meaningless for a records model."""
_FLAGS = {"rename": "--map"}


@dataclass(frozen=True)
class TargetOptions:
    model: str
    """A built-in name, a spec file or module:factory."""
    cfg: ReplayConfig
    """The command line's columns (and, for the habitat model, how readings are shaped)."""
    sensor_options: tuple[str, ...]
    """Sensor-reading options given on the command line (an error for a records model)."""
    file: Path
    encoding: str


SENSOR_MODELS = ("habitat", "habitat_sites")
"""The built-in models that read sensor readings: rows become readings (`producers.replay`)."""


def replay_target(options: TargetOptions) -> ReplayTarget:
    """Where and how the rows go. `ConfigError` (one line, exit 2) for a model that cannot be
    loaded, does not read records, or whose columns the file lacks; or a sensor option given
    for a records model."""
    if options.model in SENSOR_MODELS:  # habitat and habitat_sites read sensor readings
        cfg = options.cfg
        return ReplayTarget(
            SENSOR_READINGS.name, HABITAT_OUTCOMES.name, lambda digest: Replayer(cfg, digest)
        )
    if options.sensor_options:
        flag = _FLAGS.get(
            options.sensor_options[0], "--" + options.sensor_options[0].replace("_", "-")
        )
        raise ConfigError(
            f"{flag} shapes sensor readings of the habitat models; {options.model} reads records"
        )
    contract, layout = _records_model(options)
    checked = RecordReplayer(contract, layout, "")  # ConfigError if it does not read records
    header = _header(options.file, options.encoding)
    if header is not None:
        checked.check_columns(header)
    names = model_topics(contract)  # its own three, and the shared dead-letter topic
    return ReplayTarget(
        contract.inputs[0].name,
        contract.outcomes.name,
        lambda digest: RecordReplayer(contract, layout, digest),
        create=tuple(names),
    )


def _records_model(options: TargetOptions) -> tuple[ModelContract, RecordLayout]:
    from lazarus.schemas.specfile import is_spec_file, read_spec_file

    cfg = options.cfg
    if is_spec_file(options.model):
        spec = read_spec_file(Path(options.model))
        data = spec.data
        layout = RecordLayout(
            label_column=data.label_column,
            key_column=data.key_column,
            time_column=data.time_column,
            na_values=tuple(data.na_values),  # as the spec says, even none
        )
        contract = spec.contract
    else:
        contract, layout = load_contract(options.model), RecordLayout()
    layout = replace(
        layout,
        label_column=cfg.label_column or layout.label_column,
        key_column=cfg.key_column or layout.key_column,
        time_column=cfg.time_column or layout.time_column,
        label_delay_s=cfg.label_delay_s,
    )
    return contract, layout


def _header(path: Path, encoding: str) -> list[str] | None:
    """A CSV's columns, from its first readable row; None for JSONL (rows may differ)."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return None
    for record in read_rows(path, encoding):
        if record.row is not None:
            return list(record.row)
    return None
