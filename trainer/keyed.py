"""A per-key model: one river model per key value, plus a pooled fallback (pure).

`KeyedModel` is what a shard of a per-key model (`lazarus.schemas.per_key`) learns and what
scorers serve: `route(key)` names the model that answers for a key, the key's own once it has
learned `min_history` events, else the fallback (None before anything learned). Every event
teaches its key's model and the fallback, so the fallback is the pooled model of the shard's
keys. A key's model is a clone of the unlearned `template` made at its first event.

Scorers never import this class: they call `route` on the unpickled snapshot, so the contract
is the method, not the type.

>>> from river import linear_model
>>> m = KeyedModel(linear_model.LogisticRegression(), min_history=2, fallback=True)
>>> m.learn_one("s1", {"x": 1.0}, True)
>>> m.route("s1")[1], m.route("s2")[1], m.learned("s1"), len(m)
('fallback', 'fallback', 1, 1)
>>> m.learn_one("s1", {"x": 1.0}, True)
>>> m.route("s1")[1]
'key'
"""

from __future__ import annotations

import math
from typing import Any

from lazarus.schemas.per_key import Route


class KeyedModel:
    """One model per key (`models`), the events each learned (`counts`) and the fallback."""

    def __init__(
        self, template: Any, *, min_history: int, fallback: bool, classify: bool = True
    ) -> None:
        """`template`: an unlearned river estimator or pipeline (cloned per key); `classify`:
        a classifier (the pooled feature is its log-odds per class), else a regressor."""
        self.template = template
        self.classify = classify
        self.min_history = min_history
        self.models: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.fallback: Any | None = template.clone() if fallback else None
        self.fallback_learned = 0

    def __len__(self) -> int:
        """The keys with a model of their own."""
        return len(self.models)

    def learned(self, key: str) -> int:
        """Events the key's own model learned (0 for a key never seen)."""
        return self.counts.get(key, 0)

    def route(self, key: str) -> tuple[Any | None, Route]:
        """The model that answers for `key` and which it is; the model is None when nothing
        could answer yet (no fallback, and the key never seen)."""
        fallback = self.fallback
        if fallback is None:
            return self.models.get(key), "key"
        if self.counts.get(key, 0) >= self.min_history:
            return Stacked(self.models[key], fallback, self.classify), "key"
        return fallback, "fallback"

    def learn_one(self, key: str, x: dict[str, Any], y: Any) -> None:
        """Teach the key's model (made at its first event) and the fallback one event.
        Raises whatever the estimators raise; the caller rolls back (`KeyedLearner`)."""
        model = self.models.get(key)
        if model is None:
            model = self.models[key] = self.template.clone()
        fallback = self.fallback
        if fallback is None:
            model.learn_one(x, y)
        else:
            model.learn_one(pooled(fallback, x, self.classify), y)
            fallback.learn_one(x, y)
            self.fallback_learned += 1
        self.counts[key] = self.counts.get(key, 0) + 1

    def __repr__(self) -> str:  # pragma: no cover - for people

        steps = getattr(self.template, "steps", {})
        inner = " | ".join(type(s).__name__ for s in steps.values()) or type(self.template).__name__
        return f"KeyedModel({inner}, {len(self)} keys, fallback={self.fallback is not None})"


POOLED = "pooled"
"""The feature a key's model gets from the fallback: its log-odds per class, or its value."""


def pooled(fallback: Any, x: dict[str, Any], classify: bool) -> dict[str, Any]:
    """`x` plus the fallback's opinion of it: the log-odds of each class a classifier gives
    (`pooled:CLASS`, clipped to ±20), a regressor's prediction (`pooled`), nothing before the
    fallback has one. The key's model learns how its key differs from the pool (partial
    pooling), so it starts from the pooled model's strength, not from nothing."""
    if classify:
        proba = fallback.predict_proba_one(x)
        extra = {f"{POOLED}:{c}": _logit(p) for c, p in proba.items()}
    else:
        y = fallback.predict_one(x)
        extra = {POOLED: float(y)} if isinstance(y, int | float) else {}
    return {**x, **extra} if extra else x


def _logit(p: float) -> float:
    p = min(max(p, 2.0e-9), 1.0 - 2.0e-9)
    return min(20.0, max(-20.0, math.log(p / (1.0 - p))))


class Stacked:
    """A key's model stacked on the fallback: what `route` serves once the key has history.
    `predict_proba_one(x)` / `predict_one(x)` as river's, on `pooled(fallback, x)`."""

    __slots__ = ("classify", "fallback", "model")

    def __init__(self, model: Any, fallback: Any, classify: bool) -> None:
        self.model = model
        self.fallback = fallback
        self.classify = classify

    def predict_proba_one(self, x: dict[str, Any]) -> dict[Any, float]:
        stacked = pooled(self.fallback, x, self.classify)
        result: dict[Any, float] = self.model.predict_proba_one(stacked)
        return result

    def predict_one(self, x: dict[str, Any]) -> Any:
        return self.model.predict_one(pooled(self.fallback, x, self.classify))
