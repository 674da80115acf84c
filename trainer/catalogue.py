"""The estimators a model spec file may name, per task, and the parameters each takes.

A spec file's `[pipeline] estimator` is a name from this catalogue and `[pipeline.params]` its
keyword arguments. A parameter is settable when the estimator's signature
(`inspect.signature`) gives it a plain value: a boolean, a number, a string or a list (its
default's type, or one its annotation names). A parameter that takes a river object (an
optimizer, a splitter, a drift detector) cannot be written in TOML; one has a plain stand-in,
`learning_rate` (linear models): the step of their SGD optimizer (river's default 0.01).

Estimators that draw random numbers get `seed = 42` unless the spec sets one: the same events
must give the same model (the spec contract suite checks it).

Only estimators whose trained snapshots the scorers' restricted unpickler admits are listed
(a test trains each and loads it through `safe_loads`). river 0.26's SoftmaxRegression,
GaussianNB, passive-aggressive and nearest-neighbour models, and its regression trees
(HoeffdingTreeRegressor, HoeffdingAdaptiveTreeRegressor, ARFRegressor) pickle functions or
bound methods, which scorers refuse, so a multi-class logistic regression is one-vs-rest here
and a regression has no tree yet (AMFRegressor loads, but predicts None until it has learned,
which the trainer's test-then-train cannot score). For anything else, write a
`module:factory` spec (docs/model-specs.md).

>>> names("regression")
('LinearRegression', 'BayesianLinearRegression')
>>> print(*problem("binary", "LogisticRegresion", {}), sep=": ")
estimator: 'LogisticRegresion' is not in the catalogue for a binary task (try: LogisticRegression, ...)
>>> print(*problem("binary", "LogisticRegression", {"l2": "much"}), sep=": ")
l2: must be a number, not the string "much"
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from river import forest, linear_model, multiclass, optim, tree

from lazarus.schemas.tabular import TaskKind

DEFAULT_SEED = 42
CLASSIFY: tuple[TaskKind, ...] = ("binary", "multiclass")


@dataclass(frozen=True)
class Extra:
    """A parameter the catalogue adds: a plain value in the spec file, a river object (built
    afresh for every model) in the estimator's argument `arg`."""

    name: str
    types: tuple[type, ...]
    default: Any
    arg: str
    build: Callable[[Any], Any]
    """The river object of a (positive) value."""


LEARNING_RATE = Extra("learning_rate", (int, float), None, "optimizer", optim.SGD)


@dataclass(frozen=True)
class Entry:
    name: str
    cls: type
    tasks: tuple[TaskKind, ...]
    about: str
    extras: tuple[Extra, ...] = field(default=())
    types: dict[str, tuple[type, ...]] = field(default_factory=dict)
    """Value types of parameters whose signature says too little (`alpha=1` takes floats)."""
    wrap: Callable[[Any], Any] | None = None
    """What the estimator is wrapped in (a binary classifier made multi-class)."""


_MAX_FEATURES: dict[str, tuple[type, ...]] = {"max_features": (str, int, float)}
"""A forest's features per split: "sqrt", "log2", a count or a fraction."""

CATALOGUE: tuple[Entry, ...] = (
    Entry("LogisticRegression", linear_model.LogisticRegression, ("binary",),
          "linear, log loss (the default)", (LEARNING_RATE,)),
    Entry("LogisticRegression", linear_model.LogisticRegression, ("multiclass",),
          "linear, one logistic regression per class (one-vs-rest; the default)",
          (LEARNING_RATE,), wrap=multiclass.OneVsRestClassifier),
    Entry("Perceptron", linear_model.Perceptron, ("binary",), "linear, hinge loss"),
    Entry("LinearRegression", linear_model.LinearRegression, ("regression",),
          "linear, squared loss (the default)", (LEARNING_RATE,)),
    Entry("BayesianLinearRegression", linear_model.BayesianLinearRegression, ("regression",),
          "linear, Bayesian (no learning rate to tune)", (),
          {"alpha": (int, float), "beta": (int, float)}),
    Entry("HoeffdingTreeClassifier", tree.HoeffdingTreeClassifier, CLASSIFY, "a decision tree"),
    Entry("HoeffdingAdaptiveTreeClassifier", tree.HoeffdingAdaptiveTreeClassifier, CLASSIFY,
          "a decision tree that replaces branches when the data drifts"),
    Entry("ARFClassifier", forest.ARFClassifier, CLASSIFY,
          "adaptive random forest of Hoeffding trees (larger snapshots)", (), _MAX_FEATURES),
    Entry("AMFClassifier", forest.AMFClassifier, CLASSIFY,
          "aggregated Mondrian forest (larger snapshots)"),
)  # fmt: skip

