"""How the delayed-label join keeps a feature set: one bytes object per pending entry.

An entry is `HEADER` (feature time in ms, origin, layout id), the feature values, then the
subject in UTF-8. The names (and segment) an entry shares with others are its layout, kept once
in the join. Numbers are packed as doubles (`packing(n)`: all numbers, the usual case);
categorical features (strings) follow them (`pack_mixed`), each as a 4-byte length and its
UTF-8 bytes, their places marked among the layout's names (`TEXT`). `unpack_mixed` reads the latter.
"""

from __future__ import annotations

import functools
import struct
from typing import Any

HEADER = struct.Struct("<qqI")
"""Every packed entry starts with the feature time (ms), the origin and its layout id."""
SEP = "\x1f"
"""Joins the pending entries' event ids in a snapshot (ids never contain it)."""
TEXT = "\x1e"
"""Marks a categorical feature (a string value) among a layout's names. Its values follow the
numbers, each as a 4-byte length and its UTF-8 bytes."""
LENGTH = struct.Struct("<I")


@functools.cache
def packing(n_features: int) -> struct.Struct:
    return struct.Struct(f"<qqI{n_features}d")


def is_mixed(names: tuple[str, ...]) -> bool:
    """Does a layout with `names` hold strings (`pack_mixed`)?"""
    return any(n[:1] == TEXT for n in names)


def unpack_mixed(packed: bytes, names: tuple[str, ...]) -> tuple[int, int, dict[str, Any], int]:
    """(time ms, origin, features, where the subject starts) of an entry `pack_mixed` packed,
    whose layout has `names`. (An all-numbers entry is `packing(len(names))`, then the
    subject: the join reads those itself, on its hot path.)"""
    texts = sum(1 for n in names if n[:1] == TEXT)
    numbers = packing(len(names) - texts)
    time_ms, origin, _, *values = numbers.unpack_from(packed)
    at = numbers.size
    strings = []
    for _ in range(texts):
        (n,) = LENGTH.unpack_from(packed, at)
        at += LENGTH.size
        strings.append(packed[at : at + n].decode())
        at += n
    nums, strs = iter(values), iter(strings)
    x = {
        (n[1:] if n[:1] == TEXT else n): (next(strs) if n[:1] == TEXT else next(nums))
        for n in names
    }
    return time_ms, origin, x, at


def pack_mixed(x: dict[str, Any], layout: int, time_ms: int, origin: int) -> bytes:
    """An entry whose features include strings (categories); its layout's names are
    `mixed_names(x)`."""
    numbers = [v for v in x.values() if not isinstance(v, str)]
    texts = [v.encode() for v in x.values() if isinstance(v, str)]
    head = packing(len(numbers)).pack(time_ms, origin, layout, *numbers)
    return head + b"".join(LENGTH.pack(len(t)) + t for t in texts)


def mixed_names(x: dict[str, Any]) -> tuple[str, ...]:
    """The layout names of features with strings among them: theirs marked with `TEXT`."""
    return tuple(TEXT + n if isinstance(v, str) else n for n, v in x.items())
