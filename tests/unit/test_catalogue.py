"""The estimator catalogue and the pipelines built from spec files: every estimator it offers
passes the spec contract suite (`check_spec`) and loads in a scorer; bad names and parameters
are refused; missing values, unseen categories and the hash seed change nothing they should not."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lazarus.registry.canonical import canonical_dumps
from lazarus.registry.safe_pickle import safe_loads
from lazarus.schemas.outcomes import Outcome, OutcomeKind
from lazarus.schemas.specfile import SpecFile, parse_spec
from lazarus.schemas.tabular import TASKS, TaskKind
from lazarus.scorer.predictors import describe, predictor_for
from lazarus.trainer import catalogue
from lazarus.trainer.checks import Check, Stream, check_name, yield_checks
from lazarus.trainer.specfile import spec_from
from lazarus.trainer.specs import ModelSpec

CLASSES = {
    "binary": 'classes = ["absent", "present"]\npositive = "present"',
    "multiclass": 'classes = ["bog", "fen", "reed"]',
    "regression": "",
}
START = datetime(2026, 1, 1, tzinfo=UTC)


def spec_file(
    task: TaskKind, estimator: str, *, categorical: bool = False, time_features: bool = False
) -> SpecFile:
    text = f"""\
        [model]
        name = "survey"
        task = "{task}"
        {CLASSES[task]}
        [data]
        label_column = "y"
        time_column = "t"
        time_features = {str(time_features).lower()}
        [features]
        numeric = ["depth_m", "ph"]
        categorical = [{'"habitat"' if categorical else ""}]
        [pipeline]
        estimator = "{estimator}"
        """
    return parse_spec(textwrap.dedent(text).replace("\n        ", "\n"), "survey.toml")


def stream(spec: ModelSpec, task: TaskKind, n: int = 240, seed: int = 1) -> Stream:
    """Rows with missing cells (10 %), and categories that only appear half-way."""
    rng = random.Random(seed)
    record = spec.inputs[0].event
    columns = {c.name for c in record.COLUMNS}  # type: ignore[attr-defined]
    out: Stream = []
    for i in range(n):
        depth, ph = rng.gauss(2, 1), rng.gauss(7, 0.5)
        habitat = rng.choice(["reed", "bog"] + (["fen", "marsh"] if i > n // 2 else []))
        values: dict[str, Any] = {"depth_m": depth, "ph": ph, "habitat": habitat}
        values = {k: v for k, v in values.items() if k in columns and rng.random() > 0.1}
        score = depth + (1.0 if habitat == "reed" else 0.0)
        label: Any = {
            "binary": "present" if score > 2.5 else "absent",
            "multiclass": ["bog", "fen", "reed"][min(2, max(0, int(score)))],
            "regression": 3 * depth + ph,
        }[task]
        at = START + timedelta(minutes=37 * i)
        event = record(event_id=f"r{i}", event_time=at, values=values)
        outcome = Outcome(
            event_id=f"o{i}",
            event_time=at,
            kind=OutcomeKind.LABEL,
            subject="all",
            event_ref=f"r{i}",
            label=label,
        )
        out.append((event, outcome))
    return out


ESTIMATORS = [(task, name) for task in TASKS for name in catalogue.names(task)]


@pytest.mark.parametrize(
    ("task", "estimator", "check"),
    [
        pytest.param(task, name, check, id=f"{task}-{name}-{check_name(check)}")
        for task, name in ESTIMATORS
        for check in yield_checks(
            spec_from(spec_file(task, name, time_features=True)), predictor_for=predictor_for
        )
    ],
)
def test_every_catalogue_estimator_passes_the_spec_contract_suite(
    task: TaskKind, estimator: str, check: Check
) -> None:
    spec = spec_from(spec_file(task, estimator, time_features=True))
    check(spec, stream(spec, task))


def test_a_spec_with_categorical_columns_passes_the_spec_contract_suite() -> None:
    spec = spec_from(spec_file("multiclass", "LogisticRegression", categorical=True))
    for check in yield_checks(spec, predictor_for=predictor_for):
        check(spec, stream(spec, "multiclass"))


@pytest.mark.parametrize(("task", "estimator"), ESTIMATORS, ids=[f"{t}-{n}" for t, n in ESTIMATORS])
def test_categorical_pipelines_take_missing_values_and_unseen_categories_and_load_in_a_scorer(
    task: TaskKind, estimator: str
) -> None:
    spec = spec_from(spec_file(task, estimator, categorical=True, time_features=True))
    codec = spec.contract.labels
    model = spec.pipeline()
    rows = stream(spec, task)
    for event, outcome in rows:
        x = event.to_features()  # type: ignore[attr-defined]
        model.predict_one(x)
        model.learn_one(x, codec.target(outcome.label))
    served = safe_loads(canonical_dumps(model))  # what scorers unpickle: the allowlist admits it
    unseen = {"depth_m": 1.0, "habitat": "salt marsh", "hour_sin": 0.0}
    for x in (unseen, {}, {"habitat": "reed"}):
        assert served.predict_one(x) == model.predict_one(x)


def test_a_numeric_logistic_regression_is_served_folded() -> None:
    spec = spec_from(spec_file("binary", "LogisticRegression"))
    assert describe(predictor_for(spec.pipeline(), "classification")) == "folded linear"


SNAPSHOT_DIGEST = """
import hashlib
from tests.unit.test_catalogue import spec_file, stream
from lazarus.registry.canonical import canonical_dumps
from lazarus.trainer.specfile import spec_from
spec = spec_from(spec_file("multiclass", "{estimator}", categorical=True))
model = spec.pipeline()
for event, outcome in stream(spec, "multiclass"):
    model.learn_one(event.to_features(), outcome.label)