DEFAULT: dict[TaskKind, str] = {
    "binary": "LogisticRegression",
    "multiclass": "LogisticRegression",
    "regression": "LinearRegression",
}


class Problem(NamedTuple):
    """What is wrong: `key` is "estimator", the name of a parameter, or "" (the parameters
    together: the estimator refused them)."""

    key: str
    message: str


def entries(task: TaskKind) -> tuple[Entry, ...]:
    """The catalogue's estimators for `task`, in the catalogue's order."""
    return tuple(e for e in CATALOGUE if task in e.tasks)


def names(task: TaskKind) -> tuple[str, ...]:
    return tuple(e.name for e in entries(task))


def problem(task: TaskKind, name: str, params: dict[str, Any]) -> Problem | None:
    """Why `name` with `params` is not a valid estimator for `task`, or None."""
    found = {e.name: e for e in entries(task)}.get(name)
    if found is None:
        choices = names(task)
        close = difflib.get_close_matches(name, choices, n=1)
        shown = ", ".join([*close, "..."]) if close else ", ".join(choices)
        return Problem(
            "estimator", f"{name!r} is not in the catalogue for a {task} task (try: {shown})"
        )
    settable = settable_params(found)
    for key, value in params.items():
        if key not in settable:
            known = ", ".join(sorted(settable))
            return Problem(
                key, f"{name} takes no parameter {key!r} in a spec file (it takes: {known})"
            )
        bad = _bad_value(value, settable[key])
        if bad is not None:
            return Problem(key, bad)
    for extra in found.extras:
        value = params.get(extra.name)
        if value is not None and not value > 0:
            return Problem(extra.name, f"must be positive, not {value}")
    try:
        make_estimator(task, name, params)
    except Exception as exc:  # river's own argument checks
        return Problem("", f"{name}({_args(params)}) raised {type(exc).__name__}: {exc}")
    return None


def make_estimator(task: TaskKind, name: str, params: dict[str, Any]) -> Any:
    """A fresh estimator `name` with `params` (checked by `problem` first)."""
    [entry] = [e for e in entries(task) if e.name == name]
    kwargs = {k: v for k, v in params.items() if k not in {x.name for x in entry.extras}}
    for extra in entry.extras:
        value = params.get(extra.name, extra.default)
        if value is not None:
            kwargs[extra.arg] = extra.build(value)
    if "seed" in inspect.signature(entry.cls).parameters:
        kwargs.setdefault("seed", DEFAULT_SEED)
    model = entry.cls(**kwargs)
    return model if entry.wrap is None else entry.wrap(model)


def settable_params(entry: Entry) -> dict[str, tuple[type, ...]]:
    """Parameter -> the TOML value types it takes (see the module's docstring)."""
    out: dict[str, tuple[type, ...]] = {}
    taken = {x.arg for x in entry.extras}
    for p in inspect.signature(entry.cls).parameters.values():
        if p.name in taken or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        types = entry.types.get(p.name) or _types(p)
        if types:
            out[p.name] = types
    for extra in entry.extras:
        out[extra.name] = extra.types
    return out


_TOKENS: dict[str, tuple[type, ...]] = {
    "bool": (bool,),
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "list": (list,),
}


def _types(p: inspect.Parameter) -> tuple[type, ...]:
    annotation = p.annotation if isinstance(p.annotation, str) else ""
    found: list[type] = []
    for token in annotation.split("|"):
        found.extend(_TOKENS.get(token.strip(), ()))
    default = p.default
    if isinstance(default, bool | int | float | str):
        found.extend(_TOKENS[type(default).__name__])
    return tuple(dict.fromkeys(found))


def _bad_value(value: Any, types: tuple[type, ...]) -> str | None:
    if isinstance(value, bool):
        ok = bool in types
    elif isinstance(value, int | float | str | list):
        ok = type(value) in types
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be finite, not {value}"
    else:
        ok = False
    if ok:
        return None
    wanted = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
              list: "an array"}  # fmt: skip
    if float in types:
        types = tuple(t for t in types if t is not int)
    return f"must be {' or '.join(wanted[t] for t in types)}, not {_kind(value)}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f'the string "{value[:60]}"'
    if isinstance(value, int | float):
        return f"the number {value}"
    return "an array" if isinstance(value, list) else f"a {type(value).__name__}"


def _args(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())
