"""The simulated feeds: deterministic under a seed, valid against the contracts, drifting on cue."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from producers.genome_sim import GenomicsLab, LabConfig
from producers.ids import Emitted
from producers.sensor_sim import SensorNetwork, SimConfig
from producers.truth import habitat_occupancy_p
from schemas import GenomicSample, Outcome, SensorReading

START = datetime(2026, 1, 1, tzinfo=UTC)


def take(stream: Iterable[Emitted], n: int) -> list[Emitted]:
    return list(itertools.islice(stream, n))


def test_sensor_feed_is_deterministic_under_seed() -> None:
    a = take(iter(SensorNetwork(SimConfig(seed=3), START)), 2000)
    b = take(iter(SensorNetwork(SimConfig(seed=3), START)), 2000)
    c = take(iter(SensorNetwork(SimConfig(seed=4), START)), 2000)
    assert a == b
    assert a != c


def test_genome_feed_is_deterministic_under_seed() -> None:
    assert take(iter(GenomicsLab(LabConfig(seed=3), START)), 500) == take(
        iter(GenomicsLab(LabConfig(seed=3), START)), 500
    )


def test_sensor_feed_matches_the_contract_except_its_faulty_values() -> None:
    cfg = SimConfig(seed=1, fault_rate=0.01)
    faulty = 0
    kinds = set()
    for key, raw, raw_outcome in itertools.islice(SensorNetwork(cfg, START), 5000):
        assert raw_outcome is not None
        outcome = Outcome.model_validate_json(raw_outcome)
        reading = json.loads(raw)
        assert (
            outcome.event_ref == reading["event_id"]
            and outcome.subject == reading["site_id"] == key
        )
        if 9999.0 in reading["measurements"].values():
            faulty += 1
            continue
        kinds.add(SensorReading.model_validate_json(raw).kind.value)
    assert 20 <= faulty <= 90, faulty  # about 1 % of 5000
    assert kinds == {"climate", "soil", "vegetation", "acoustic", "edna"}


def test_sensor_feed_has_missing_readings() -> None:
    cfg = SimConfig(seed=1, missing_rate=0.3)
    readings = [json.loads(r) for _, r, _ in itertools.islice(SensorNetwork(cfg, START), 500)]
    sizes = {len(r["measurements"]) for r in readings if r["kind"] == "climate"}
    assert len(sizes) > 1


def test_genome_feed_matches_the_contract() -> None:
    species = set()
    for key, sample, outcome in itertools.islice(GenomicsLab(LabConfig(seed=2), START), 1000):
        s = GenomicSample.model_validate_json(sample)
        assert key == s.individual_id
        assert (
            outcome is not None and Outcome.model_validate_json(outcome).subject == s.individual_id
        )
        species.add(s.species)
    assert species == {"dire_wolf", "thylacine", "woolly_mammoth"}


def test_label_fraction_thins_outcomes() -> None:
    pairs = list(itertools.islice(SensorNetwork(SimConfig(label_fraction=0.25), START), 4000))
    share = sum(o is not None for _, _, o in pairs) / len(pairs)
    assert 0.2 < share < 0.3


def test_concept_drift_changes_the_truth() -> None:
    warm = {"temperature_c": 18.0}
    assert habitat_occupancy_p(warm, 0.0, drifted=True) > habitat_occupancy_p(
        warm, 0.0, drifted=False
    )

    def positives(drift_at: int) -> float:
        pairs = itertools.islice(SensorNetwork(SimConfig(seed=5, drift_at=drift_at), START), 6000)
        return sum(bool(o and json.loads(o)["label"]) for _, _, o in pairs) / 6000

    assert positives(-1) != positives(0)


def test_event_times_advance_by_the_interval() -> None:
    cfg = SimConfig(sites=2, sensors_per_site=2, interval_s=60, fault_rate=0.0)
    times = [
        SensorReading.model_validate_json(r).event_time
        for _, r, _ in itertools.islice(SensorNetwork(cfg, START), 8)
    ]
    assert times[0] == START and (times[4] - times[0]).total_seconds() == 60
