"""The built-in model contracts, the one table of models and their topics, and `load_contract`.

The trainer's recipes for these (`lazarus.trainer.specs`) are built on these contracts;
`lazarus up`, the consumer groups, the scorers and the quality monitor read this table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from lazarus.schemas.contract import ModelContract
from lazarus.schemas.errors import ConfigError
from lazarus.schemas.outcomes import OutcomeKind
from lazarus.schemas.per_key import PerKey
from lazarus.schemas.specfile import is_spec_file, read_spec_file
from lazarus.schemas.topics import (
    GENOMIC_SAMPLES,
    HABITAT_OUTCOMES,
    HABITAT_SCORES,
    HABITAT_SITES_SCORES,
    SENSOR_READINGS,
    VIABILITY_OUTCOMES,
    VIABILITY_SCORES,
)

HABITAT = ModelContract(
    name="habitat",
    inputs=(SENSOR_READINGS,),
    outcomes=HABITAT_OUTCOMES,
    outcome_kind=OutcomeKind.HABITAT_OCCUPANCY,
    metrics=("Accuracy", "LogLoss"),
    segment_fields=("site_id",),
    scores=HABITAT_SCORES,
    description="sensor readings -> habitat occupancy",
)

VIABILITY = ModelContract(
    name="viability",
    inputs=(GENOMIC_SAMPLES,),
    outcomes=VIABILITY_OUTCOMES,
    outcome_kind=OutcomeKind.VIABILITY,
    metrics=("Accuracy", "LogLoss"),
    segment_fields=("species",),
    scores=VIABILITY_SCORES,
    description="genomic samples -> viability",
)

HABITAT_SITES = ModelContract(
    name="habitat_sites",
    inputs=(SENSOR_READINGS,),
    outcomes=HABITAT_OUTCOMES,
    outcome_kind=OutcomeKind.HABITAT_OCCUPANCY,
    metrics=("Accuracy", "LogLoss"),
    scores=HABITAT_SITES_SCORES,
    per_key=PerKey("site_id", min_history=50),
    description="sensor readings -> habitat occupancy, one model per site (sharded trainers)",
)

BUILTIN: dict[str, ModelContract] = {c.name: c for c in (HABITAT, VIABILITY)}
"""The built-in models by name: one trainer, scorers and a quality monitor each under `lazarus up`."""
ON_REQUEST: dict[str, ModelContract] = {HABITAT_SITES.name: HABITAT_SITES}
"""Built-in models `lazarus up` does not start: run their roles by name (`lazarus train
habitat_sites`; any number of trainers of a per-key model share its partitions)."""


def load_contract(name: str) -> ModelContract:
    """The contract of a built-in model by name, of a model spec file (a path ending in
    .toml, `lazarus.schemas.specfile`), or of `module:factory`.

    The factory takes no argument and returns a `ModelContract`, or anything holding one
    as `.contract` (a trainer's `ModelSpec`). Raises `ConfigError` for an unknown name, a
    factory that cannot be imported, is not callable, raises, or returns something else,
    and `SpecFileError` (a ConfigError) for a spec file that cannot be read or is wrong.

    >>> load_contract("habitat").scores.name
    'habitat.scores.v1'
    """
    if name in BUILTIN:
        return BUILTIN[name]
    if name in ON_REQUEST:
        return ON_REQUEST[name]
    if is_spec_file(name):
        return read_spec_file(name).contract
    made = load_factory(name, "ModelContract")
    contract = getattr(made, "contract", made)
    if not isinstance(contract, ModelContract):
        raise ConfigError(
            f"{name} returned {type(made).__name__}, not a ModelSpec or a ModelContract"
        )
    return contract


def load_factory(name: str, what: str) -> object:
    """What `module:factory()` returns; `ConfigError` if it cannot be called (`what` names
    the result expected, for the message)."""
    factory = load_attr(name, what)
    try:
        return factory()
    except Exception as exc:
        raise ConfigError(f"{name}() raised {type(exc).__name__}: {exc}") from exc


def load_attr(name: str, what: str) -> Callable[[], object]:
    """The callable `module:factory` names; `ConfigError` if there is none."""
    if ":" not in name:
        raise ConfigError(
            f"unknown model {name!r}: built in are {', '.join([*BUILTIN, *ON_REQUEST])}, or give "
            "a spec file "
            "(.toml) or module:factory"
        )
    module, attr = name.split(":", 1)
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load model spec {name!r}: {exc}") from exc
    if not callable(factory):
        raise ConfigError(f"{name} is not callable: give a function that returns a {what}")
    return factory  # type: ignore[no-any-return]
