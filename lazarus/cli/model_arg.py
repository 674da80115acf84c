"""One way to name a model on the command line: a built-in name, a spec file, or an import path.

`train`, `score` and `quality` load the model the argument names; the `models` commands read
the registry, which knows a model by its name, so they resolve a spec file (`survey.toml`) or
an import path (`mypkg.models:make_spec`) to its contract's name and keep the contract for
what else they check (its `min_learned`). A plain name is taken as it is: the registry may hold
models this process has no spec for.
"""

from __future__ import annotations

import click

from lazarus.schemas.contract import ModelContract
from lazarus.schemas.models import load_contract
from lazarus.schemas.specfile import is_spec_file

CONTRACT_KEY = "lazarus.model_contract"
"""Where `resolve_model` leaves the contract in the click context's `meta`."""


def names_a_spec(arg: str) -> bool:
    """Whether `arg` is a spec file or an import path rather than a model's name.

    >>> names_a_spec("survey.toml"), names_a_spec("pkg.models:spec"), names_a_spec("habitat")
    (True, True, False)
    """
    return is_spec_file(arg) or ":" in arg


def resolve_model(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Click callback of a MODEL argument: the model's name (a spec file or import path
    loaded for it, `ConfigError` if it cannot be), its contract kept in `ctx.meta`."""
    if not names_a_spec(value):
        return value
    contract = load_contract(value)
    ctx.meta[CONTRACT_KEY] = contract
    return contract.name


def given_contract() -> ModelContract | None:
    """The contract the current command's MODEL argument loaded, if it named a spec."""
    ctx = click.get_current_context(silent=True)
    found = ctx.meta.get(CONTRACT_KEY) if ctx is not None else None
    return found if isinstance(found, ModelContract) else None
