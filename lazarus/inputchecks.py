"""Checks inputs pass beyond their schema, shared by the trainer and the scorer.

Pure: each check returns nothing or raises an `InputRejected` whose message is
the dead letter's reason, so the two roles reject the same inputs for the same
reasons. What they check:

- the event's clock (trainer only): `event_time` at most the model's allowed
  skew after the message's Kafka timestamp, so one sensor with a fast clock
  cannot move the trainer's join clock (and expire everyone's pending joins);
  a scorer is stateless, and scores such a reading;
- the features: a flat dict of finite numbers, or strings for categorical features
  (`to_features()` is user code in custom specs, and a NaN or infinity would poison a model);
- an outcome's label: of the model's task, and one of its classes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lazarus.errors import LazarusError

NO_TIMESTAMP = 0
"""confluent_kafka.TIMESTAMP_NOT_AVAILABLE: the message carries no timestamp to check against."""


class InputRejected(LazarusError):
    """An input that passed its schema but cannot be used; the message is the reason."""


class ClockSkew(InputRejected):
    """The event is stamped too far after its Kafka timestamp."""


class NonFiniteFeatures(InputRejected):
    """A feature is NaN, infinite or not a number."""


class WrongLabel(InputRejected):
    """An outcome's label is not of the model's task, or not one of its classes."""


def check_clock(event_ms: int, kafka_timestamp: tuple[int, int], max_skew_ms: int) -> None:
    """`kafka_timestamp` is confluent_kafka's `(type, ms)`; raises ClockSkew past `max_skew_ms`.

    >>> check_clock(1_000, (1, 0), 3_600_000)
    >>> check_clock(7_200_000, (1, 0), 3_600_000)
    Traceback (most recent call last):
    lazarus.inputchecks.ClockSkew: event_time is 2.0 h after the message's Kafka timestamp; the allowed clock skew is 1.0 h
    """
    kind, kafka_ms = kafka_timestamp
    if kind == NO_TIMESTAMP:
        return
    ahead = event_ms - kafka_ms
    if ahead > max_skew_ms:
        raise ClockSkew(
            f"event_time is {_duration(ahead)} after the message's Kafka timestamp; "
            f"the allowed clock skew is {_duration(max_skew_ms)}"
        )


def check_features(x: Mapping[str, Any]) -> None:
    """Every value a finite number (ints and bools are numbers too) or a category (a string:
    river's OneHotEncoder makes it a feature of its own); raises NonFiniteFeatures.

    >>> check_features({"a": 1.0, "b": 2, "habitat": "wetland"})
    >>> check_features({"a": float("nan")})
    Traceback (most recent call last):
    lazarus.inputchecks.NonFiniteFeatures: feature 'a' is nan: features must be finite numbers
    """
    try:  # one C-level sum for the usual case: finite iff every value is (else inf or nan)
        if math.isfinite(sum(x.values())):
            return
    except (TypeError, OverflowError):
        pass
    for name, value in x.items():
        if isinstance(value, str):
            continue  # a category
        try:
            if math.isfinite(value):
                continue
        except OverflowError:  # an int too large for a float
            raise NonFiniteFeatures(f"feature {name!r} is too large for a float") from None
        except TypeError:
            raise NonFiniteFeatures(
                f"feature {name!r} is {type(value).__name__} {value!r:.80}: features must be numbers "
                "or strings"
            ) from None
        raise NonFiniteFeatures(f"feature {name!r} is {value}: features must be finite numbers")


def checked_features(event: Any) -> dict[str, Any]:
    """`event.to_features()`, checked finite as the trainer checks them: what a scorer
    scores. No clock check (a scorer keeps no clock, so a skewed reading does no harm).
    Raises `NonFiniteFeatures`, or whatever the event's `to_features()` raises."""
    x: dict[str, Any] = event.to_features()
    check_features(x)
    return x


def check_label(label: Any, classes: tuple[Any, ...] | None, model: str) -> None:
    """A class of `classes` (same type and value), or for a regression (`classes` None) a finite
    float that is not a bool; raises WrongLabel.

    >>> check_label(True, (False, True), "habitat")
    >>> check_label(1.0, (False, True), "habitat")
    Traceback (most recent call last):
    lazarus.inputchecks.WrongLabel: label 1.0 is not a class of habitat (classes: false, true)
    """
    if classes is None:
        if isinstance(label, bool) or not isinstance(label, int | float) or not _finite(label):
            raise WrongLabel(
                f"label {_show(label)} is not a finite number: {model} is a regression"
            )
        return
    for c in classes:
        if type(label) is type(c) and label == c:
            return
    raise WrongLabel(
        f"label {_show(label)} is not a class of {model} (classes: {', '.join(map(_show, classes))})"
    )


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)[:80]


def _duration(ms: float) -> str:
    s = ms / 1000.0
    if s >= 2 * 86400:
        return f"{s / 86400:.1f} days"
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.1f} min"
    return f"{s:.1f} s"
