"""A user's own model code, as a model spec would bring it: a classifier class, a feature
function and a spec factory (`tests.custom_models:make_spec`).

Snapshots of it load only where `LAZARUS_SNAPSHOT_MODULES` lists `tests.custom_models`.
`sqrt` and `exp` are imported, not defined here: the restricted unpickler refuses them
under this module's name (a re-export is not the module's own code).
"""

from __future__ import annotations

from collections.abc import Hashable
from math import copysign, exp, log1p, sqrt
from typing import Any

from river import base, compose, preprocessing
from river.base.typing import ClfTarget

from lazarus.trainer.specs import ModelSpec, habitat

MODULE = __name__
"""What LAZARUS_SNAPSHOT_MODULES must list for these snapshots to load."""


def squash(x: dict[str, float]) -> dict[str, float]:
    """Signed log of each feature: counts that span decades become comparable.

    >>> squash({"a": -9.0, "b": 0.0})
    {'a': -2.302585092994046, 'b': 0.0}
    """
    return {k: copysign(log1p(abs(v)), v) for k, v in x.items()}


class NearestCentroid(base.Classifier):  # type: ignore[misc]
    """Predicts the class whose running mean of the features is nearest (Euclidean);
    probabilities are a softmax of minus the distances over `temperature`.

    >>> model = NearestCentroid()
    >>> for x, y in [({"a": 0.0}, False), ({"a": 2.0}, True)]:
    ...     model.learn_one(x, y)
    >>> model.predict_one({"a": 1.8})
    True
    """

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = temperature
        self.counts: dict[ClfTarget, int] = {}
        self.sums: dict[ClfTarget, dict[Hashable, float]] = {}

    def learn_one(self, x: dict[Hashable, Any], y: ClfTarget) -> None:
        self.counts[y] = self.counts.get(y, 0) + 1
        sums = self.sums.setdefault(y, {})
        for k, v in x.items():
            sums[k] = sums.get(k, 0.0) + v

    def predict_proba_one(self, x: dict[Hashable, Any], **kwargs: Any) -> dict[ClfTarget, float]:
        if not self.counts:
            return {}
        distance = {c: self._distance(x, c) for c in self.counts}
        nearest = min(distance.values())
        weight = {c: exp((nearest - d) / self.temperature) for c, d in distance.items()}
        total = sum(weight.values())
        return {c: w / total for c, w in weight.items()}

    def _distance(self, x: dict[Hashable, Any], c: ClfTarget) -> float:
        n, sums = self.counts[c], self.sums[c]
        keys = x.keys() | sums.keys()
        return sqrt(sum((x.get(k, 0.0) - sums.get(k, 0.0) / n) ** 2 for k in keys))


def centroid_pipeline() -> Any:
    """A fresh pipeline: our function, river's scaler, our classifier."""
    return compose.FuncTransformer(squash) | preprocessing.StandardScaler() | NearestCentroid()


def make_spec() -> ModelSpec:
    """The habitat model's contract, renamed, learned by our own pipeline."""
    return habitat().replace(name="centroid", pipeline=centroid_pipeline)
