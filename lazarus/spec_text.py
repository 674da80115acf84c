"""The text of a model spec file, commented for the person who edits it next.

`spec_text(found, ...)` writes what `lazarus.spec_inference` found as TOML that
`lazarus.schemas.specfile` reads back: every table, every key with its default made explicit
(but for `[lifecycle]`, written commented out, so the policies' defaults apply), and comments that say what each setting does, what the sample showed, which columns were left
out and why, and which estimators the catalogue offers for the task.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lazarus.schemas.lifecycle import DRIFT_ACTIONS, DRIFT_DETECTORS, Lifecycle
from lazarus.schemas.tabular import DEFAULT_METRICS, TASKS
from lazarus.spec_inference import Inference

COMMENT_AT = 34
"""The column comments start at, after short lines."""
WRAP = 88
"""Arrays longer than this are written one item per line."""


@dataclass(frozen=True)
class Source:
    """Where the spec came from, for its header."""

    data: str
    """The data file, as the user named it."""
    sampled: int
    unreadable: int
    """Sampled rows that could not be read (not CSV/JSON, bad bytes)."""


def spec_text(
    found: Inference,
    source: Source,
    estimator: str,
    choices: Sequence[tuple[str, str]],
) -> str:
    """The spec file's text. `choices`: (name, one line about it) of the catalogue's
    estimators for the task, listed in a comment."""
    out: list[str] = [
        f"# Lazarus model spec, written by `lazarus spec init {source.data}`"
        f" from {source.sampled} sampled rows.",
        "# Edit freely, then check it: `lazarus spec check <this file>`. "
        "The format: docs/model-specs.md.",
    ]
    if source.unreadable:
        out.append(f"# {source.unreadable} sampled rows could not be read and were left out.")
    out += _model(found)
    out += _data(found)
    out += _features(found)
    out += _pipeline(found, estimator, choices)
    out += _training(found)
    out += _lifecycle()
    return "\n".join(out) + "\n"


def _model(found: Inference) -> list[str]:
    name = found.name
    lines = [
        "",
        "[model]",
        _kv("name", name, f"names its topics: {name}.records.v1, .outcomes.v1, .scores.v1"),
        _kv("task", found.task, " | ".join(TASKS)),
    ]
    if found.classes is not None:
        seen = ", ".join(f"{_value(c)} {n}" for c, n in found.label_counts)
        lines.append(_kv("classes", list(found.classes), f"as in the data; rows: {seen}"))
    if found.task == "binary":
        lines.append(_kv("positive", found.positive, "the class whose probability is scored"))
    lines += [
        _kv("segment_fields", [], 'metrics also kept per value: "subject" or categorical columns'),
        _kv("min_learned", 1, "scorers serve no version that learned fewer events"),
    ]
    return lines


def _data(found: Inference) -> list[str]:
    lines = [
        "",
        "[data]                            # how `lazarus produce replay FILE --model <this file>`"
        " reads rows",
        _kv("label_column", found.label_column),
    ]
    if found.unlabelled:
        lines[-1] += f"  # {found.unlabelled} sampled rows have no label: they are not learned"
    lines.append(
        _kv("key_column", found.key_column, "each row's subject (its partition, its order)")
        if found.key_column
        else '# key_column = "site"              # absent: every row has the subject "all"'
    )
    lines.append(
        _kv("time_column", found.time_column, "ISO 8601 or epoch seconds")
        if found.time_column
        else '# time_column = "date"             # absent: a row\'s time is when it is sent'
    )
    lines += [
        _kv("na_values", list(found.na_values), "cells meaning missing (those in the sample)"),
        _kv("time_features", False, "hour and season of the time as features (needs time_column)"),
    ]
    return lines


def _features(found: Inference) -> list[str]:
    lines = [
        "",
        "[features]                        # move a column between the lists, or to drop",
        *_array("numeric", found.numeric, "numbers: scaled"),
        *_array("categorical", found.categorical, "text: one-hot encoded"),
        *_array("drop", [c for c, _ in found.dropped], "left out (never read)"),
    ]
    for column, why in found.dropped:
        lines.append(f"#   {column}: {'named with --drop' if why == '--drop' else why}")
    return lines


def _pipeline(found: Inference, estimator: str, choices: Sequence[tuple[str, str]]) -> list[str]:
    width = max((len(n) for n, _ in choices), default=0) + 2
    lines = ["", "[pipeline]", f"# The estimator, from the catalogue for a {found.task} task:"]
    lines += [f"#   {name.ljust(width)}{about}" for name, about in choices]
    lines += [
        _kv("estimator", estimator),
        _kv("scale", True, "StandardScaler on the numeric columns"),
        "",
        "[pipeline.params]                 # the estimator's keyword arguments, for instance:",
        "# l2 = 0.001                      # (linear models; learning_rate = 0.05 sets their step)",
        "# grace_period = 100              # (trees)",
    ]
    return lines


def _training(found: Inference) -> list[str]:
    return [
        "",
        "[training]",
        _kv("snapshot_every", 5000, "publish a snapshot after this many learned events..."),
        _kv("snapshot_seconds", 10.0, "...or this many seconds, whichever comes first"),
        _kv("label_wait_days", found.label_wait_days, _wait_comment(found)),
        _kv("metrics", list(DEFAULT_METRICS[found.task]), "river metrics, the primary first"),
    ]


def _lifecycle() -> list[str]:
    """The `[lifecycle]` tables, commented out: the policies' defaults, each key explained."""
    life = Lifecycle()
    assert life.promotion is not None and life.guard is not None
    promotion, guard, drift = life.promotion, life.guard, life.drift
    return [
        "",
        "# [lifecycle]                     # challengers, promotion, rollback, drift: uncomment to",
        "#                                 # change a default (docs/model-specs.md, Lifecycle)",
        _off("challenger_of", "champion", "this model challenges that one (same columns, classes)"),
        "#",
        "# [lifecycle.promotion]           # or: promotion = false (no automatic promotion)",
        _off("min_events", promotion.min_events, "honest paired events before a challenger..."),
        _off("margin", promotion.margin, "...beats the champion by more than this (metric units)"),
        _off("confidence", promotion.confidence, "...with this confidence"),
        "#",
        "# [lifecycle.guard]               # or: guard = false (no automatic rollback)",
        _off("min_events", guard.min_events, "a new current version, after this many events..."),
        _off("margin", guard.margin, "...worse than the one before by more than this..."),
        _off("confidence", guard.confidence, "...with this confidence, is rolled back"),
        _off("max_events", guard.max_events, "inconclusive after this many: kept"),
        "#",
        "# [lifecycle.drift]               # drift of the prequential error and of the features",
        _off("detector", drift.detector, " | ".join(DRIFT_DETECTORS)),
        _off("delta", drift.delta, "ADWIN's sensitivity (smaller: fewer false alarms)"),
        _off("threshold", drift.threshold, "Page-Hinkley's"),
        _off("feature_window", drift.feature_window, "rows per KS test of each numeric feature"),
        _off("feature_alpha", drift.feature_alpha, "its significance"),
        _off("action", drift.action, " | ".join(DRIFT_ACTIONS)),
    ]


