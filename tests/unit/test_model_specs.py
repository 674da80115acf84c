"""One contract for every model spec: snapshot round-trip, pure learning, deterministic replay."""

from __future__ import annotations

import copy
import itertools
import json
import pickle
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from lazarus.errors import ConfigError
from lazarus.groups import known_groups
from lazarus.producers.genome_sim import GenomicsLab, LabConfig
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.safe_pickle import safe_loads
from lazarus.registry.signing import generate, parse_private
from lazarus.registry.store import MemorySnapshotStore
from lazarus.schemas import Outcome
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.schemas.models import BUILTIN as CONTRACTS
from lazarus.schemas.models import ON_REQUEST, load_contract
from lazarus.trainer.keyed import KeyedModel
from lazarus.trainer.keyed_learner import learner_of
from lazarus.trainer.learner import Learner, ModelFailure
from lazarus.trainer.publishing import SnapshotPublisher, restore
from lazarus.trainer.specs import BUILTIN, ModelSpec, habitat, load_spec

START = datetime(2026, 1, 1, tzinfo=UTC)
SIGNER = parse_private(generate()[0])


def events(name: str, n: int) -> list[tuple[object, Outcome]]:
    spec = load_spec(name)
    source = (
        SensorNetwork(SimConfig(seed=3, fault_rate=0), START)
        if name.startswith("habitat")  # habitat and habitat_sites (per site) read readings
        else GenomicsLab(LabConfig(seed=3), START)
    )
    topic = spec.inputs[0]
    return [
        (topic.decode(raw), Outcome.model_validate_json(out))
        for _, raw, out in itertools.islice(source, n)
        if out is not None
    ]


def run(spec: ModelSpec, data: list[tuple[object, Outcome]]) -> Learner:
    learner = learner_of(spec)(spec)
    for i, (event, outcome) in enumerate(data):
        learner.observe_features(event, i)  # type: ignore[arg-type]
        learner.observe_outcome(outcome)
    return learner


def answers(model: Any, xs: list[dict[str, float]]) -> list[Any]:
    """A model's probabilities for `xs`; a per-key model's through every key's route."""
    if isinstance(model, KeyedModel):
        routed = [model.route(k)[0] for k in [*sorted(model.models), "(unseen)"]]
        return [[m.predict_proba_one(x) for x in xs] for m in routed if m is not None]
    return [model.predict_proba_one(x) for x in xs]


@pytest.fixture(params=sorted(BUILTIN))
def spec(request: pytest.FixtureRequest) -> ModelSpec:
    return load_spec(request.param)


def test_state_round_trips_through_the_safe_unpickler(spec: ModelSpec) -> None:
    data = events(spec.name, 400)
    learner = run(spec, data)
    again = learner_of(spec)(spec, safe_loads(pickle.dumps(learner.state, protocol=5)))
    probe = [spec.inputs[0].event.to_features(e) for e, _ in data[:50]]  # type: ignore[attr-defined]
    assert answers(again.state.model, probe) == answers(learner.state.model, probe)
    assert again.state.n_learned == learner.state.n_learned > 0


def test_learning_does_not_mutate_features(spec: ModelSpec) -> None:
    model = spec.pipeline()
    event = events(spec.name, 1)[0][0]
    x = event.to_features()  # type: ignore[attr-defined]
    before = copy.deepcopy(x)
    model.learn_one(x, True)
    model.predict_proba_one(x)
    assert x == before


def test_replay_is_deterministic(spec: ModelSpec) -> None:
    data = events(spec.name, 600)
    a, b = run(spec, data), run(spec, data)
    probe = [e.to_features() for e, _ in data[:100]]  # type: ignore[attr-defined]
    assert answers(a.state.model, probe) == answers(b.state.model, probe)
    assert a.state.evaluation.report() == b.state.evaluation.report()
    assert pickle.dumps(a.state.join) == pickle.dumps(b.state.join)
    if spec.name.startswith(
        "habitat"
    ):  # one process, one run: byte-identical (ADWIN's Rust state is not)
        assert pickle.dumps(a.state) == pickle.dumps(b.state)


def test_test_then_train_predicts_before_it_learns() -> None:
    spec = habitat()
    data = events("habitat", 50)
    learner = learner_of(spec)(spec)
    shadow = spec.pipeline()
    hits = 0
    for i, (event, outcome) in enumerate(data):
        x = event.to_features()  # type: ignore[attr-defined]
        proba = shadow.predict_proba_one(x)
        hits += max(proba, key=proba.__getitem__) == outcome.label
        shadow.learn_one(x, outcome.label)
        learner.observe_features(event, i)  # type: ignore[arg-type]
        learner.observe_outcome(outcome)
    assert learner.state.evaluation.report()["overall"]["Accuracy"] == pytest.approx(
        hits / len(data)
    )


