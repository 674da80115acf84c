"""Metrics as people read them: "–" where nothing has been measured, never a made-up 0.0000.

River's metrics answer 0.0 before their first event (the accuracy of nothing), so a version
that learned no event carries zeros that were never measured. `learned` turns those into None
(null in JSON), and `metric_text` shows None as "–" (`lazarus status`, `lazarus models show`,
the dashboard's page does the same in `app.js`).

>>> learned({"Accuracy": 0.0}, n_learned=0), learned({"Accuracy": 0.75}, n_learned=12)
({'Accuracy': None}, {'Accuracy': 0.75})
>>> metric_text(None), metric_text(0.0), metric_text(0.01234, signed=True)
('–', '0.0000', '+0.0123')
"""

from __future__ import annotations

import math
from collections.abc import Mapping

NOTHING = "–"
"""What a metric with no value shows (an en dash)."""


def learned(metrics: Mapping[str, float | None], n_learned: int | None) -> dict[str, float | None]:
    """`metrics` of a version that learned `n_learned` events: every value None when it
    learned none (or the count is unknown: None), and non-finite values None always."""
    if not n_learned:
        return dict.fromkeys(metrics)
    return {k: v if v is not None and math.isfinite(v) else None for k, v in metrics.items()}


def metric_text(value: float | None, digits: int = 4, *, signed: bool = False) -> str:
    """A metric to `digits` decimals (with its sign when `signed`), `NOTHING` when None."""
    if value is None:
        return NOTHING
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