def _off(key: str, value: Any, comment: str) -> str:
    """`key = value` with its comment, commented out (the comment in its usual column)."""
    return f"# {key} = {_value(value)}".ljust(COMMENT_AT - 1) + f" # {comment}"


def _wait_comment(found: Inference) -> str:
    """Why `label_wait_days` is what it is: a row waits this long for its label, in event
    time behind the newest row; older rows are given up on."""
    if found.time_span_days is None:
        return "a row waits this long (event time) for its label"
    return (
        f"a row waits this long for its label, behind the newest row; the sample's "
        f"{found.time_column} spans {found.time_span_days:.0f} days, so a recording replayed "
        "out of time order keeps every row"
    )


def _kv(key: str, value: Any, comment: str = "") -> str:
    line = f"{key} = {_value(value)}"
    if not comment:
        return line
    return (
        f"{line.ljust(COMMENT_AT - 1)} # {comment}"
        if len(line) < COMMENT_AT - 1
        else f"{line}  # {comment}"
    )


def _array(key: str, items: Sequence[str], comment: str) -> list[str]:
    one_line = _kv(key, list(items), comment)
    if len(one_line) <= WRAP:
        return [one_line]
    return [f"{key} = [  # {comment}", *(f"    {_value(i)}," for i in items), "]"]


def _value(value: Any) -> str:
    """A TOML value: strings as basic strings (JSON's escapes are TOML's), booleans,
    numbers, arrays of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return repr(value)
