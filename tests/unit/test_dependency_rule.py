"""The dependency rule, read from the source with `ast` (nothing is imported):

- `lazarus.schemas` imports nothing of Lazarus outside `lazarus.schemas`;
- the shared package (everything in lazarus/ that is not a role folder link) imports no role;
- a role (trainer, scorer, producers, quality) imports no other role.

Every import counts, wherever it is (inside a function, under TYPE_CHECKING): a lazy import
still ties the packages together.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("trainer", "scorer", "producers", "quality")
CONTRACT = "schemas"
TOP_LEVEL = (*ROLES, CONTRACT)
"""The folders at the top of the repository, installed as `lazarus.<name>`."""


def package_of(path: Path) -> str:
    """`lazarus.<folder>` for a file in a top-level folder, else `lazarus` (the shared part)."""
    top = path.relative_to(ROOT).parts[0]
    return f"lazarus.{top}" if top in TOP_LEVEL else "lazarus"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] != "lazarus":
        parts.insert(0, "lazarus")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> Iterator[Path]:
    for folder in (*TOP_LEVEL, "lazarus"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            # lazarus/<role> are links to the top-level folders: read each file once.
            rel = path.relative_to(ROOT).parts
            if rel[0] == "lazarus" and len(rel) > 2 and rel[1] in TOP_LEVEL:
                continue
            yield path


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]  # the package the module is in
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            if module == "lazarus":  # `from lazarus import trainer` imports the role
                for alias in node.names:
                    yield node.lineno, f"{module}.{alias.name}"


def owner(module: str) -> str | None:
    """The Lazarus package a module name belongs to (`lazarus.trainer`, `lazarus`), or None."""
    parts = module.split(".")
    if parts[0] in TOP_LEVEL:  # the top-level folder name: never the import name
        return f"lazarus.{parts[0]}"
    if parts[0] != "lazarus":
        return None
    if len(parts) > 1 and parts[1] in TOP_LEVEL:
        return f"lazarus.{parts[1]}"
    return "lazarus"


def allowed(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    if importer == f"lazarus.{CONTRACT}":
        return False  # the contract stands alone
    if importer == "lazarus":
        return imported == f"lazarus.{CONTRACT}"  # shared code may read the contract only
    return imported in ("lazarus", f"lazarus.{CONTRACT}")  # a role: shared code and contract


def violations() -> list[str]:
    found = []
    for path in sources():
        importer = package_of(path)
        for line, module in imports(path):
            imported = owner(module)
            top = module.split(".")[0]
            if imported is None or (imported == "lazarus" and module == "lazarus"):
                continue
            if top in TOP_LEVEL:
                found.append(f"{path.relative_to(ROOT)}:{line}: imports top-level {module}")
            elif not allowed(importer, imported):
                found.append(f"{path.relative_to(ROOT)}:{line}: {importer} imports {module}")
    return sorted(set(found))


def test_every_package_imports_only_what_the_rule_allows() -> None:
    broken = violations()
    assert not broken, "the dependency rule is broken:\n" + "\n".join(broken)


@pytest.mark.parametrize(
    ("importer", "imported", "ok"),
    [
        ("lazarus.schemas", "lazarus", False),
        ("lazarus.schemas", "lazarus.trainer", False),
        ("lazarus", "lazarus.schemas", True),
        ("lazarus", "lazarus.scorer", False),
        ("lazarus.scorer", "lazarus", True),
        ("lazarus.scorer", "lazarus.schemas", True),
        ("lazarus.scorer", "lazarus.trainer", False),
        ("lazarus.quality", "lazarus.scorer", False),
    ],
)
def test_the_rule(importer: str, imported: str, ok: bool) -> None:
    assert allowed(importer, imported) is ok


def test_imports_are_read_with_relative_ones_resolved() -> None:
    assert owner("lazarus.trainer.app") == "lazarus.trainer"
    assert owner("lazarus.kafka.config") == "lazarus"
    assert owner("trainer.app") == "lazarus.trainer"
    assert owner("river.linear_model") is None
    assert {m for _, m in imports(ROOT / "trainer" / "decoding.py")} >= {"lazarus.trainer.merge"}
