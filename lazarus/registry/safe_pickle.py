"""A restricted unpickler: model snapshots may only name what a model is made of.

A pickle is code. Snapshots are verified (signature, digest) before they reach
this module; this is the second wall. `find_class` admits exact stdlib and
numpy names, and *classes* (never functions) from river and our own state
modules. The operator may add module prefixes of their own
(`LAZARUS_SNAPSHOT_MODULES`, passed here as `modules`): from those, classes and
functions are admitted, but only ones *defined* there (`obj.__module__`), so a
re-export (`from os import system`) stays refused; `DENIED_MODULES` can never be
added. Anything else raises SnapshotRejected naming the global. Snapshots
pickled before Lazarus had one import name (`trainer.learner.LearnerState`)
still load: `LEGACY_PREFIXES` reads those modules under `lazarus.`.
"""

from __future__ import annotations

import io
import keyword
import pickle
import re
import types
from collections.abc import Iterable
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

DENIED_MODULES = (
    # the interpreter, processes and raw memory
    "builtins", "__main__", "sys", "os", "posix", "nt", "subprocess", "signal", "ctypes",
    # imports and code objects, and attribute or method calls by name
    "importlib", "runpy", "code", "types", "inspect", "operator",
    # unpickling inside the unpickle
    "pickle", "_pickle", "copyreg", "marshal", "shelve",
    # files and the network
    "io", "pathlib", "shutil", "tempfile", "socket", "multiprocessing", "threading",
    "asyncio", "urllib", "http", "ftplib", "smtplib", "webbrowser", "requests",
    # libraries whose functions load files or unpickle: a model is your code, never theirs
    "pandas", "scipy", "sklearn", "joblib", "dill", "cloudpickle", "torch", "tensorflow",
    "keras", "yaml", "h5py", "pyarrow", "polars",
    # numpy (numpy.load unpickles) and Lazarus: their few model names are admitted above
    "numpy", "lazarus", *DENIED_PREFIXES,
)  # fmt: skip
"""Modules that `LAZARUS_SNAPSHOT_MODULES` may never name, nor anything under them: they run
code, import, unpickle, touch files or the network, or reach our own processes. The setting is
for your own package; a listed library would admit every function it defines (pandas'
`read_pickle` among them). (The numpy
and Lazarus names a model needs are admitted above, one by one.)"""

SETTING = "LAZARUS_SNAPSHOT_MODULES"
"""The setting that adds module prefixes (`lazarus.settings.Settings.snapshot_modules`)."""

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class ModuleNotLoadable(SnapshotRejected):
    """A snapshot refers to a module this process may not (or cannot) load from."""

    hint = (
        f"Give the trainer and this process the same {SETTING}, with those modules "
        "installed in both"
    )


def under(module: str, prefixes: Iterable[str]) -> bool:
    """True when `module` is one of `prefixes` or inside one, by whole dotted parts.

    >>> under("mypkg.models.trees", ["mypkg.models"]), under("mypkg.modelsx", ["mypkg.models"])
    (True, False)
    """
    return any(module == p or module.startswith(f"{p}.") for p in prefixes)


def module_prefix_problem(prefix: str) -> str | None:
    """Why `prefix` cannot be one of `LAZARUS_SNAPSHOT_MODULES`, or None.

    >>> module_prefix_problem("mypkg.models") is None
    True
    >>> module_prefix_problem("os.path")
    "'os.path' is under os, which snapshots may never reference"
    """
    if not _DOTTED.fullmatch(prefix) or any(keyword.iskeyword(p) for p in prefix.split(".")):
        return f"{prefix!r} is not a dotted module name (e.g. mypkg.models)"
    for denied in DENIED_MODULES:
        if prefix == denied:
            return f"{prefix!r} is denied: snapshots may never reference it"
        if under(prefix, [denied]):
            return f"{prefix!r} is under {denied}, which snapshots may never reference"
    return None


def parse_modules(value: str | Iterable[str]) -> tuple[str, ...]:
    """Module prefixes from a comma-separated text (or an iterable), stripped, without
    empties or repeats, in order. Unchecked: see `module_prefix_problem`.

    >>> parse_modules(" mypkg.models, other.pkg,,mypkg.models ")
    ('mypkg.models', 'other.pkg')
    """
    parts = value.split(",") if isinstance(value, str) else value
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


class SafeUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose `find_class` admits only the allowlist above, plus the classes
    and functions defined in `modules` (module prefixes, e.g. `("mypkg.models",)`)."""

    def __init__(self, file: io.BytesIO, *, modules: Iterable[str] = ()) -> None:
        super().__init__(file)
        self.modules = tuple(m for m in modules if module_prefix_problem(m) is None)

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith(LEGACY_PREFIXES) and not under(module, self.modules):
            module = f"lazarus.{module}"  # (a package of yours named `trainer` stays yours)
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
            if under(module, self.modules) and not under(module, DENIED_MODULES):
                return self._own(module, name)
        raise ModuleNotLoadable(
            f"snapshot refers to {module}.{name}, which is not on the allowlist of model "
            f"classes: if it is your own code, add its module to {SETTING}"
        )

    def _own(self, module: str, name: str) -> Any:
        """A class or function that `module`, one of the operator's modules, defines itself."""
        try:
            found = super().find_class(module, name)
        except ImportError as exc:
            raise ModuleNotLoadable(
                f"snapshot refers to {module}.{name}, but {module} does not import here "
                f"({exc}): install it where this process runs"
            ) from exc
        if not isinstance(found, type | types.FunctionType | types.BuiltinFunctionType):
            raise ModuleNotLoadable(
                f"snapshot refers to {module}.{name}, a {type(found).__name__}: only classes "
                f"and functions load from {SETTING}"
            )
        home = getattr(found, "__module__", None) or "an unknown module"
        if not under(home, self.modules) or under(home, DENIED_MODULES):
            raise ModuleNotLoadable(
                f"snapshot refers to {module}.{name}, which is defined in {home}, not in "
                f"{SETTING}: only what those modules define loads, never what they import"
            )
        return found


def safe_loads(data: bytes, modules: Iterable[str] = ()) -> Any:
    """Unpickle with the allowlist, plus what `modules` (module prefixes, as in
    `LAZARUS_SNAPSHOT_MODULES`) define; any other global raises SnapshotRejected
    (ModuleNotLoadable, naming the global)."""
    try:
        return SafeUnpickler(io.BytesIO(data), modules=modules).load()
    except SnapshotRejected:
        raise
    except Exception as exc:
        raise SnapshotRejected(f"snapshot does not unpickle: {type(exc).__name__}: {exc}") from exc
