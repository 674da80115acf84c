"""The model a scorer serves: a verified snapshot, its lineage, and how to predict with it.

Every check before unpickling (signature, digest, identity, `min_learned`,
schema fingerprint, river version) is the registry's
(`lazarus.registry.opening.open_model`); this module adds what scoring needs
(the folded predictor, the score renderer) and the thread that follows
`current` for the scoring loop (`SnapshotWatcher`, a
`lazarus.registry.follow.CurrentFollower`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lazarus.registry.follow import CurrentFollower
from lazarus.registry.opening import open_model
from lazarus.registry.sealing import SealedSnapshot
from lazarus.registry.signing import Verifier
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.labels import LabelCodec
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.scorer.predictors import Predictor, predictor_for
from lazarus.scorer.render import ScoreRenderer


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
    labels: LabelCodec | None = None,
    modules: Iterable[str] = (),
) -> ServingModel:
    """Verify, check compatibility, unpickle (`open_model`, with this scorer's
    LAZARUS_SNAPSHOT_MODULES as `modules`), prepare the predictor for `task`.
    `labels` turns the model's targets into the labels scores show (`ModelContract.labels`).
    Raises SnapshotRejected with the reason."""
    manifest, loaded = open_model(
        sealed,
        verifier,
        model=model,
        version=version,
        fingerprint=fingerprint,
        min_learned=min_learned,
        modules=modules,
    )
    return ServingModel(
        manifest,
        loaded,
        predictor_for(loaded, task),
        ScoreRenderer(model, version, manifest.trained_through, labels),
    )


class SnapshotWatcher(CurrentFollower[ServingModel]):
    """Follows `spec`'s `current` and opens each new version for the scoring loop, which takes it
    between batches (`take()`), so a swap never splits a batch. `modules`: this scorer's
    LAZARUS_SNAPSHOT_MODULES."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        spec: ModelContract,
        verifier: Verifier,
        poll_s: float,
        *,
        notifications: bool = True,
        modules: Iterable[str] = (),
    ) -> None:
        modules = tuple(modules)

        def open_for_serving(sealed: SealedSnapshot, version: int) -> ServingModel:
            return open_snapshot(
                sealed,
                verifier,
                model=spec.name,
                version=version,
                fingerprint=spec.fingerprint,
                task=spec.task,
                min_learned=spec.min_learned,
                labels=spec.labels,
                modules=modules,
            )

        super().__init__(
            redis_url,
            prefix,
            spec.name,
            open_for_serving,
            poll_s,
            notifications=notifications,
            name=f"snapshot-watcher-{spec.name}",
        )
