"""A challenger's spec file against its champion: what `lazarus spec check` compares.

Scorers score a challenger line in shadow with its champion's contract, and refuse every version
whose schema fingerprint differs from the champion's (`lazarus.scorer.shadow`). A spec file read
alone cannot know its champion, so `spec check` looks for it (`find_champion`): the built-in
model of that name, else a spec file in the challenger's folder whose `[model] name` is the
champion (`<name>.toml` first, then the folder's other .toml files; those that cannot be read
are passed over). Found, their fingerprints must be equal (`check_champion`); not found, the
check says so and leaves the comparison to the scorers.
"""

from __future__ import annotations

from pathlib import Path

from lazarus.errors import ConfigError
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.models import BUILTIN
from lazarus.schemas.specfile import SUFFIX, SpecFile, read_spec_file


def find_champion(spec: SpecFile) -> tuple[str, ModelContract] | None:
    """(where it was found, its contract) of the champion `spec` challenges; None when `spec`
    is no challenger or its champion is neither built in nor next to it."""
    name = spec.contract.lifecycle.challenger_of
    if name is None:
        return None
    if name in BUILTIN:
        return "built in", BUILTIN[name]
    folder = spec.path.parent
    named = folder / f"{name}{SUFFIX}"
    others = sorted(p for p in folder.glob(f"*{SUFFIX}") if p != named)
    for path in (named, *others):
        if not path.is_file() or _same_file(path, spec.path):
            continue
        try:
            other = read_spec_file(path)
        except ConfigError:
            continue
        if other.contract.name == name:
            return str(path), other.contract
    return None


def check_champion(spec: SpecFile) -> str:
    """What `spec check` adds to its line about the champion; `SpecFileError` on the line of
    `challenger_of` when the champion is found and scorers would refuse this model's versions."""
    name = spec.contract.lifecycle.challenger_of
    if name is None:
        return ""
    found = find_champion(spec)
    if found is None:
        return (
            f"; challenger of {name}, not found next to it: its fingerprint is compared by the "
            "scorers, which refuse a challenger whose fingerprint differs"
        )
    where, champion = found
    problem = mismatch(spec.contract, champion)
    if problem is not None:
        raise spec.error("lifecycle", "challenger_of", f"{name} ({where}): {problem}")
    return f"; challenger of {name} ({where}), same fingerprint"


def mismatch(own: ModelContract, champion: ModelContract) -> str | None:
    """Why scorers would refuse `own`'s versions as a challenger of `champion`, in words; None
    when they would not (same inputs, same fingerprint)."""
    if champion.lifecycle.challenger_of is not None:
        return f"it is itself a challenger of {champion.lifecycle.challenger_of}: challenge that"
    mine, theirs = [t.name for t in own.inputs], [t.name for t in champion.inputs]
    if mine != theirs:
        return (
            f"it reads {', '.join(theirs)}, this file {', '.join(mine)}: a spec file can "
            "challenge only a model of a spec file, whose records it reads"
        )
    if own.fingerprint == champion.fingerprint:
        return None
    columns = [_columns(c) for c in (own, champion)]
    if columns[0] != columns[1]:
        return (
            f"its features are {columns[1]}, this file's {columns[0]}: a challenger has the "
            "same [features] in the same order, and the same time_features"
        )
    return (
        f"its labels are {_labels(champion)}, this file's {_labels(own)}: a challenger has the "
        "same task, classes and positive class"
    )


def _labels(contract: ModelContract) -> str:
    """'a regression', 'classes ["absent", "present"] (positive "present")'."""
    labels = contract.labels
    if labels.classes is None:
        return "a regression"
    classes = "[" + ", ".join(map(repr, labels.classes)) + "]"
    return f"classes {classes}" + (f" (positive {labels.positive!r})" if labels.binary else "")


def _columns(contract: ModelContract) -> str:
    spec = getattr(contract.inputs[0].event, "FEATURE_SPEC", ())
    return "[" + ", ".join(spec) + "]"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False
