"""Where a model's state holds a non-finite number: a walk over its object graph.

River keeps state in plain Python objects (dicts of floats, `VectorDict`s,
deques, numpy arrays in some estimators). One extreme input can turn a running
variance into infinity and then every weight into NaN; `first_nonfinite(model)`
finds the first such number and names the path to it, for the dead letter's
reason. It visits every object once (cycles are fine) and is meant for
checkpoints, not for every event.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

_SCALARS = (str, bytes, bool, int, type(None), complex)
SENTINEL_CLASSES = frozenset({"river.stats.Min", "river.stats.Max", "river.stats.AbsMax"})
SENTINEL_MODULES = ("river.drift.",)
"""Where ±infinity means "nothing seen yet", not poison: running extremes start at ∓inf and
drift detectors reset to it. Anything inside them may hold it; NaN is poison everywhere."""
_LIMIT = 2_000_000
"""Objects visited at most: a walk never runs away on a pathological graph."""


def first_nonfinite(obj: Any) -> str | None:
    """The path to the first NaN or infinity reachable from `obj` (e.g.
    `StandardScaler.vars['x_leaf']: inf`), or None when every float is finite.

    >>> first_nonfinite({"a": [1.0, 2.0]}) is None
    True
    >>> first_nonfinite({"a": [1.0, float("inf")]})
    "['a'][1]: inf"
    """
    seen: set[int] = set()
    stack: list[tuple[Any, str, bool]] = [(obj, "", False)]
    while stack and len(seen) < _LIMIT:
        item, path, sentinels = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item) and not (sentinels and math.isinf(item)):
                return f"{path}: {item}"
            continue
        if isinstance(item, _SCALARS) or id(item) in seen:
            continue
        seen.add(id(item))
        bad = _array_nonfinite(item)
        if bad is not None:
            return f"{path}: {bad}"
        holds = sentinels or _holds_sentinels(type(item))
        children = [(child, where, holds) for child, where in _children(item, path)]
        stack.extend(reversed(children))  # depth first, in the object's own order
    return None


def _holds_sentinels(cls: type) -> bool:
    module = cls.__module__
    public = f"{module.rsplit('.', 1)[0]}.{cls.__qualname__}"  # river.stats.maximum.Max -> river.stats.Max
    return public in SENTINEL_CLASSES or module.startswith(SENTINEL_MODULES)


def _array_nonfinite(item: Any) -> str | None:
    """numpy arrays and scalars without importing numpy: their dtype says if they hold floats."""
    dtype = getattr(item, "dtype", None)
    if dtype is None or getattr(dtype, "kind", "") not in "fc" or not hasattr(item, "__array__"):
        return None
    import numpy as np  # river depends on numpy: present wherever such arrays exist

    values = np.asarray(item)
    finite = np.isfinite(values)
    if bool(finite.all()):
        return None
    index = np.unravel_index(int(np.argmin(finite)), values.shape) if values.shape else ()
    return f"{list(index)} = {values[index] if index else values}"


def _children(item: Any, path: str) -> Iterator[tuple[Any, str]]:
    if isinstance(item, dict):
        for key, value in item.items():
            if isinstance(key, float):
                yield key, f"{path}[key {key!r}]"
            yield value, f"{path}[{key!r}]"
        return
    if isinstance(item, list | tuple | set | frozenset):
        for i, value in enumerate(item):
            yield value, f"{path}[{i}]"
        return
    if hasattr(item, "dtype"):  # a numpy array of ints, strings or objects: nothing to walk
        return
    to_dict = getattr(item, "to_dict", None)
    if type(item).__name__ == "VectorDict" and callable(to_dict):  # river's C-level dict of floats
        yield to_dict(), f"{path}"
        return
    if type(item).__module__ == "collections" and isinstance(item, Iterable):  # deque, ...
        yield from ((value, f"{path}[{i}]") for i, value in enumerate(list(item)))
        return
    name = type(item).__name__
    state = getattr(item, "__dict__", None)
    if isinstance(state, dict):
        for key, value in state.items():
            yield value, f"{path}.{key}" if path else f"{name}.{key}"
    for slot in _slots(type(item)):
        if hasattr(item, slot):
            yield getattr(item, slot), f"{path}.{slot}" if path else f"{name}.{slot}"


def _slots(cls: type) -> list[str]:
    out: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        out.extend([slots] if isinstance(slots, str) else slots)
    return [s for s in out if s not in ("__dict__", "__weakref__")]