def test_a_model_that_raises_is_reported_not_fatal() -> None:
    class Broken:
        def predict_proba_one(self, x: dict[str, float]) -> dict[bool, float]:
            raise ValueError("boom")

    spec = habitat()
    learner = learner_of(spec)(spec)
    learner.state.model = Broken()
    event, outcome = events("habitat", 1)[0]
    learner.observe_features(event, 5)  # type: ignore[arg-type]
    result = learner.observe_outcome(outcome)
    assert isinstance(result, ModelFailure) and "boom" in str(result.error)
    assert learner.state.model_failures == 1 and learner.state.n_learned == 0


def test_outcomes_of_another_kind_are_ignored() -> None:
    learner = Learner(habitat())
    outcome = Outcome.model_validate(
        {
            "event_id": "o",
            "event_time": "2026-01-01T00:00:00Z",
            "kind": "viability",
            "subject": "x",
            "label": True,
        }
    )
    assert learner.observe_outcome(outcome) is None and learner.state.ignored_outcomes == 1


def test_custom_specs_load_by_import_path() -> None:
    assert load_spec("lazarus.trainer.specs:viability").name == "viability"
    with pytest.raises(ConfigError, match="unknown model"):
        load_spec("nope")
    with pytest.raises(ConfigError, match="cannot load"):
        load_spec("no.such.module:factory")
    with pytest.raises(ConfigError, match="not callable"):
        load_spec("lazarus.trainer.specs:BUILTIN")
    with pytest.raises(ConfigError, match="not a ModelSpec"):
        load_spec("builtins:dict")


def test_fingerprints_differ_between_models() -> None:
    assert load_spec("habitat").fingerprint != load_spec("viability").fingerprint
    assert json.dumps(sorted(BUILTIN)) == '["habitat", "habitat_sites", "viability"]'


def test_a_resumed_learner_publishes_the_digests_of_an_uninterrupted_one(spec: ModelSpec) -> None:
    """Issue #13: a trainer killed and restarted from its snapshot ends with the same
    model_sha256 as one never stopped, given the same events."""
    data = events(spec.name, 600)
    half = len(data) // 2

    def published(
        learner: Learner, start: int, stop: int, store: MemorySnapshotStore
    ) -> SnapshotManifest:
        for i, (event, outcome) in enumerate(data[start:stop], start):
            learner.observe_features(event, i)  # type: ignore[arg-type]
            learner.observe_outcome(outcome)
            learner.advance("t", 0, i)
        version = (store.latest(spec.name) or 0) + 1
        manifest = SnapshotPublisher(store, spec, SIGNER, version, keep=5).publish(learner)
        assert manifest is not None
        return manifest

    straight = published(learner_of(spec)(spec), 0, len(data), MemorySnapshotStore())
    store = MemorySnapshotStore()
    published(learner_of(spec)(spec), 0, half, store)  # then killed
    resumed = published(
        restore(store, spec, SIGNER, from_beginning=False)[0], half, len(data), store
    )
    assert resumed.n_learned == straight.n_learned
    assert resumed.model_sha256 == straight.model_sha256


def test_contracts_are_the_one_table_of_models() -> None:
    assert {n: f().contract for n, f in BUILTIN.items()} == CONTRACTS | ON_REQUEST
    assert "habitat_sites" not in CONTRACTS  # `lazarus up` starts only CONTRACTS
    assert load_contract("habitat") is CONTRACTS["habitat"]
    assert load_contract("lazarus.trainer.specs:viability") == CONTRACTS["viability"]
    with pytest.raises(ConfigError, match="not a ModelSpec or a ModelContract"):
        load_contract("builtins:dict")
    groups = known_groups("")
    assert groups["lazarus.trainer.viability"] == (
        "genomics.samples.v1",
        "genomics.viability_outcomes.v1",
    )


def test_the_contract_imports_no_river() -> None:
    code = "import sys, lazarus.schemas.models, lazarus.scorer.app, lazarus.quality.app; "
    code += "print(sorted(m for m in sys.modules if m.startswith(('river', 'lazarus.trainer'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert [m for m in eval(out.stdout) if m.startswith("lazarus.trainer")] == []
