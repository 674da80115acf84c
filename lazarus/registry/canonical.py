"""Canonical pickles: the same model state gives the same bytes, however it was reached.

`pickle.dumps` writes what the objects *are*, and also how they happen to be shared in
memory: its memo is keyed by identity. Equal strings that are distinct objects are
written once each; equal strings that are one object are written once and then referred
to. That sharing depends on history, not on the state: a live learner's feature names
are the very strings its input rows brought (one object per decoded chunk) and its
pipeline's step names are the interned class names; after a restart they are the
strings a snapshot unpickled. The model is the same (same predictions, same weights),
the bytes and their sha256 are not. Also written is the state of an *unseeded* random
generator (river's `seed=None`, e.g. the spare one of `proba.Gaussian`): entropy from
the OS, different in every process.

`canonical_dumps` removes both:

1. an object whose `seed` is None pickles its `_rng` as `random.Random(0)` would
   (an unseeded generator's state is noise; river draws from it only to sample), and a set
   an object's attribute holds pickles with its items sorted (a set's order depends on how it
   grew and, for strings, on the hash seed: a tree classifier's set of string classes);
2. the pickle is rewritten so that every string is written once, at its first
   occurrence, and referred to after (memo by value, not identity), memo references
   renumbered to match. Frames (a read-ahead hint, optional) are left out, since
   where they fall depends on the bytes before.

What unpickles is equal to what `pickle.dumps` would give, strings shared by value.
Cost: one pass in Python over the opcodes (not the bytes they carry): about 1 ms per
10,000 opcodes; a trainer snapshot has a few thousand outside its flat join buffer.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import random
import struct
from typing import Any

PROTOCOL = 5

_PROTO, _FRAME, _MEMOIZE = 0x80, 0x95, 0x94
_BINGET, _LONG_BINGET = 0x68, 0x6A
_STRINGS = {0x8C: 1, 0x58: 4, 0x8D: 8}
"""SHORT_BINUNICODE, BINUNICODE, BINUNICODE8 -> the width of their length prefix."""
_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")
_ARG: dict[int, int] = {
    ord(op.code): (op.arg.n if op.arg is not None else 0) for op in pickletools.opcodes
}
"""Opcode -> its argument: n > 0 bytes, 0 none, -2/-3/-4/-5 a 1/4/4/8-byte length then the
bytes, -1 up to a newline (text opcodes, which protocol 4+ pickles do not use)."""
_PUTS = {0x71, 0x72}  # BINPUT, LONG_BINPUT: protocol 4+ pickles memoize with MEMOIZE
_LENGTH = {-2: (1, struct.Struct("<B")), -3: (4, struct.Struct("<i")), -4: (4, _U32), -5: (8, _U64)}


def canonical_dumps(obj: Any, protocol: int = PROTOCOL) -> bytes:
    """`obj` pickled (protocol 4 or 5) into bytes that depend only on its value.

    >>> a = {"x_leaf_wetness": 1.0, "y": ["x_leaf_wetness"]}
    >>> b = {"".join(["x_leaf", "_wetness"]): 1.0, "y": ["x_leaf_wetness"]}
    >>> pickle.dumps(a) == pickle.dumps(b), canonical_dumps(a) == canonical_dumps(b)
    (False, True)
    >>> pickle.loads(canonical_dumps(b)) == b
    True
    """
    if protocol < 4:
        raise ValueError("canonical pickles need protocol 4 or later (MEMOIZE)")
    buffer = io.BytesIO()
    _SeedlessRngPickler(buffer, protocol).dump(obj)
    return canonical(buffer.getvalue())


class _SeedlessRngPickler(pickle.Pickler):
    """Pickles an unseeded generator (`obj.seed is None`, `obj._rng`) in a fixed state, and a
    set held by an object's attribute with its items sorted."""

    def __init__(self, file: io.BytesIO, protocol: int) -> None:
        super().__init__(file, protocol)
        self._protocol = protocol
        self._sorted: dict[int, tuple[_SortedSet, Any]] = {}
        """id(set) -> its stand-in (and the set, kept alive so its id is not reused)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is _SortedSet:
            return obj.reduced
        state = getattr(obj, "__dict__", None)
        if not state or isinstance(obj, type):
            return NotImplemented
        changes: dict[str, Any] = {}
        if state.get("seed", 0) is None and isinstance(state.get("_rng"), random.Random):
            changes["_rng"] = random.Random(0)
        for name, value in state.items():
            if type(value) in (set, frozenset) and len(value) > 1:
                changes[name] = self._stand_in(value)
        if not changes:
            return NotImplemented
        reduced = obj.__reduce_ex__(self._protocol)
        if not (isinstance(reduced, tuple) and len(reduced) >= 3 and reduced[2] is state):
            return NotImplemented
        return (*reduced[:2], {**state, **changes}, *reduced[3:])

    def _stand_in(self, items: set[Any] | frozenset[Any]) -> _SortedSet:
        """One stand-in per set, so a set shared by two objects stays one set."""
        known = self._sorted.get(id(items))
        if known is None:
            known = self._sorted[id(items)] = (_SortedSet(items), items)
        return known[0]


class _SortedSet:
    """Pickles as its set with the items sorted: a set's iteration order depends on its
    history and, for strings, on the process's hash seed (a tree's set of string classes)."""

    def __init__(self, items: set[Any] | frozenset[Any]) -> None:
        try:
            ordered = sorted(items)
        except TypeError:  # items of types that do not compare
            ordered = sorted(items, key=lambda item: (type(item).__name__, repr(item)))
        self.reduced = (type(items), (ordered,))


def canonical(data: bytes) -> bytes:
    """The protocol 4+ pickle `data` with every string memoized by value and no frames.
    Raises ValueError for what protocol 4+ pickles do not hold (text opcodes, PUT)."""
    if len(data) < 2 or data[0] != _PROTO or data[1] < 4:
        raise ValueError("not a protocol 4+ pickle")
    out = bytearray()
    copied = 0  # data[copied:pos] is yet to be copied to out
    memo: list[int] = []  # the pickle's memo index -> ours
    n_ours = 0
    first: dict[bytes, int] = {}  # a string's UTF-8 -> our memo index of its first occurrence
    fresh: bytes | None = None  # a string first seen, just pushed: memoized next
    again: int | None = None  # our memo index of a repeated string just pushed (as a get)
    pos, end = 2, len(data)
    while pos < end:
        op = data[pos]
        if op == _MEMOIZE:
            if again is not None:  # the repeat's own entry stands for the first occurrence
                memo.append(again)
                out += data[copied:pos]
                copied = pos + 1
            else:
                memo.append(n_ours)
                if fresh is not None:
                    first[fresh] = n_ours
                n_ours += 1
            fresh, again = None, None
            pos += 1
            continue
        fresh, again = None, None
        width = _STRINGS.get(op)
        if width is not None:
            size = int.from_bytes(data[pos + 1 : pos + 1 + width], "little")
            start = pos + 1 + width
            value = data[start : start + size]
            known = first.get(value)
            if known is None:
                fresh = value
            else:
                out += data[copied:pos]
                out += _get(known)
                copied = start + size
                again = known
            pos = start + size
        elif op in (_BINGET, _LONG_BINGET):
            width = 1 if op == _BINGET else 4
            index = int.from_bytes(data[pos + 1 : pos + 1 + width], "little")
            out += data[copied:pos]
            out += _get(memo[index])
            pos += 1 + width
            copied = pos
        elif op == _FRAME:
            out += data[copied:pos]
            pos += 9
            copied = pos
        else:
            n = _ARG.get(op)
            if n is None or n == -1 or op in _PUTS:
                raise ValueError(f"opcode {op:#x} at {pos} is not of a protocol 4+ pickle")
            if n >= 0:
                pos += 1 + n
            else:
                width, length = _LENGTH[n]
                pos += 1 + width + length.unpack_from(data, pos + 1)[0]
    out += data[copied:]
    return bytes(out)


def _get(index: int) -> bytes:
    """The get pickle writes for memo entry `index`."""
    if index < 256:
        return bytes((_BINGET, index))
    return bytes((_LONG_BINGET,)) + _U32.pack(index)
