"""The `[lifecycle]` table of a model spec file: its challengers, promotion, rollback and drift.

It reads into the contract's `Lifecycle` (`lazarus.schemas.lifecycle`). Every key is optional and
defaults to the dataclasses' own; `promotion = false` (no automatic promotion) and `guard = false`
(no automatic rollback) turn a policy off. A value out of range is refused with the message the
policy itself raises, on the line of the key at fault.

A challenger (`challenger_of = "survey"`) reads its champion's data: its records are the
champion's (`survey.records.v1`, the same record class, so the same schema fingerprint when the
columns, task and classes match) and its labels the champion's outcomes; only its name (its
registry line, its consumer groups) and its score topic are its own (`challenger_contract`).

>>> import tomllib
>>> from lazarus.schemas.spec_tables import Table, Where
>>> from lazarus.schemas.tomllines import KeyLines
>>> text = '[lifecycle]\\npromotion = false\\n[lifecycle.guard]\\nmargin = 0.05\\n'
>>> where = Where("tree.toml", KeyLines(text))
>>> life = read_lifecycle(Table(where, "lifecycle", tomllib.loads(text)["lifecycle"]), "tree")
>>> life.promotion, life.guard.margin, life.guard.min_events
(None, 0.05, 300)
>>> bad = '[lifecycle.drift]\\ndetector = "adwin"\\n'
>>> read_lifecycle(Table(Where("t.toml", KeyLines(bad)), "lifecycle",
...                      tomllib.loads(bad)["lifecycle"]), "t")
Traceback (most recent call last):
...
lazarus.schemas.spec_tables.SpecFileError: t.toml:2: [lifecycle.drift] detector: 'adwin' is not one of ADWIN, PageHinkley
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lazarus.schemas.contract import ModelContract
from lazarus.schemas.errors import ConfigError
from lazarus.schemas.lifecycle import DriftPolicy, GuardPolicy, Lifecycle, PromotionPolicy
from lazarus.schemas.records import MODEL_NAME
from lazarus.schemas.scores import Score
from lazarus.schemas.spec_tables import SpecFileError, Table, value_kind
from lazarus.schemas.topics import Topic

KEYS = ("challenger_of", "promotion", "guard", "drift")
"""The keys of `[lifecycle]`: the champion's name, then one sub-table per policy."""
POLICIES: dict[str, type[Any]] = {
    "promotion": PromotionPolicy,
    "guard": GuardPolicy,
    "drift": DriftPolicy,
}
"""Each sub-table and the policy it reads into (its keys are the policy's fields)."""
_OPTIONAL = ("promotion", "guard")
"""The policies that `= false` turns off."""
_ABSENT: Any = object()


def read_lifecycle(table: Table, model: str) -> Lifecycle:
    """The `Lifecycle` of the `[lifecycle]` table of model `model`'s spec file;
    `SpecFileError` naming the line and key of the first thing wrong."""
    champion = table.text("challenger_of", None)
    if champion is not None:
        if champion == model:
            raise table.error(
                "challenger_of", f"{champion!r} is this model: it cannot challenge itself"
            )
        if not MODEL_NAME.match(champion):
            raise table.error(
                "challenger_of",
                f"{champion!r} is not a model name (lower-case letters, digits and _, starting "
                "with a letter): name the champion as its [model] name says, not its file",
            )
    policies = {name: _policy(table, name, cls) for name, cls in POLICIES.items()}
    table.done()
    return Lifecycle(challenger_of=champion, **policies)


def challenger_contract(
    contract: ModelContract, name: str, lifecycle: Lifecycle, description: str = ""
) -> ModelContract:
    """`contract` with `lifecycle`. For a challenger, `contract` is built under the champion's
    name (so over the champion's records and outcomes) and becomes model `name`'s, with its own
    score topic and `description` (by default: "NAME: challenger of <the champion's>")."""
    if lifecycle.challenger_of is None:
        return dataclasses.replace(contract, lifecycle=lifecycle)
    return dataclasses.replace(
        contract,
        name=name,
        scores=Topic(f"{name}.scores.v1", Score, f"scores of {name}"),
        description=description or f"{name}: challenger of {contract.description}",
        lifecycle=lifecycle,
    )


def _policy(parent: Table, name: str, cls: type[Any]) -> Any:
    """The policy of sub-table `name` of `[lifecycle]`: absent or `true` gives the defaults,
    `false` None (only promotion and guard), a table its keys over the defaults."""
    value = parent.get(name, {})
    if isinstance(value, bool) and name in _OPTIONAL:
        return cls() if value else None
    if not isinstance(value, dict):
        what = "a table or true/false" if name in _OPTIONAL else "a table"
        raise parent.error(name, f"must be {what}, not {value_kind(value)}")
    fields = {f.name: f.default for f in dataclasses.fields(cls)}
    table = Table(parent.where, f"{parent.name}.{name}", value, tuple(fields))
    given = {}
    for key, default in fields.items():
        read = _read(table, key, default)
        if read is not _ABSENT:
            given[key] = read
    table.done()
    try:
        return cls(**given)
    except ConfigError as exc:
        raise _at_fault(table, name, cls, given, exc) from None


def _read(table: Table, key: str, default: Any) -> Any:
    """The value of `key`, typed as its default is (`_ABSENT` when not written)."""
    if key not in table.values:
        table.get(key, None)  # asked for: `done()` does not call it unknown
        return _ABSENT
    if isinstance(default, int):
        return table.integer(key, default, minimum=None)
    if isinstance(default, float):
        return table.real(key, default)
    return table.text(key, default)


def _at_fault(
    table: Table, what: str, cls: type[Any], given: dict[str, Any], exc: ConfigError
) -> SpecFileError:
    """The policy's `ConfigError` as the spec file's, on the line of the key at fault: a written
    key without which the policy holds (of several, the first the message names), else the first
    written key refused on its own. The message loses its policy's name, and the key's when it
    names no other field."""
    message = str(exc)
    faults = [k for k in given if _fails(cls, {o: v for o, v in given.items() if o != k}) is None]
    if not faults:  # two mistakes: the first one alone
        alone = [(k, _fails(cls, {k: v})) for k, v in given.items()]
        faults, message = next((([k], str(e)) for k, e in alone if e is not None), ([], message))
    words = message.removeprefix(f"{what}: ").split(" ")
    if not faults:
        return table.error(None, " ".join(words))
    key = next((w for w in words if w in faults), faults[0])
    fields = {f.name for f in dataclasses.fields(cls)}
    if words[0] == key and not fields & set(words[1:]):
        words = words[1:]
    return table.error(key, " ".join(words))


def _fails(cls: type[Any], values: dict[str, Any]) -> ConfigError | None:
    """The `ConfigError` of `cls(**values)`; None when it holds."""
    try:
        cls(**values)
    except ConfigError as exc:
        return exc
    return None
