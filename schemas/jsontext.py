"""JSON fragments for the hot-path renderers (scores, prequential records), which build event
JSON from pieces instead of a pydantic model per event. Contract tests validate their output.

JSON has no NaN or infinity: a non-finite number raises ValueError rather than be written
as `nan` (which no strict JSON reader accepts). Callers turn that into a dead letter.
"""

from __future__ import annotations

import json
import math
from typing import Any


def json_number(v: Any) -> str:
    """A finite float as JSON text (numpy scalars included). ValueError if it is not finite.

    >>> json_number(0.25), json_number(3)
    ('0.25', '3.0')
    >>> json_number(float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: nan is not a finite number (JSON has no NaN or infinity)
    """
    try:
        f = float(v)
    except OverflowError:  # an int beyond float's range
        raise ValueError("an integer too large for a float") from None
    if not math.isfinite(f):
        raise ValueError(f"{f!r} is not a finite number (JSON has no NaN or infinity)")
    return repr(f)


def json_value(v: Any) -> str:
    """A prediction or label: null, true/false, an integer (a class), a finite float (numpy
    scalars included), else JSON (a string class). ValueError for a non-finite number or a
    value JSON cannot carry.

    >>> json_value(2), json_value(2.0), json_value("oak"), json_value(True)
    ('2', '2.0', '"oak"', 'true')
    """
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if hasattr(v, "item"):  # numpy scalars from some river models
        return json_value(v.item())
    if type(v) is int:
        return str(v)
    if isinstance(v, int | float):
        return json_number(v)
    try:
        return json.dumps(v, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{type(v).__name__} {v!r:.80} cannot be written as JSON: {exc}") from None


class ProbabilitiesText:
    """`text(probabilities)`: class -> probability as a JSON object with string keys ("True"),
    or null; each class's key is rendered once. ValueError for a non-finite probability."""

    def __init__(self) -> None:
        self._keys: dict[Any, str] = {}

    def __call__(self, probabilities: dict[Any, float] | None) -> str:
        if not probabilities:
            return "null"
        keys = self._keys
        parts = []
        for cls, p in probabilities.items():
            key = keys.get(cls)
            if key is None:
                key = keys[cls] = json.dumps(str(cls))
            try:
                f = float(p)
            except OverflowError:
                f = math.inf
            if f - f != 0.0:  # NaN or infinity (the cheap test: this runs per class per event)
                raise ValueError(f"probability of {cls!r} is {f!r}: JSON has no NaN or infinity")
            parts.append(f"{key}:{f!r}")
        return "{" + ",".join(parts) + "}"
