"""The trainer's lifecycle: a drift of the prequential error detected in the learner, and what
the spec's drift policy does about it (alert, a fresh challenger, a reset), deterministically."""

from __future__ import annotations

import dataclasses
import itertools
import pickle
from datetime import UTC, datetime

import pytest

from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.safe_pickle import safe_loads
from lazarus.registry.signing import generate, parse_private
from lazarus.registry.store import MemorySnapshotStore
from lazarus.schemas import Outcome
from lazarus.schemas.lifecycle import DriftPolicy, Lifecycle, fresh_line
from lazarus.trainer.fresh_publishing import FreshPublisher
from lazarus.trainer.learner import Learner
from lazarus.trainer.specs import ModelSpec, habitat

START = datetime(2026, 1, 1, tzinfo=UTC)
DRIFT_AT = 6000


def stream(n: int, drift_at: int = DRIFT_AT) -> list[tuple[object, Outcome]]:
    spec = habitat()
    source = SensorNetwork(SimConfig(seed=5, fault_rate=0, drift_at=drift_at), START)
    return [
        (spec.inputs[0].decode(raw), Outcome.model_validate_json(out))
        for _, raw, out in itertools.islice(source, n)
        if out is not None
    ]


def spec_with(action: str) -> ModelSpec:
    spec = habitat()
    life = Lifecycle(drift=DriftPolicy(action=action))  # type: ignore[arg-type]
    return spec.replace(lifecycle=life)


def learn(learner: Learner, data: list[tuple[object, Outcome]], start: int = 0) -> Learner:
    for i, (event, outcome) in enumerate(data, start):
        learner.observe_features(event, i)  # type: ignore[arg-type]
        learner.observe_outcome(outcome)
    return learner


@pytest.fixture(scope="module")
def drifting() -> list[tuple[object, Outcome]]:
    return stream(12_000)


def test_a_concept_drift_is_detected_after_the_drift_point(
    drifting: list[tuple[object, Outcome]],
) -> None:
    learner = learn(Learner(spec_with("alert")), drifting)
    errors = [r for r in learner.take_drift_reports() if r.detection.source == "prequential"]
    assert errors, "no drift of the prequential error detected"
    first = errors[0]
    assert first.action == "alert" and first.acted_on is None
    assert first.detection.error_after > first.detection.error_before  # type: ignore[operator]
    assert learner.state.fresh is None and learner.state.resets == 0


def test_challenger_starts_a_fresh_line_at_the_drift_and_it_learns_from_there(
    drifting: list[tuple[object, Outcome]],
) -> None:
    learner = learn(Learner(spec_with("challenger")), drifting)
    fresh = learner.state.fresh
    assert fresh is not None and fresh.generation >= 1
    assert 0 < fresh.n_learned < learner.state.n_learned
    assert learner.state.resets == 0  # the champion goes on learning as it was


def test_reset_starts_the_main_model_afresh_and_min_learned_counts_again(
    drifting: list[tuple[object, Outcome]],
) -> None:
    learner = learn(Learner(spec_with("reset")), drifting)
    assert learner.state.resets >= 1
    assert 0 < learner.model_learned < learner.state.n_learned


def test_the_fresh_line_is_deterministic_across_a_restart_from_a_snapshot(
    drifting: list[tuple[object, Outcome]],
) -> None:
    spec = spec_with("challenger")
    straight = learn(Learner(spec), drifting)
    half = len(drifting) // 2 + 1500
    first = learn(Learner(spec), drifting[:half])
    first.checkpoint()
    state = safe_loads(pickle.dumps(first.state, protocol=5))  # what a restart unpickles
    again = learn(Learner(spec, state), drifting[half:], half)
    assert straight.state.fresh is not None and again.state.fresh is not None
    assert again.state.fresh.n_learned == straight.state.fresh.n_learned
    assert again.state.fresh.generation == straight.state.fresh.generation


def test_when_the_fresh_line_is_the_champion_a_drift_restarts_the_main_line() -> None:
    spec = spec_with("challenger")
    learner = Learner(spec)
    learner.fresh_is_champion = True
    learn(learner, stream(12_000))
    assert learner.state.fresh is None and learner.state.resets >= 1


def test_the_fresh_line_is_published_as_its_own_line_with_its_own_learned_count(
    drifting: list[tuple[object, Outcome]],
) -> None:
    spec = spec_with("challenger")
    store = MemorySnapshotStore()
    publisher = FreshPublisher(store, spec, parse_private(generate()[0]), 5)
    learner = Learner(spec)
    assert publisher.publish(learner) is None  # no drift yet: nothing to publish
    learn(learner, drifting)
    manifest = publisher.publish(learner)
    assert manifest is not None and learner.state.fresh is not None
    assert manifest.model == fresh_line("habitat") and manifest.version == 1
    assert manifest.n_learned == learner.state.fresh.n_learned
    assert manifest.trained_through == learner.state.offsets
    assert store.current(fresh_line("habitat")) == 1
    assert publisher.publish(learner) is None  # nothing new learned since


def test_a_feed_with_no_drift_raises_no_alarm_and_starts_nothing() -> None:
    learner = learn(Learner(spec_with("challenger")), stream(12_000, drift_at=-1))
    reports = learner.take_drift_reports()
    # the simulated weather follows the day and the seasons, so the inputs do move (KS alerts,
    # which never act); the error does not, and nothing starts
    assert [r for r in reports if r.detection.source == "prequential"] == []
    assert all(r.acted_on is None for r in reports)
    assert not {r.detection.feature for r in reports} & {"hour_sin", "hour_cos"}  # CYCLIC
    assert learner.state.fresh is None


def test_lifecycle_is_part_of_the_contract_and_compared_out() -> None:
    a = habitat().contract
    b = dataclasses.replace(a, lifecycle=Lifecycle(challenger_of="x"))
    assert a == b  # the policy does not change what the model is (the fingerprint, identity)
