"""A restricted unpickler: model snapshots may only name what a model is made of.

A pickle is code. Snapshots are verified (signature, digest) before they reach
this module; this is the second wall. `find_class` admits exact stdlib and
numpy names, and *classes* (never functions) from river and our own state
modules; anything else raises SnapshotRejected naming the global. Snapshots
pickled before Lazarus had one import name (`trainer.learner.LearnerState`)
still load: `LEGACY_PREFIXES` reads those modules under `lazarus.`.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from lazarus.errors import SnapshotRejected

ALLOWED_GLOBALS = frozenset(
    {
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "complex"),
        ("builtins", "bool"),
        ("builtins", "str"),
        ("builtins", "bytes"),
        ("builtins", "bytearray"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "dict"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "slice"),
        ("builtins", "range"),
        ("builtins", "object"),
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("collections", "deque"),
        ("collections", "Counter"),
        ("functools", "partial"),
        ("copyreg", "_reconstructor"),
        ("array", "array"),
        ("array", "_array_reconstructor"),
        ("random", "Random"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("math", "inf"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("numpy.random._pickle", "__generator_ctor"),
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.random._pcg64", "PCG64"),
        ("numpy.random._mt19937", "MT19937"),
        ("numpy.random._philox", "Philox"),
        ("numpy.random._sfc64", "SFC64"),
        ("numpy.random._generator", "Generator"),
        ("numpy.random.mtrand", "RandomState"),
        ("numpy.random.bit_generator", "SeedSequence"),
        ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    }
)
"""Exact (module, name) pairs allowed whatever they are."""

CLASS_PREFIXES = ("river.", "lazarus.trainer.", "lazarus.schemas.")
"""Modules whose classes (only classes) may appear: models, metrics, our state."""

LEGACY_PREFIXES = ("trainer.", "schemas.")
"""Where our state classes lived before Lazarus had one import name: read as `lazarus.<that>`."""

DENIED_PREFIXES = ("river.datasets", "river.stream", "river.api")
"""Parts of river that read files or the network: never in a snapshot."""


class SafeUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose `find_class` admits only the allowlist above."""

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith(LEGACY_PREFIXES):
            module = f"lazarus.{module}"
        # From protocol 4 a dotted name walks attributes (`river.stats.cov` + `np.f2py.subprocess.Popen`
        # reaches Popen): only plain names are looked up, and a class must live where it claims to.
        if "." not in name:
            if (module, name) in ALLOWED_GLOBALS:
                return super().find_class(module, name)
            if module.startswith(CLASS_PREFIXES) and not module.startswith(DENIED_PREFIXES):
                found = super().find_class(module, name)
                home = getattr(found, "__module__", "") or ""
                if (
                    isinstance(found, type)
                    and home.startswith(CLASS_PREFIXES)
                    and not home.startswith(DENIED_PREFIXES)
                ):
                    return found
        raise SnapshotRejected(
            f"snapshot refers to {module}.{name}, which is not on the allowlist of model classes"
        )


def safe_loads(data: bytes) -> Any:
    """Unpickle with the allowlist; any other global raises SnapshotRejected."""
    try:
        return SafeUnpickler(io.BytesIO(data)).load()
    except SnapshotRejected:
        raise
    except Exception as exc:
        raise SnapshotRejected(f"snapshot does not unpickle: {type(exc).__name__}: {exc}") from exc