print(hashlib.sha256(canonical_dumps(model)).hexdigest())
"""


@pytest.mark.parametrize("estimator", ["LogisticRegression", "HoeffdingTreeClassifier"])
def test_the_same_events_seal_to_the_same_bytes_whatever_the_hash_seed(estimator: str) -> None:
    """String categories (one-hot) and string classes (a tree's set of classes) are sets, whose
    order follows the process's hash seed: snapshots pickle them sorted."""
    digests = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        code = SNAPSHOT_DIGEST.format(estimator=estimator)
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stderr
        digests.add(run.stdout.strip())
    assert len(digests) == 1, digests


def test_an_unknown_estimator_suggests_the_closest() -> None:
    problem = catalogue.problem("multiclass", "HoefdingTreeClassifier", {})
    assert problem is not None and problem.key == "estimator"
    assert "for a multiclass task (try: HoeffdingTreeClassifier, ...)" in problem.message
    assert catalogue.problem("regression", "LogisticRegression", {}) is not None


@pytest.mark.parametrize(
    ("estimator", "params", "key", "message"),
    [
        ("LogisticRegression", {"optimizer": "sgd"}, "optimizer", "takes no parameter 'optimizer'"),
        ("LogisticRegression", {"l2": True}, "l2", "must be a number, not the boolean true"),
        ("HoeffdingTreeClassifier", {"grace_period": 2.5}, "grace_period", "must be an integer"),
        ("HoeffdingTreeClassifier", {"split_criterion": 3}, "split_criterion", "must be a string"),
        ("LogisticRegression", {"learning_rate": -0.1}, "learning_rate", "must be positive"),
        ("LogisticRegression", {"l1": float("inf")}, "l1", "must be finite"),
    ],
)
def test_a_bad_parameter_is_named(
    estimator: str, params: dict[str, Any], key: str, message: str
) -> None:
    problem = catalogue.problem("binary", estimator, params)
    assert problem is not None and problem.key == key and message in problem.message, problem


def test_parameters_reach_the_estimator_and_seeds_default_to_a_fixed_one() -> None:
    tree = catalogue.make_estimator("binary", "HoeffdingAdaptiveTreeClassifier", {"max_depth": 4})
    assert tree.max_depth == 4 and tree.seed == catalogue.DEFAULT_SEED
    seeded = catalogue.make_estimator("binary", "ARFClassifier", {"seed": 7, "n_models": 3})
    assert seeded.seed == 7 and seeded.n_models == 3
    a = catalogue.make_estimator("regression", "LinearRegression", {"learning_rate": 0.05})
    b = catalogue.make_estimator("regression", "LinearRegression", {"learning_rate": 0.05})
    assert a.optimizer.learning_rate == 0.05 and a.optimizer is not b.optimizer
    multi = catalogue.make_estimator("multiclass", "LogisticRegression", {"l2": 0.1})
    assert type(multi).__name__ == "OneVsRestClassifier" and multi.classifier.l2 == 0.1


def test_a_spec_file_model_has_a_stable_digest_in_this_process() -> None:
    spec = spec_from(spec_file("binary", "LogisticRegression", categorical=True))
    digests = []
    for _ in range(2):
        model = spec.pipeline()
        for event, outcome in stream(spec, "binary", n=80):
            model.learn_one(event.to_features(), spec.contract.labels.target(outcome.label))  # type: ignore[attr-defined]
        digests.append(hashlib.sha256(canonical_dumps(model)).hexdigest())
    assert digests[0] == digests[1]
