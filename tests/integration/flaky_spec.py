"""A custom model spec whose model raises on some inputs (loaded by import path in tests)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from river import linear_model, preprocessing

from lazarus.trainer.specs import ModelSpec, habitat


class RaisesOnEdna(linear_model.LogisticRegression):  # type: ignore[misc]
    """Refuses eDNA readings, as a broken custom model might."""

    def learn_one(self, x: dict[Hashable, Any], y: Any, w: float = 1.0) -> None:
        if "edna_copies_per_l" in x:
            raise ValueError("cannot learn from eDNA")
        super().learn_one(x, y, w)


def make_spec() -> ModelSpec:
    return habitat().replace(
        name="flaky", scores=None, pipeline=lambda: preprocessing.StandardScaler() | RaisesOnEdna()
    )
