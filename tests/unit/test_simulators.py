"""The simulated feeds: deterministic under a seed, valid against the contracts, drifting on cue."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from lazarus.producers.clock import step_seconds
from lazarus.producers.feed import FeedLimits, run_feed
from lazarus.producers.genome_sim import GenomicsLab, LabConfig
from lazarus.producers.ids import Emitted, epoch_ms
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.producers.truth import habitat_occupancy_p
from lazarus.schemas import GenomicSample, Outcome, SensorReading

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


def test_stamped_times_are_the_event_times_and_iteration_is_unchanged() -> None:
    for sim in (
        SensorNetwork(SimConfig(seed=2, interval_s=0.3, label_delay_s=5), START),
        GenomicsLab(LabConfig(seed=2, interval_s=0.005, label_delay_s=5), START),
    ):
        stamped = list(itertools.islice(sim.stamped(), 300))
        assert [s[:3] for s in stamped] == take(iter(sim), 300)
        for _, raw, raw_outcome, at_ms, outcome_ms in stamped:
            assert at_ms == epoch_ms(datetime.fromisoformat(json.loads(raw)["event_time"]))
            assert raw_outcome is not None
            outcome = Outcome.model_validate_json(raw_outcome)
            assert outcome_ms == epoch_ms(outcome.event_time) == at_ms + 5000


def test_paced_simulated_time_keeps_step_with_the_rate() -> None:
    """At `rate` events per second, event n is n / rate seconds after the start, whatever the
    simulator's shape: the wall clock and simulated time advance together. Unpaced, the
    simulators keep their own steps (600 s per sensor reading, 3600 s per assay)."""
    rate = 200.0
    cfg = SimConfig(sites=12, sensors_per_site=5, interval_s=step_seconds(rate, 60, 600.0))
    times = [s[3] for s in itertools.islice(SensorNetwork(cfg, START).stamped(), 6000)]
    # 6000 readings are 100 ticks of 60 sensors (one time per tick): 99 ticks of 60 / rate s.
    assert times[-1] - times[0] == 99 * 60 / rate * 1000
    lab = LabConfig(interval_s=step_seconds(rate, 1, 3600.0))
    times = [s[3] for s in itertools.islice(GenomicsLab(lab, START).stamped(), 1001)]
    assert times[-1] - times[0] == 1000 / rate * 1000
    assert step_seconds(None, 60, SimConfig.interval_s) == 600.0
    assert step_seconds(None, 1, LabConfig.interval_s) == 3600.0


class Recorder:
    """Stands in for `Publisher`: keeps (topic, value, timestamp) in the order sent, and when
    (monotonic seconds) each was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, int | None]] = []
        self.when: list[float] = []

    def publish_many(
        self,
        messages: list[tuple[str, Any, bytes]],
        on_delivery: Any = None,
        timestamps: list[int] | None = None,
    ) -> None:
        stamps = timestamps if timestamps is not None else [None] * len(messages)
        for (topic, key, value), ts in zip(messages, stamps, strict=True):
            self.publish(topic, key, value, ts)

    def publish(self, topic: str, key: Any, value: bytes, timestamp: int | None = None) -> None:
        self.sent.append((topic, value, timestamp))
        self.when.append(time.monotonic())

    def poll(self, timeout: float = 0.0) -> int:
        return 0


TTL_MS = 14 * 86400 * 1000
"""The built-in models' pending TTL: features wait this long, in event time, for outcomes."""


def join_lags_ms(sent: list[tuple[str, bytes, int | None]]) -> list[int]:
    """For each outcome in send order, how far the trainer's join clock (the newest feature
    time) had run past the features it labels: past the TTL, they would have expired."""
    clock, times, lags = 0, {}, []
    for topic, value, _ in sent:
        event = json.loads(value)
        if topic == "events":
            at = epoch_ms(datetime.fromisoformat(event["event_time"]))
            times[event["event_id"]] = at
            clock = max(clock, at)
        else:
            lags.append(clock - times[event["event_ref"]])
    return lags


@pytest.mark.parametrize("interval_s", [3600.0, 600.0])
def test_an_unpaced_feed_never_runs_past_its_outcomes(interval_s: float) -> None:
    """Unpaced, a genome feed stamps 3600 s per assay and sends thousands a second; outcomes
    held for a wall-clock label delay alone would come weeks of event time late (issue #12:
    `viability` never learned). Each goes out once the feed reaches its event time."""
    lab = GenomicsLab(LabConfig(seed=4, interval_s=interval_s, label_delay_s=5.0), START)
    out = Recorder()
    count = 3000
    stats = run_feed(
        lab.stamped(),
        out,  # type: ignore[arg-type]
        topic="events",
        outcome_topic="outcomes",
        limits=FeedLimits(count=count, label_delay=5.0),
        # Once every event is out, the last outcomes go at once (not after 5 wall seconds).
        stopped=lambda: sum(t == "events" for t, _, _ in out.sent) >= count,
    )
    assert stats.events == count and stats.outcomes == count
    lags = join_lags_ms(out.sent)
    assert len(lags) == count and max(lags) <= 5000  # never more than the label delay
    assert max(lags) < TTL_MS / 100
    for topic, value, ts in out.sent:  # every message carries its event time
        assert ts == epoch_ms(datetime.fromisoformat(json.loads(value)["event_time"])), topic


def test_a_paced_feed_stamps_the_wall_clock_and_holds_outcomes_until_due() -> None:
    rate, delay = 400.0, 0.5
    start = datetime.now(UTC).replace(microsecond=0)
    cfg = SimConfig(seed=6, interval_s=step_seconds(rate, 60, 600.0), label_delay_s=delay)
    out = Recorder()
    started = time.time()
    run_feed(
        SensorNetwork(cfg, start).stamped(),
        out,  # type: ignore[arg-type]
        topic="events",
        outcome_topic="outcomes",
        limits=FeedLimits(rate=rate, count=400, label_delay=delay),
        stopped=lambda: False,
    )
    stamps = [ts for _, _, ts in out.sent if ts is not None]
    assert len(stamps) == len(out.sent) == 800
    # Simulated time is the wall clock (from a start rounded down to the second): never ahead.
    assert max(stamps) <= time.time() * 1000 and min(stamps) >= (started - 2) * 1000
    # The join's clock never runs past the features an outcome labels by more than the delay.
    assert max(join_lags_ms(out.sent)) <= delay * 1000
    sent_at = {}
    for i, (topic, value, ts) in enumerate(out.sent):
        event = json.loads(value)
        if topic == "events":
            sent_at[event["event_id"]] = out.when[i]
            continue
        # Due on the wall clock, or the next event is at or past this outcome's event time.
        waited = out.when[i] - sent_at[event["event_ref"]] >= delay - 0.01
        later = [t for topic, _, t in out.sent[i:] if topic == "events"]
        assert waited or (later and cast(int, later[0]) >= cast(int, ts)), (i, event)
