"""The model a scorer serves: a verified snapshot, its lineage, and how to predict with it.

Every check before unpickling (signature, digest, identity, `min_learned`,
schema fingerprint, river version) is the registry's
(`lazarus.registry.opening.open_model`); this module adds what scoring needs
(the folded predictor, the score renderer) and the thread that follows the
model's champion line's `current` for the scoring loop (`SnapshotWatcher`, a
`lazarus.registry.follow.CurrentFollower`). A version of another line of the model (a
challenger's, promoted, or scored in shadow: `scorer.shadow`) is opened under that line's name
but with the model's fingerprint, task, labels and `min_learned`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lazarus.registry.follow import CurrentFollower, champion_line
from lazarus.registry.lineup_follow import ShadowRole
from lazarus.registry.opening import open_model
from lazarus.registry.sealing import SealedSnapshot
from lazarus.registry.signing import Verifier
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.labels import LabelCodec
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.scorer.predictors import Predictor, describe, predictor_for
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

    @property
    def line(self) -> str:
        """The registry name it is stored under: the model's own, or one of its challengers'."""
        return self.manifest.model


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
    line: str | None = None,
    role: ShadowRole | None = None,
) -> ServingModel:
    """Verify, check compatibility, unpickle (`open_model`, with this scorer's
    LAZARUS_SNAPSHOT_MODULES as `modules`), prepare the predictor for `task`.
    `labels` turns the model's targets into the labels scores show (`ModelContract.labels`).
    `line`: the registry name `sealed` is stored under when it is not `model` (another line of
    it); its scores still name `model`, unless `role` says it is scored in shadow (then they
    name `line`, with `shadow_of` `model` and the `role`). Raises SnapshotRejected with the
    reason."""
    stored = line or model
    manifest, loaded = open_model(
        sealed,
        verifier,
        model=stored,
        version=version,
        fingerprint=fingerprint,
        min_learned=min_learned,
        modules=modules,
    )
    trained = manifest.trained_through
    renderer = (
        ScoreRenderer(model, version, trained, labels, line=None if stored == model else stored)
        if role is None
        else ScoreRenderer(stored, version, trained, labels, shadow_of=model, role=role)
    )
    return ServingModel(manifest, loaded, predictor_for(loaded, task), renderer)


LineOpener = Callable[[SealedSnapshot, str, int, ShadowRole | None], ServingModel]
"""Open (sealed, line, version, role) for `spec`'s scorer: role None to serve it."""


def opener_for(spec: ModelContract, verifier: Verifier, modules: Iterable[str]) -> LineOpener:
    """`open_snapshot` with `spec`'s fingerprint, task, `min_learned` and labels, whatever the
    line (a challenger is judged by the contract of the model it challenges)."""
    modules = tuple(modules)

    def open_line(
        sealed: SealedSnapshot, line: str, version: int, role: ShadowRole | None
    ) -> ServingModel:
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
            line=line,
            role=role,
        )

    return open_line


def describe_swap(new: ServingModel, old: ServingModel | None, why: str, load_ms: float) -> str:
    """The log line of a swap, e.g. 'serving habitat.fresh v7 (promoted; was habitat v41):
    folded linear, learned 5000, trained through {...}, loaded in 3.1 ms'."""
    m = new.manifest
    said = [why] if why else []
    if old is not None:
        said.append(
            f"was {old.line} v{old.version}" if old.line != new.line else f"was v{old.version}"
        )
    head = f"serving {new.line} v{new.version}" + (f" ({'; '.join(said)})" if said else "")
    return (
        f"{head}: {describe(new.predict)}, learned {m.n_learned}, trained through "
        f"{m.trained_through}, loaded in {load_ms:.1f} ms"
    )


class SnapshotWatcher(CurrentFollower[ServingModel]):
    """Follows `current` of `spec`'s champion line (`lazarus.registry.lineup`; `spec` itself
    unless a challenger was promoted), re-read on every check, and opens each new version for
    the scoring loop, which takes it between batches (`take()`), so a swap never splits a batch.
    `modules`: this scorer's LAZARUS_SNAPSHOT_MODULES."""

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
        open_line = opener_for(spec, verifier, modules)
        super().__init__(
            redis_url,
            prefix,
            spec.name,
            lambda sealed, line, version: open_line(sealed, line, version, None),
            poll_s,
            line=champion_line(prefix, spec.name),
            notifications=notifications,
            name=f"snapshot-watcher-{spec.name}",
        )
