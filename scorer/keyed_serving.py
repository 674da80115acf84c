"""Serving a per-key model: one verified shard version per input partition, routed by key.

A per-key model (`lazarus.schemas.per_key`) is published shard by shard: `shard_line(M, p)`
holds the models of the keys whose inputs arrive on partition p (plus the shard's pooled
fallback). A scorer serves, for an input of partition p, shard p's `current` version, opened
through the same door as any snapshot (`lazarus.registry.opening.open_model`: signature,
digest, identity, `min_learned`, schema fingerprint, river version, the allowlisting
unpickler), under the shard line's name and with M's fingerprint, task and labels.

The unpickled shard is used by its method only: `route(key) -> (estimator | None, route)`,
`route` "key" (the key's own model) or "fallback"; the estimator has river's
`predict_proba_one` / `predict_one` and is predicted with as a whole model is
(`scorer.predictors`: the same folding, the same checks). Its scores name M (`model`, and the
score id `score_id(input, M)`), the shard (`line`, `model_version`, `trained_through`), the
key (`model_key`) and the route (`route`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from lazarus.errors import SnapshotRejected
from lazarus.registry.opening import open_model
from lazarus.registry.sealing import SealedSnapshot
from lazarus.registry.shard_follow import ShardFollower
from lazarus.registry.signing import Verifier
from lazarus.schemas.base import Features
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.schemas.per_key import shard_of
from lazarus.scorer.predictors import (
    ModelOutputError,
    Prediction,
    Predictor,
    predict_checked,
    predictor_for,
)
from lazarus.scorer.render import ScoreRenderer

ROUTES = ("key", "fallback")


class Routing(Protocol):
    """What a shard snapshot's model offers a scorer (the trainer's `KeyedModel`)."""

    def route(self, key: str) -> tuple[Any | None, str]: ...


MAX_ANSWERS = 100_000
"""Keys whose answer a served version remembers; more (a stream of new keys) start afresh."""


@dataclass
class ServingShard:
    """Shard `partition`'s served version: its manifest, its routing model, the renderer of
    its scores; `key_field` is the per-key field whose value routes an input."""

    partition: int
    manifest: SnapshotManifest
    model: Routing
    renderer: ScoreRenderer
    task: str
    key_field: str
    _answers: dict[str, tuple[Predictor | None, str]] = field(default_factory=dict, repr=False)
    """key -> its predictor and route: a served version never changes, so neither do they."""
    _made: dict[int, tuple[object, Predictor]] = field(default_factory=dict, repr=False)
    """id(estimator) -> (the estimator, kept so its id stays its own; its predictor), so keys
    routed to one estimator (the fallback) share one predictor (one folding)."""

    @property
    def version(self) -> int:
        return self.manifest.version

    @property
    def line(self) -> str:
        return self.manifest.model

    def answering(self, key: str) -> tuple[Predictor | None, str]:
        """The predictor that answers for `key` (None: nothing can answer yet, the shard has no
        fallback and never saw the key) and the route. Raises ModelOutputError for a route
        that is neither "key" nor "fallback", and whatever the model raises."""
        known = self._answers.get(key)
        if known is not None:
            return known
        estimator, route = self.model.route(key)
        if route not in ROUTES:
            raise ModelOutputError(f"the shard routed key {key!r:.80} to {route!r:.80}")
        predictor = None
        if estimator is not None:
            made = self._made.get(id(estimator))
            if made is None:
                made = self._made[id(estimator)] = (estimator, predictor_for(estimator, self.task))
            predictor = made[1]
        if len(self._answers) >= MAX_ANSWERS:
            self._answers.clear()
            self._made.clear()
        self._answers[key] = (predictor, route)
        return predictor, route


Routed = tuple[Prediction | Exception, str | None]
"""One input's checked prediction (or the error that stands in for it) and its route."""


