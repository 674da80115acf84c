"""The metric names Lazarus exports, read from the source with `ast` (nothing is run).

Every role builds its samples with `Sample("name", "kind", ...)`, `counted("name", ...)` (a
counter) or `RoleMetrics.histogram("name", ...)` (lazarus/metrics.py). The names exported are
those with the `lazarus_` prefix and the suffixes Prometheus adds: `_total` for a counter,
`_bucket`, `_sum` and `_count` for a histogram. A `Sample(name, ...)` whose name is a variable
takes its values from the `for` loop over a literal that binds it (quality's served metrics);
a name that cannot be resolved so is an error, never silently left out.

Also: `names_in(text)`, every `lazarus_...` name written in a rules file or a dashboard.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("lazarus", "trainer", "scorer", "quality", "producers")
LINKS = ("schemas", "trainer", "scorer", "quality", "producers")
"""lazarus/<name> are links to the top-level folders: each file is read once."""

NAME = re.compile(r"\blazarus_[a-z0-9_]*[a-z0-9]")


def sources() -> Iterator[Path]:
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).parts
            if rel[0] == "lazarus" and len(rel) > 2 and rel[1] in LINKS:
                continue
            yield path


def _callee(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _text(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _loop_values(tree: ast.AST) -> dict[str, set[str]]:
    """Variable -> the strings a `for` over a literal binds it to (`for name, doc in (("a",
    ...), ...)` binds `name` to "a", ...)."""
    bound: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.For) or not isinstance(node.iter, ast.Tuple | ast.List):
            continue
        target = node.target
        for item in node.iter.elts:
            if isinstance(target, ast.Name):
                var, value = target.id, item
            elif isinstance(target, ast.Tuple) and isinstance(target.elts[0], ast.Name):
                if not isinstance(item, ast.Tuple):
                    continue
                var, value = target.elts[0].id, item.elts[0]
            else:
                continue
            text = _text(value)
            if text is not None:
                bound.setdefault(var, set()).add(text)
    return bound


def _passed_through(tree: ast.AST) -> set[int]:
    """The calls whose metric name is a parameter of the function around them: helpers such as
    `counted(name, ...)`, whose callers are scanned instead."""
    calls: set[int] = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        params = {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in params
            ):
                calls.add(id(node))
    return calls


def _declared(path: Path) -> Iterator[tuple[str, str]]:
    """(name without prefix, kind) of every metric `path` declares."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    loops = _loop_values(tree)
    passed = _passed_through(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args or id(node) in passed:
            continue
        callee = _callee(node)
        kind = {"counted": "counter", "histogram": "histogram"}.get(callee or "")
        if callee == "Sample":
            kind = _text(node.args[1]) if len(node.args) > 1 else None
            if kind not in ("counter", "gauge"):
                continue  # not lazarus.metrics.Sample (prometheus_client has its own)
        if kind is None:
            continue
        first = node.args[0]
        names = {_text(first)} if _text(first) else loops.get(getattr(first, "id", ""), set())
        if not names:
            raise AssertionError(
                f"{path.relative_to(ROOT)}:{node.lineno}: a metric name this scan cannot read; "
                "name it with a literal (or a for loop over literals)"
            )
        for name in names:
            yield str(name), kind


def exported() -> set[str]:
    """Every series name Lazarus serves at /metrics (`lazarus_events_in_total`, ...)."""
    out: set[str] = set()
    for path in sources():
        for name, kind in _declared(path):
            full = f"lazarus_{name}"
            if kind == "counter":
                out.add(f"{full}_total")
            elif kind == "histogram":
                out |= {f"{full}_bucket", f"{full}_sum", f"{full}_count"}
            else:
                out.add(full)
    return out


def names_in(text: str) -> set[str]:
    """Every `lazarus_...` metric name written in `text`.

    >>> sorted(names_in('rate(lazarus_events_in_total{role="x"}[5m]) # lazarus_learned_total'))
    ['lazarus_events_in_total', 'lazarus_learned_total']
    """
    return set(NAME.findall(text))
