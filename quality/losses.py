"""Per-event losses: the metrics that are the mean of one loss per event, so that two versions
can be compared event by event on the same events (`lazarus.quality.paired`).

Losses take targets, as river's metrics do (`lazarus.schemas.labels`: a binary model's classes
are True/False), and follow river's definitions but for one case, said at `LOSSES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Loss = Callable[[Any, Any, Mapping[Any, float] | None], float | None]
"""(label, prediction, probabilities) -> the event's loss, or None when it cannot be judged."""

PROBA_CLIP = 1e-15
"""River clamps probabilities to [1e-15, 1 - 1e-15] before taking logs (`_clamp_proba`)."""


def _zero_one(label: Any, prediction: Any, _: Mapping[Any, float] | None) -> float | None:
    return None if prediction is None else float(prediction != label)


def _log_loss(label: Any, _: Any, probabilities: Mapping[Any, float] | None) -> float | None:
    if not probabilities:
        return None
    p_true = _clip(probabilities.get(True, 0.0))
    return -math.log(p_true) if label else -math.log(1.0 - p_true)


def _cross_entropy(label: Any, _: Any, probabilities: Mapping[Any, float] | None) -> float | None:
    if not probabilities:
        return None
    return -math.log(_clip(probabilities.get(label, 0.0)))


def _absolute(label: Any, prediction: Any, _: Mapping[Any, float] | None) -> float | None:
    return None if prediction is None else _finite(abs(label - prediction))


def _squared(label: Any, prediction: Any, _: Mapping[Any, float] | None) -> float | None:
    if prediction is None:
        return None
    error = float(label - prediction)
    return _finite(error * error)  # inf where ** would raise OverflowError


def _clip(p: float) -> float:
    return min(max(p, PROBA_CLIP), 1.0 - PROBA_CLIP)


def _finite(loss: float) -> float | None:
    return float(loss) if math.isfinite(loss) else None


LOSSES: dict[str, Loss] = {
    "Accuracy": _zero_one,
    "LogLoss": _log_loss,
    "CrossEntropy": _cross_entropy,
    "MAE": _absolute,
    "MSE": _squared,
    "RMSE": _squared,
}
"""Per-event loss by river metric class name, for the metrics that are the mean of one.

Accuracy: 0/1 loss (0 when prediction == label). LogLoss: binary, probabilities keyed by the
targets True/False, -log of the true class's probability clipped as river clips it. CrossEntropy:
the same over any classes; a true class missing from `probabilities` counts as probability 0
(clipped: loss 34.5), where river's CrossEntropy counts it as loss 0, which would favour a
version that has not met the class yet. MAE: |y - yhat|. MSE and RMSE: (y - yhat)^2 (RMSE is the
square root of their mean, `compare` reports it so). A squared error that overflows a float
cannot be judged (None)."""


def per_event_loss(
    metric: str, label: Any, prediction: Any, probabilities: Mapping[Any, float] | None
) -> float | None:
    """One event's loss under `metric` (a `LOSSES` name), with `label`, `prediction` and
    `probabilities` as targets (what river's metrics take); None when the score cannot be
    judged (no prediction, or no probabilities for a log loss). ValueError for another metric.

    >>> per_event_loss("Accuracy", True, False, None), per_event_loss("MAE", 3.0, 1.5, None)
    (1.0, 1.5)
    >>> round(per_event_loss("LogLoss", True, True, {True: 0.9, False: 0.1}), 6)
    0.105361
    >>> per_event_loss("LogLoss", True, True, None) is None
    True
    """
    loss = LOSSES.get(metric)
    if loss is None:
        raise ValueError(
            f"metric {metric!r} is not the mean of a per-event loss: {', '.join(LOSSES)}"
        )
    return loss(label, prediction, probabilities)


def judged_metric(metrics: Sequence[str]) -> str | None:
    """The metric a contract's versions are compared on: the first of `metrics` (primary first)
    that is the mean of a per-event loss; None when none is.

    >>> judged_metric(("F1", "LogLoss", "Accuracy")), judged_metric(("F1",))
    ('LogLoss', None)
    """
    return next((m for m in metrics if m in LOSSES), None)
