"""Opening a snapshot to serve it: every check, in order, before a byte is unpickled.

`open_model` is the one door a served model comes through. In order: the
signature over the manifest, the digest of the model part, that it is the
model and version it is stored as, that it learned at least `min_learned`
events (a model that learned nothing answers 0.5 to everything), that it was
trained on the features this code computes (schema fingerprint), and that
river's version matches. Only then is the model unpickled, with the allowlist
(`safe_pickle`) plus the manifest's `snapshot_modules`, each of which the caller's own
`LAZARUS_SNAPSHOT_MODULES` must allow (`load_model`, which `lazarus models verify` runs
too). The scorer wraps the result for its loop (`lazarus.scorer.serving`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from lazarus.errors import SnapshotRejected
from lazarus.registry.safe_pickle import SETTING, ModuleNotLoadable, safe_loads, under
from lazarus.registry.sealing import SealedSnapshot, environment, verify
from lazarus.registry.signing import Verifier
from lazarus.schemas.manifest import SnapshotManifest

log = logging.getLogger(__name__)


class NotLearnedEnough(SnapshotRejected):
    """A verified version that learned fewer events than its model's minimum."""

    hint = (
        "A trainer never makes such a version current: see `lazarus models history` "
        "for who moved it"
    )


def check_learned(manifest: SnapshotManifest, min_learned: int) -> None:
    """NotLearnedEnough if the version learned fewer than `min_learned` events."""
    if manifest.n_learned < min_learned:
        raise NotLearnedEnough(
            f"learned {manifest.n_learned} events, fewer than the {min_learned} a served version "
            "needs (the model spec's min_learned)"
        )


def snapshot_modules(manifest: SnapshotManifest, allowed: Iterable[str]) -> tuple[str, ...]:
    """The modules the snapshot's model may load from: its manifest's `snapshot_modules`, each
    of which `allowed` (this process's LAZARUS_SNAPSHOT_MODULES) must cover. Raises
    ModuleNotLoadable naming the first one it does not."""
    allowed = tuple(allowed)
    for module in manifest.snapshot_modules:
        if not under(module, allowed):
            raise ModuleNotLoadable(
                f"its trainer allows module {module} ({SETTING}), which this process's "
                f"{SETTING} does not: add {module} to it here to load this model"
            )
    return manifest.snapshot_modules


def load_model(sealed: SealedSnapshot, manifest: SnapshotManifest, allowed: Iterable[str]) -> Any:
    """The model part of `sealed`, whose `manifest` is verified, unpickled as scorers do: the
    allowlist plus the manifest's modules that `allowed` covers (`snapshot_modules`). Raises
    SnapshotRejected (ModuleNotLoadable for a module or global refused) with the reason."""
    modules = snapshot_modules(manifest, allowed)
    if not sealed.model:
        raise SnapshotRejected("snapshot has no separate model part (sealed by an older trainer)")
    return safe_loads(sealed.model, modules)


def open_model(
    sealed: SealedSnapshot,
    verifier: Verifier,
    *,
    model: str,
    version: int,
    fingerprint: str,
    min_learned: int = 1,
    modules: Iterable[str] = (),
) -> tuple[SnapshotManifest, Any]:
    """The verified manifest and the unpickled model of `sealed` (stored as `model` v`version`),
    if it passes every check above against the caller's schema `fingerprint` and `min_learned`,
    and loads with the caller's `modules` (its LAZARUS_SNAPSHOT_MODULES: `load_model`).
    Raises SnapshotRejected (NotLearnedEnough for too few events, ModuleNotLoadable for a
    module or global refused) with the reason; a python or lazarus version that differs is
    only logged."""
    manifest = verify(sealed, verifier, model=model, version=version, part="model")
    check_learned(manifest, min_learned)
    if manifest.schema_fingerprint != fingerprint:
        raise SnapshotRejected(
            f"trained on other features (schema fingerprint {manifest.schema_fingerprint[:12]}, "
            f"this code computes {fingerprint[:12]}): upgrade this scorer or retrain"
        )
    ours = environment()
    theirs = manifest.environment
    if theirs.get("river") != ours["river"]:
        raise SnapshotRejected(
            f"trained with river {theirs.get('river')}, this scorer has river {ours['river']}: "
            "pickled river models only load in the version that made them"
        )
    for name in ("python", "lazarus"):
        if theirs.get(name) != ours[name]:
            log.warning(
                "%s v%d was made with %s %s, this scorer runs %s (allowed; noted)",
                model,
                version,
                name,
                theirs.get(name),
                ours[name],
            )
    return manifest, load_model(sealed, manifest, modules)