def predict_routed(items: list[tuple[ServingShard, str, Features]]) -> list[Routed]:
    """One entry per (shard, key, features), in order: the prediction of the estimator the
    shard routes the key to, checked (`predict_checked`), and the route. A key nothing
    answers for (no fallback, the key never seen) gets the prediction (None, None): its score
    says so with a null prediction. Inputs routed to one estimator are predicted in one call.

    >>> class Model:
    ...     def predict_proba_one(self, x): return {False: 1 - x["p"], True: x["p"]}
    >>> class Shard:
    ...     def route(self, key): return ({"a": Model()}.get(key), "key")
    >>> shard = ServingShard(0, None, Shard(), None, "classification", "site_id")  # type: ignore[arg-type]
    >>> predict_routed([(shard, "a", {"p": 0.75}), (shard, "b", {"p": 0.75})])
    [((True, {False: 0.25, True: 0.75}), 'key'), ((None, None), 'key')]
    """
    out: list[Routed] = [((None, None), None)] * len(items)
    groups: dict[Predictor, list[int]] = {}
    routes: list[str | None] = [None] * len(items)
    for i, (shard, key, _) in enumerate(items):
        try:
            predictor, routes[i] = shard.answering(key)
        except Exception as exc:  # a model must not stop a worker: this input is dead-lettered
            out[i] = (exc, None)
            continue
        if predictor is None:
            out[i] = ((None, None), routes[i])
        else:
            groups.setdefault(predictor, []).append(i)
    for predictor, indexes in groups.items():
        results = predict_checked(predictor, [items[i][2] for i in indexes])
        for i, result in zip(indexes, results, strict=True):
            out[i] = (result, routes[i])
    return out


def open_shard(
    sealed: SealedSnapshot,
    verifier: Verifier,
    spec: ModelContract,
    line: str,
    version: int,
    modules: Iterable[str] = (),
) -> ServingShard:
    """Open `sealed`, stored as shard `line` v`version` of per-key `spec`, through every check
    a served version passes (`open_model`, with `spec`'s fingerprint and `min_learned` and
    this scorer's LAZARUS_SNAPSHOT_MODULES as `modules`). Raises SnapshotRejected with the
    reason, also for a line that is not a shard of `spec` or a model that cannot route."""
    per_key = spec.per_key
    partition = shard_of(line, spec.name)
    if per_key is None or partition is None:
        raise SnapshotRejected(f"{line} is not a shard line of per-key model {spec.name}")
    manifest, loaded = open_model(
        sealed,
        verifier,
        model=line,
        version=version,
        fingerprint=spec.fingerprint,
        min_learned=spec.min_learned,
        modules=modules,
    )
    if not callable(getattr(loaded, "route", None)):
        raise SnapshotRejected(
            f"{line} v{version} holds a {type(loaded).__name__}, not a per-key model (no route())"
        )
    trained = manifest.trained_through
    renderer = ScoreRenderer(spec.name, version, trained, spec.labels, line=line)
    return ServingShard(partition, manifest, loaded, renderer, spec.task, per_key.field)


def describe_shard_swap(new: ServingShard, old: ServingShard | None, why: str, ms: float) -> str:
    """The log line of a shard's swap, e.g. 'serving habitat_sites.shard1 v4 (published; was
    v3): KeyedModel(...), learned 5000, trained through {...}, loaded in 3.1 ms'."""
    said = [why] if why else []
    if old is not None:
        said.append(f"was v{old.version}")
    head = f"serving {new.line} v{new.version}" + (f" ({'; '.join(said)})" if said else "")
    m = new.manifest
    return (
        f"{head}: {new.model!r:.120}, learned {m.n_learned}, trained through "
        f"{m.trained_through}, loaded in {ms:.1f} ms"
    )


class ShardWatcher(ShardFollower[ServingShard]):
    """Follows every shard line of per-key `spec` and opens each new version (`open_shard`)
    for the scoring loop, which takes them between batches (`take()`).
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
        modules = tuple(modules)
        super().__init__(
            redis_url,
            prefix,
            spec.name,
            lambda sealed, line, version: open_shard(
                sealed, verifier, spec, line, version, modules
            ),
            poll_s,
            notifications=notifications,
            name=f"shard-watcher-{spec.name}",
        )
