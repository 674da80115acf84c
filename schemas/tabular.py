"""The contract of a model over the user's own tabular data: its records, labels and topics.

A model spec file (`lazarus spec init`) declares columns, a task and classes; this builds the
`ModelContract` that trainer, scorers and the quality monitor share. Its topics are its own:

- `<model>.records.v1`: the rows (`lazarus.schemas.records`), keyed by subject;
- `<model>.outcomes.v1`: their labels (`Outcome`, kind `label`, `event_ref` = the row's id);
- `<model>.scores.v1`: the scores.

>>> from lazarus.schemas.records import Column
>>> c = tabular_contract("survey", (Column("depth_m", "numeric"),), "binary",
...                      classes=("absent", "present"), positive="present")
>>> [t.name for t in (*c.inputs, c.outcomes, c.scores)], c.metrics
(['survey.records.v1', 'survey.outcomes.v1', 'survey.scores.v1'], ('Accuracy', 'LogLoss'))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from lazarus.schemas.contract import ModelContract
from lazarus.schemas.errors import ConfigError
from lazarus.schemas.outcomes import Outcome, OutcomeKind
from lazarus.schemas.records import Column, record_type
from lazarus.schemas.scores import Score
from lazarus.schemas.topics import Topic

TaskKind = Literal["binary", "multiclass", "regression"]
TASKS: tuple[TaskKind, ...] = ("binary", "multiclass", "regression")

DEFAULT_METRICS: dict[TaskKind, tuple[str, ...]] = {
    "binary": ("Accuracy", "LogLoss"),
    "multiclass": ("Accuracy", "CrossEntropy"),
    "regression": ("MAE", "RMSE"),
}
"""River metric names per task, primary first."""


def tabular_contract(
    name: str,
    columns: Sequence[Column],
    task: TaskKind,
    *,
    classes: Sequence[Any] | None = None,
    positive: Any = None,
    time_features: bool = False,
    segment_fields: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    min_learned: int = 1,
    description: str = "",
) -> ModelContract:
    """The contract of model `name` over records with `columns`. `ConfigError` when the task
    and classes disagree (a binary model has two classes, a multiclass one more, a regression
    none), a segment field is neither `subject` nor a column, or a column is misdeclared."""
    if task not in TASKS:
        raise ConfigError(f"model {name!r}: task {task!r} is not one of {', '.join(TASKS)}")
    if task == "regression" and classes is not None:
        raise ConfigError(f"model {name!r}: a regression has no classes")
    if task != "regression":
        if classes is None or len(classes) < 2:
            raise ConfigError(f"model {name!r}: a {task} model names its classes")
        if task == "binary" and len(classes) != 2:
            raise ConfigError(f"model {name!r}: a binary model has two classes, not {len(classes)}")
        if task == "multiclass" and len(classes) < 3:
            raise ConfigError(f"model {name!r}: two classes make a binary model, not a multiclass")
    cols = tuple(columns)
    record = record_type(name, cols, time_features)
    known = {"subject", *(c.name for c in cols)}
    for f in segment_fields:
        if f not in known:
            raise ConfigError(
                f"model {name!r}: segment field {f!r} is neither 'subject' nor a column"
            )
    return ModelContract(
        name=name,
        inputs=(Topic(f"{name}.records.v1", record, f"rows of {name}'s data"),),
        outcomes=Topic(f"{name}.outcomes.v1", Outcome, f"labels of {name}'s rows"),
        outcome_kind=OutcomeKind.LABEL,
        metrics=tuple(metrics) if metrics else DEFAULT_METRICS[task],
        segment_fields=tuple(segment_fields),
        task="regression" if task == "regression" else "classification",
        scores=Topic(f"{name}.scores.v1", Score, f"scores of {name}"),
        classes=None if classes is None else tuple(classes),
        positive=positive,
        min_learned=min_learned,
        description=description or f"{name}: records -> {task}",
    )
