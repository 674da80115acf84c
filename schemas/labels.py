"""Labels as declared, and targets as a model learns them: the one translation between the two.

A model's *labels* are what its outcomes carry and its scores show, typed as the model spec
declares them: a binary model's two classes (`False`/`True`, `-1`/`1`, `"absent"`/`"present"`),
a multiclass model's string or integer classes, a regression's finite floats. Every topic
carries labels as declared.

A model's *targets* are what river learns and its metrics judge. They equal the labels, except
for a binary model: river's binary classifiers and metrics (LogisticRegression, LogLoss, F1)
take booleans, so the declared positive class is `True` and the other `False`.

JSON objects have string keys, so a score's `probabilities` are keyed by each class's text
(`str(label)`: "True", "2", "oak"); `LabelCodec.from_key` reads them back as declared.

>>> codec = LabelCodec(classes=(-1, 1), positive=1)
>>> codec.target(-1), codec.label(True), codec.probabilities_out({True: 0.8, False: 0.2})
(False, 1, {1: 0.8, -1: 0.2})
>>> codec.probabilities_in({"1": 0.8, "-1": 0.2})
{True: 0.8, False: 0.2}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LabelCodec:
    """Labels <-> targets for one model. `classes` None is a regression (finite floats)."""

    classes: tuple[Any, ...] | None
    positive: Any = None
    """A binary model's positive class (one of `classes`); ignored otherwise."""
    _keys: dict[str, Any] = field(init=False, repr=False, compare=False)
    binary: bool = field(init=False, compare=False)
    """Two classes: river learns the positive one as True, the other as False."""
    identity: bool = field(init=False, compare=False)
    """Targets are the labels themselves: nothing to translate (every model but a binary one
    whose classes are not the booleans False/True with True positive). Fixed at construction:
    the trainer and the scorers read it per event."""

    def __post_init__(self) -> None:
        classes = self.classes or ()
        binary = self.classes is not None and len(classes) == 2
        booleans = binary and all(type(c) is bool for c in classes) and len(set(classes)) == 2
        object.__setattr__(self, "_keys", {str(c): c for c in classes})
        object.__setattr__(self, "binary", binary)
        object.__setattr__(self, "identity", not binary or (booleans and self.positive is True))

    @property
    def negative(self) -> Any:
        """A binary model's other class."""
        assert self.classes is not None and self.binary
        a, b = self.classes
        return a if same(b, self.positive) else b

    def target(self, label: Any) -> Any:
        """What river learns for `label` (already checked to be one of the classes)."""
        if self.classes is None:
            return float(label)
        if self.binary:
            return same(label, self.positive)
        return label

    def label(self, target: Any) -> Any:
        """The declared label of a model's prediction `target` (None stays None)."""
        if target is None or self.identity:
            return target
        return self.positive if target else self.negative

    def probabilities_out(self, probabilities: dict[Any, float] | None) -> dict[Any, float] | None:
        """A model's class -> probability, keyed by declared labels."""
        if probabilities is None or self.identity:
            return probabilities
        return {self.label(t): p for t, p in probabilities.items()}

    def from_key(self, key: str) -> Any:
        """The declared class whose text is `key` ("2" -> 2); an unknown key stays text."""
        return self._keys.get(key, key)

    def probabilities_in(self, probabilities: dict[str, float] | None) -> dict[Any, float] | None:
        """Probabilities as read from JSON (text keys), keyed by targets."""
        if probabilities is None:
            return None
        return {self.target_of_key(k): p for k, p in probabilities.items()}

    def target_of_key(self, key: str) -> Any:
        """The target of the class whose text is `key`; an unknown key stays text (a metric
        then counts it as a wrong class)."""
        label = self._keys.get(key)
        return key if label is None else self.target(label)

    def target_of_label(self, label: Any) -> Any:
        """`target(label)` for a label read back from JSON; None stays None."""
        return None if label is None else self.target(label)


def same(a: Any, b: Any) -> bool:
    """Equal in type and value: the class `1` is not the class `True`, nor `1.0`.

    >>> same(1, 1), same(1, True), same(1.0, 1)
    (True, False, False)
    """
    return type(a) is type(b) and a == b


def finite_number(value: Any) -> bool:
    """An int or float (not a bool) that is finite: a regression's label."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
