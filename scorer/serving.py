"""The model a scorer serves: a verified snapshot, its lineage, and how to predict with it.

`open_snapshot` is the one door a snapshot comes through. In order, before any
byte is unpickled: the signature over the manifest, the digest of the model
part, that it is the model and version it is stored as, that it was trained on
the features this code computes (schema fingerprint), that river's version
matches, and that it has learned at least the spec's `min_learned` events (a
model that learned nothing answers 0.5 to everything). Only then is the model
unpickled, with the allowlist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from lazarus.errors import SnapshotRejected
from lazarus.safepickle import safe_loads
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.scorer.fastpath import Predictor, predictor_for
from lazarus.scorer.render import ScoreRenderer
from lazarus.signing import Verifier
from lazarus.snapshot import SealedSnapshot, environment, verify

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


@dataclass(frozen=True)
class ServingModel:
    manifest: SnapshotManifest
    model: Any
    predict: Predictor
    renderer: ScoreRenderer

    @property
    def version(self) -> int:
        return self.manifest.version


def open_snapshot(
    sealed: SealedSnapshot,
    verifier: Verifier,
    *,
    model: str,
    version: int,
    fingerprint: str,
    task: str,
    min_learned: int = 1,
) -> ServingModel:
    """Verify, check compatibility, unpickle, prepare. Raises SnapshotRejected with the reason."""
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
    loaded = safe_loads(sealed.model)
    return ServingModel(
        manifest,
        loaded,
        predictor_for(loaded, task),
        ScoreRenderer(model, version, manifest.trained_through),
    )
