"""One error model: every exception class Lazarus defines derives from `LazarusError` and is
drawn in the tree of `lazarus.errors`. Read from the source with `ast`, so a module that needs
an optional install is checked too."""

from __future__ import annotations

import ast
import builtins

import lazarus.errors
from tests.unit.test_dependency_rule import ROOT, sources

OUTSIDE_THE_TREE = {"Aborted"}
"""lazarus.testing's simulated crash: no `except LazarusError` may catch it (drawn as such)."""

BUILTIN_ERRORS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def exception_classes() -> dict[str, str]:
    """Exception class name -> `file:line` of its definition, for every class in the source
    whose bases (followed by name through the source) reach a built-in exception."""
    bases: dict[str, set[str]] = {}
    where: dict[str, str] = {}
    for path in sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                names = {_name(b) for b in node.bases}
                bases.setdefault(node.name, set()).update(names)
                where[node.name] = f"{path.relative_to(ROOT)}:{node.lineno}"

    def is_exception(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in BUILTIN_ERRORS:
            return True
        if name in seen:
            return False
        return any(is_exception(b, seen | {name}) for b in bases.get(name, ()))

    return {name: where[name] for name in bases if is_exception(name)}


def reaches_root(name: str, bases: dict[str, set[str]]) -> bool:
    return name == "LazarusError" or any(reaches_root(b, bases) for b in bases.get(name, ()))


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def class_bases() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                out.setdefault(node.name, set()).update(_name(b) for b in node.bases)
    return out


def test_every_exception_derives_from_lazarus_error() -> None:
    bases = class_bases()
    outside = {
        name: at
        for name, at in exception_classes().items()
        if not reaches_root(name, bases) and name not in OUTSIDE_THE_TREE
    }
    assert not outside, f"not derived from LazarusError: {outside}"


def test_every_exception_is_drawn_in_the_tree() -> None:
    drawing = lazarus.errors.__doc__ or ""
    missing = {
        name: at
        for name, at in exception_classes().items()
        if name != "LazarusError" and f"── {name} " not in drawing and f"`{name}`" not in drawing
    }
    assert not missing, f"not drawn in lazarus/errors.py: {missing}"


def test_the_root_is_one_class_wherever_it_is_imported_from() -> None:
    from lazarus.schemas import errors as contract_errors

    assert lazarus.errors.LazarusError is contract_errors.LazarusError
    assert lazarus.errors.ConfigError is contract_errors.ConfigError
