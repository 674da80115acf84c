"""Predict a batch of feature dicts: river's own answer, computed with less per-event overhead.

`predictor_for(model, task)` returns a function from a list of feature dicts to a list of
(prediction, probabilities). For the default `StandardScaler | LogisticRegression` it folds
the scaler into the weights once per model version (each feature contributes
w_i / std_i * (x_i - mean_i)), which is the same arithmetic river does, regrouped: results
equal river's to floating-point rounding (tests check 1e-9), and the predicted class is the
same. Every other model goes through river's `predict_proba_one` / `predict_one` unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from river import compose, linear_model, optim, preprocessing

from schemas.base import Features

Prediction = tuple[Any, dict[Any, float] | None]
"""(predicted class or value, class -> probability, or None for a regressor)."""
Predictor = Callable[[list[Features]], list[Prediction]]

SIGMOID_CLIP = 30.0
"""river's sigmoid returns exactly 0 or 1 beyond +-30."""


def predictor_for(model: Any, task: str) -> Predictor:
    """The fastest exact predictor for `model`."""
    linear = _linear_logistic(model)
    if linear is not None:
        return linear
    if task == "regression":
        predict_one = model.predict_one
        return lambda xs: [(predict_one(x), None) for x in xs]
    predict_proba_one = model.predict_proba_one

    def classify(xs: list[Features]) -> list[Prediction]:
        out: list[Prediction] = []
        for x in xs:
            proba = predict_proba_one(x)
            # river's predict_one: the most probable class; no opinion yet (an empty tree) is None
            out.append((max(proba, key=proba.__getitem__), proba) if proba else (None, None))
        return out

    return classify


def describe(predictor: Predictor) -> str:
    return "folded linear" if getattr(predictor, "folded", False) else "river"


def _linear_logistic(model: Any) -> Predictor | None:
    """`StandardScaler | LogisticRegression` (zero-initialised, log loss) folded into one dot product."""
    steps = list(model.steps.values()) if isinstance(model, compose.Pipeline) else [model]
    if len(steps) == 2 and type(steps[0]) is preprocessing.StandardScaler:
        scaler, lr = steps
        if not scaler.with_std or scaler.window_size is not None:
            return None
    elif len(steps) == 1:
        scaler, lr = None, steps[0]
    else:
        return None
    if (
        type(lr) is not linear_model.LogisticRegression
        or type(lr.loss) is not optim.losses.Log
        or type(lr.initializer) is not optim.initializers.Zeros  # unseen weights must be 0
    ):
        return None
    weights = lr._weights.to_dict()
    coef: dict[str, tuple[float, float]] = {}
    for name, w in weights.items():
        if scaler is None:
            coef[name] = (w, 0.0)
            continue
        var = scaler.vars.get(name, 0.0)
        if var:  # river maps a feature with no variance yet to 0
            coef[name] = (w / var**0.5, scaler.means.get(name, 0.0))
    intercept = float(lr.intercept)
    exp = math.exp

    def predict(xs: list[Features]) -> list[Prediction]:
        out: list[Prediction] = []
        get = coef.get
        for x in xs:
            z = intercept
            for name, value in x.items():
                c = get(name)
                if c is not None:
                    z += c[0] * (value - c[1])
            if z < -SIGMOID_CLIP:
                p = 0.0
            elif z > SIGMOID_CLIP:
                p = 1.0
            else:
                p = 1.0 / (1.0 + exp(-z))
            # river: {False: 1 - p, True: p}; predict_one takes the first maximum (False on a tie)
            out.append((p > 1.0 - p, {False: 1.0 - p, True: p}))
        return out

    predict.folded = True  # type: ignore[attr-defined]
    return predict
