"""Refuse early what scorers would refuse: a model the restricted unpickler cannot load.

Scorers unpickle a snapshot's model with the allowlist plus `LAZARUS_SNAPSHOT_MODULES`
(`lazarus.registry.safe_pickle`); a restarted trainer unpickles its state the same way.
A model built from a class or function of an unlisted module trains well, and every
scorer refuses every version of it. So the trainer test-loads each snapshot's model
bytes with that loader before it publishes (`SnapshotPublisher.publish`), and once at
start with a fresh learner (`check_fresh`), so the user hears it in the first second,
not after the first snapshot.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable

from lazarus.errors import ConfigError, SnapshotRejected
from lazarus.registry.canonical import canonical_dumps
from lazarus.registry.safe_pickle import safe_loads
from lazarus.registry.sealing import PICKLE_PROTOCOL
from lazarus.trainer.learner import Learner
from lazarus.trainer.specs import ModelSpec


class UnservableModel(ConfigError):
    """Scorers (or a restarted trainer) would refuse this model's snapshots: it refers to a
    global outside the allowlist and LAZARUS_SNAPSHOT_MODULES. The trainer stops (exit 2)."""


def check_model_bytes(data: bytes, modules: Iterable[str], *, what: str) -> None:
    """UnservableModel, starting with `what` ("cannot publish habitat v3"), if the pickled
    model `data` does not load as scorers load it with `modules` (the trainer's
    LAZARUS_SNAPSHOT_MODULES, which the manifest records)."""
    try:
        safe_loads(data, modules)
    except SnapshotRejected as exc:
        raise UnservableModel(f"{what}: scorers would refuse its model: {exc}") from exc


def check_fresh(spec: ModelSpec, modules: Iterable[str]) -> None:
    """Build `spec`'s learner fresh and test-load its model as scorers would and its whole
    state as a restarted trainer would, with `modules`. Raises UnservableModel with the
    global refused and the setting to change."""
    modules = tuple(modules)
    state = Learner(spec).state
    check_model_bytes(
        canonical_dumps(state.model, PICKLE_PROTOCOL), modules, what=f"cannot train {spec.name}"
    )
    try:
        safe_loads(pickle.dumps(state, protocol=PICKLE_PROTOCOL), modules)
    except SnapshotRejected as exc:
        raise UnservableModel(
            f"cannot train {spec.name}: a restarted trainer would refuse its state: {exc}"
        ) from exc
