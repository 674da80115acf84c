"""Every built-in model spec passes every check of the spec contract suite (`check_spec`)."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime

import pytest

from lazarus.producers.genome_sim import GenomicsLab, LabConfig
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas import Outcome
from lazarus.scorer.predictors import predictor_for
from lazarus.trainer.checks import Check, Stream, check_name, check_spec, yield_checks
from lazarus.trainer.specs import BUILTIN, ModelSpec, habitat

START = datetime(2026, 1, 1, tzinfo=UTC)


@functools.cache
def stream(name: str, n: int = 600) -> Stream:
    """The simulator's events for model `name`, each with the outcome that labels it."""
    spec = BUILTIN[name]()
    source = (
        SensorNetwork(SimConfig(seed=3, fault_rate=0), START)
        if name.startswith("habitat")  # habitat and habitat_sites (per site) read readings
        else GenomicsLab(LabConfig(seed=3), START)
    )
    return [
        (spec.inputs[0].decode(raw), Outcome.model_validate_json(out))
        for _, raw, out in itertools.islice(source, n)
        if out is not None
    ]


CASES = [
    pytest.param(name, check, id=f"{name}-{check_name(check)}")
    for name in sorted(BUILTIN)
    for check in yield_checks(BUILTIN[name](), predictor_for=predictor_for)
]


@pytest.mark.parametrize(("name", "check"), CASES)
def test_spec_checks(name: str, check: Check) -> None:
    check(BUILTIN[name](), stream(name))


def test_a_spec_whose_model_mutates_its_input_fails_its_check() -> None:
    class Mutates:
        def learn_one(self, x: dict[str, float], y: object) -> None:
            x.clear()

        def predict_one(self, x: dict[str, float]) -> bool:
            return True

        def predict_proba_one(self, x: dict[str, float]) -> dict[bool, float]:
            return {True: 1.0}

    spec: ModelSpec = habitat().replace(pipeline=Mutates)
    [check] = [
        c for c in yield_checks(spec) if check_name(c) == "check_learn_one_does_not_mutate_x"
    ]
    with pytest.raises(AssertionError, match="changed its features"):
        check(spec, stream("habitat"))


def test_a_spec_with_your_own_classes_passes_given_its_modules_and_fails_without() -> None:
    """As `LAZARUS_SNAPSHOT_MODULES` lets trainer and scorers load them, `modules=` lets the
    suite: without it, the trainer's publisher refuses the snapshot, naming the module."""
    from lazarus.trainer.servable import UnservableModel
    from tests.custom_models import make_spec

    spec = make_spec()
    habitat_stream = stream("habitat")
    check_spec(spec, habitat_stream, predictor_for=predictor_for, modules=("tests.custom_models",))
    with pytest.raises(UnservableModel, match=r"scorers would refuse.*tests\.custom_models"):
        check_spec(spec, habitat_stream, predictor_for=predictor_for)
