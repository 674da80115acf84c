"""JSON fragments for the hot-path renderers (scores, prequential records), which build event
JSON from pieces instead of a pydantic model per event. Contract tests validate their output."""

from __future__ import annotations

import json
from typing import Any


def json_value(v: Any) -> str:
    """A prediction or label: null, true/false, a float (numpy scalars included), else JSON."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if hasattr(v, "item"):  # numpy scalars from some river models
        return json_value(v.item())
    if isinstance(v, int | float):
        return repr(float(v))
    return json.dumps(v)


class ProbabilitiesText:
    """`text(probabilities)`: class -> probability as a JSON object with string keys ("True"),
    or null; each class's key is rendered once."""

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
            parts.append(f"{key}:{float(p)!r}")
        return "{" + ",".join(parts) + "}"
