"""Test-then-train `StandardScaler | LogisticRegression` in one pass: river's own arithmetic.

`folded_step(model)` returns a function `step(x, y) -> probabilities` that does what

    proba = model.predict_proba_one(x)
    model.learn_one(x, y)

does, in one pass over `x`, on the river objects' own state: the scaler's `counts`, `means`
and `vars`, the weights, the intercept and the optimizer's iteration count. The model stays
the river pipeline (snapshots, scorers and pickles see no difference). Each number comes from
the same floating-point operations in the same order as river 0.26's (`Pipeline.learn_one`
learns the scaler, then transforms with the updated statistics; the prediction uses the state
before learning; `VectorDict.dot` sums `w_i * x_i` over `x` in its order, a missing weight
counting as 0.0), so the results are river's bit for bit; tests check 1e-9 over long random
streams (`tests/unit/test_folded_learn.py`). It saves the transformed dicts, the masked weight
vector and the pipeline's dispatch: 6.0 us per `habitat` event against river's 10.7 us
(`python -m bench.trainer_parts`, #20).

It folds only what it can reproduce, checked by exact type: a `Pipeline` of a
`StandardScaler(with_std=True)` without a window and a `LogisticRegression` with log loss,
zero-initialised weights, no L1, plain `SGD`, and learning-rate schedules that are pure
functions of the iteration (`Constant`, `InverseScaling`, `Optimal`). Anything else gives
None and the caller uses river. A step handed a label that is not a bool, a feature value that
is not a finite float (a string, an int, NaN), or called inside `compose.learn_during_predict()`,
calls river itself.
"""

from __future__ import annotations

import collections
import numbers
from collections.abc import Callable
from math import exp
from typing import Any

from river import compose, linear_model, optim, preprocessing, utils

from lazarus.schemas.base import Features

FoldedStep = Callable[[Features, Any], dict[bool, float]]
"""(features, label) -> the probabilities predicted before learning the event."""

PURE_SCHEDULERS = (
    optim.schedulers.Constant,
    optim.schedulers.InverseScaling,
    optim.schedulers.Optimal,
)
"""Schedules whose `get(t)` depends on t alone: calling it once per step is what river does."""
SIGMOID_CLIP = 30.0
"""river's `utils.math.sigmoid` returns exactly 0 or 1 (ints) beyond +-30."""
LOG_LOSS_CLIP = 18.0
"""river's `Log.gradient` switches to its asymptotic forms beyond +-18."""


def folded_step(model: Any) -> FoldedStep | None:
    """The one-pass test-then-train step of `model`, or None when it is not a pipeline this
    module reproduces exactly (see the module docstring)."""
    parts = _recognised(model)
    if parts is None:
        return None
    scaler, lr = parts
    return _step(model, scaler, lr)


def _recognised(
    model: Any,
) -> tuple[preprocessing.StandardScaler, linear_model.LogisticRegression] | None:
    if type(model) is not compose.Pipeline or len(model.steps) != 2:
        return None
    scaler, lr = model.steps.values()
    if not (
        type(scaler) is preprocessing.StandardScaler
        and scaler.with_std is True
        and scaler.window_size is None
        and type(scaler.counts) is collections.Counter
        and _float_defaults(scaler.means)
        and _float_defaults(scaler.vars)
    ):
        return None
    ok = (
        type(lr) is linear_model.LogisticRegression
        and type(lr.loss) is optim.losses.Log
        and type(lr.optimizer) is optim.SGD
        and type(lr.optimizer.lr) in PURE_SCHEDULERS
        and type(lr.intercept_lr) in PURE_SCHEDULERS
        and type(lr.initializer) is optim.initializers.Zeros
        and type(lr.initializer.value) is float
        and lr.initializer.value == 0.0
        and type(lr._weights) is utils.VectorDict
        and _real(lr.l1)
        and lr.l1 == 0
        and _real(lr.l2)
        and _real(lr.clip_gradient)
        and _real(lr.loss.weight_pos)
        and _real(lr.loss.weight_neg)
    )
    return (scaler, lr) if ok else None


def _float_defaults(d: Any) -> bool:
    return type(d) is collections.defaultdict and d.default_factory is float


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _step(
    model: compose.Pipeline,
    scaler: preprocessing.StandardScaler,
    lr: linear_model.LogisticRegression,
) -> FoldedStep:
    counts, means, vars_ = scaler.counts, scaler.means, scaler.vars
    loss, optimizer = lr.loss, lr.optimizer

    def river(x: Features, y: Any) -> dict[bool, float]:
        proba: dict[bool, float] = model.predict_proba_one(x)
        model.learn_one(x, y)
        return proba

    def step(x: Features, y: Any) -> dict[bool, float]:
        if type(y) is not bool or model._LEARN_UNSUPERVISED_DURING_PREDICT:
            return river(x, y)
        # Checked before any state changes: a value that is not a finite float goes through
        # river's own calls, so whatever river does with it happens, exactly and at river's
        # cost (where river's predict refuses it, nothing was learned: no rollback needed).
        for xi in x.values():
            if type(xi) is not float or xi - xi != 0.0:
                return river(x, y)
        if model._plan is None:
            model._build_plan()  # river builds it on its first call: the pickle holds it
        weights = lr._weights
        wget = weights.get
        z_test = z_learn = 0.0
        learned = []
        for i, xi in x.items():
            # test: the scaler and weights as they were (river's transform_one, then dot)
            m0 = means[i]  # (defaultdicts: a new feature's 0.0 is inserted, as river's does)
            v0 = vars_[i]
            w = wget(i, 0.0)
            z_test += w * ((xi - m0) / v0**0.5 if v0 else 0.0)
            # train: Welford's update (river's StandardScaler.learn_one), then the transform
            n = counts[i] + 1
            counts[i] = n
            m1 = means[i] = m0 + (xi - m0) / n
            v1 = vars_[i] = v0 + ((xi - m0) * (xi - m1) - v0) / n
            xs = (xi - m1) / v1**0.5 if v1 else 0.0
            z_learn += w * xs
            learned.append((i, w, xs))
        intercept = lr.intercept
        z = z_test + intercept
        p = 0 if z < -SIGMOID_CLIP else 1 if z > SIGMOID_CLIP else 1 / (1 + exp(-z))
        # GLM._eval_gradient_one: Log.gradient at the learn-time logit, times w=1.0, clamped
        z = z_learn + intercept
        if y:
            weight, sign = loss.weight_pos, 1
        else:
            weight, sign = loss.weight_neg, -1
        zy = z * sign
        if zy > LOG_LOSS_CLIP:
            g = weight * exp(-zy) * -sign
        elif zy < -LOG_LOSS_CLIP:
            g = weight * -sign
        else:
            g = weight * -sign / (exp(zy) + 1.0)
        g *= 1.0
        clip = lr.clip_gradient
        g = float(max(min(g, clip), -clip))
        t = optimizer.n_iterations
        lr.intercept = intercept - lr.intercept_lr.get(t) * g
        rate = optimizer.lr.get(t)
        l2 = lr.l2
        if l2:
            for i, w, xs in learned:
                weights[i] = w - rate * (xs * g + w * l2)
        else:
            for i, w, xs in learned:
                weights[i] = w - rate * (xs * g)
        optimizer.n_iterations = t + 1
        return {False: 1.0 - p, True: p}

    step.folded = True  # type: ignore[attr-defined]
    return step
