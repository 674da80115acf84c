"""The trainer's decoding stage and its flow control, without a broker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import pytest

from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas import Outcome
from lazarus.schemas.sensors import SensorReading
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS, Topic
from lazarus.trainer.decoding import FEATURES, INVALID, LABEL, PARTITION_EOF, Decoder, Throttle
from lazarus.trainer.learner import Learner
from lazarus.trainer.rows import FeatureRow, RowMaker
from lazarus.trainer.specs import habitat

READ, OUT = "r", "o"


@dataclass
class Err:
    value: int

    def code(self) -> int:
        return self.value

    def str(self) -> str:
        return f"error {self.value}"


@dataclass
class Msg:
    """The part of confluent_kafka.Message the decoder reads."""

    t: str
    p: int
    off: int
    ts: int
    v: bytes | None = None
    err: Err | None = None

    def error(self) -> Err | None:
        return self.err

    def topic(self) -> str:
        return self.t

    def partition(self) -> int:
        return self.p

    def offset(self) -> int:
        return self.off

    def timestamp(self) -> tuple[int, int]:
        return (1, self.ts)

    def key(self) -> bytes:
        return b"site-000"

    def value(self) -> bytes | None:
        return self.v


def eof(topic: str, partition: int) -> Msg:
    return Msg(topic, partition, 0, 0, err=Err(PARTITION_EOF))


def decoder(topics: dict[str, Topic] | None = None) -> Decoder:  # type: ignore[type-arg]
    return Decoder(
        topics or {READ: SENSOR_READINGS, OUT: HABITAT_OUTCOMES},
        OUT,
        [(READ, 0), (OUT, 0)],
        {READ: 0, OUT: 1},
        RowMaker("event_id", ("site_id",)),
    )


def sample(n: int) -> list[tuple[bytes, bytes]]:
    sim = SensorNetwork(
        SimConfig(seed=3, fault_rate=0.0, label_delay_s=0), datetime(2026, 1, 1, tzinfo=UTC)
    )
    out: list[tuple[bytes, bytes]] = []
    for _, raw, outcome in sim:
        assert outcome is not None  # label_fraction defaults to 1: every reading is labelled
        out.append((raw, outcome))
        if len(out) == n:
            return out
    raise AssertionError("the simulator ended")


def test_rows_come_out_in_merge_order_with_what_the_learner_needs() -> None:
    d = decoder()
    pairs = sample(3)
    msgs = [Msg(READ, 0, i, 10 * i, raw) for i, (raw, _) in enumerate(pairs)]
    msgs += [Msg(OUT, 0, i, 10 * i + 5, out) for i, (_, out) in enumerate(pairs)]
    assert d.add(msgs) == []
    assert d.counts == {READ: 3, OUT: 3}
    released = d.ready()
    # The last outcome waits until both partitions are known to be at their ends.
    assert [(x[0], x[3]) for x in released] == [
        (FEATURES, 0),
        (LABEL, 0),
        (FEATURES, 1),
        (LABEL, 1),
        (FEATURES, 2),
    ]
    d.add([eof(READ, 0), eof(OUT, 0)])
    assert [(x[0], x[3]) for x in d.ready()] == [(LABEL, 2)]
    reading = SensorReading.model_validate_json(pairs[0][0])
    outcome = Outcome.model_validate_json(pairs[0][1])
    assert released[0][4:] == (
        reading.event_id,
        reading.site_id,
        int(reading.event_time.timestamp() * 1000),
        reading.to_features(),
        (reading.site_id,),
    )
    assert released[1][4:] == (
        outcome.kind.value,
        outcome.event_ref,
        outcome.subject,
        int(outcome.event_time.timestamp() * 1000),
        outcome.label,
    )


def test_rows_teach_the_learner_exactly_what_events_do() -> None:
    d = decoder()
    pairs = sample(200)
    d.add([Msg(READ, 0, i, i, raw) for i, (raw, _) in enumerate(pairs)] + [eof(READ, 0)])
    d.add([Msg(OUT, 0, i, i, out) for i, (_, out) in enumerate(pairs)] + [eof(OUT, 0)])
    by_rows, by_events = Learner(habitat()), Learner(habitat())
    for item in d.ready():
        if item[0] == FEATURES:
            by_rows.hold(*cast(FeatureRow, item[4:]), item[3])
        else:
            by_rows.label(*item[4:])
    for i, (raw, out) in enumerate(pairs):
        by_events.observe_features(SensorReading.model_validate_json(raw), i)
        by_events.observe_outcome(Outcome.model_validate_json(out))
    assert by_rows.state.n_learned == by_events.state.n_learned == 200
    assert by_rows.state.evaluation.report() == by_events.state.evaluation.report()


def test_invalid_messages_carry_their_reason_and_origin() -> None:
    d = decoder()
    d.add(
        [
            Msg(READ, 0, 7, 1, b'{"event_id": 5}'),
            Msg(READ, 0, 8, 2, None),
            eof(READ, 0),
            eof(OUT, 0),
        ]
    )
    bad, empty = d.ready()
    assert bad[:4] == (INVALID, READ, 0, 7)
    _, _, _, _, rejection, ref = bad
    assert rejection.key == b"site-000" and rejection.raw == b'{"event_id": 5}'
    assert rejection.error_class == "ValidationError" and "event_id" in rejection.reason
    assert ref is None  # no readable event id: nothing for an outcome to be given up on
    assert empty[0] == INVALID and empty[4].raw == b""


class Exploding(SensorReading):
    def to_features(self) -> dict[str, float]:
        raise ZeroDivisionError("a custom feature divided by zero")


def test_features_that_raise_are_dead_lettered_not_fatal() -> None:
    topic = Topic("exploding.v1", Exploding, "test")
    d = decoder({READ: topic, OUT: HABITAT_OUTCOMES})
    raw, _ = sample(1)[0]
    d.add([Msg(READ, 0, 0, 1, raw), eof(READ, 0), eof(OUT, 0)])
    (item,) = d.ready()
    assert item[0] == INVALID and item[4].error_class == "ZeroDivisionError"
    assert item[4].reason == "features: a custom feature divided by zero"
    assert item[5] == SensorReading.model_validate_json(raw).event_id


def test_broker_errors_are_returned_not_raised() -> None:
    d = decoder()
    assert [e.code() for e in d.add([Msg(READ, 0, 0, 0, err=Err(-195))])] == [-195]
    assert d.ready() == []


def test_throttle_pauses_a_partition_far_ahead_of_a_blocked_one() -> None:
    t = Throttle(high=100, low=10)
    a, b, c = ("r", 0), ("r", 1), ("o", 0)
    # Nothing blocked: a long queue is fine, the merge is releasing.
    assert t.update({a: 500, b: 3, c: 1}, blocked=[]) == ([], [])
    # b blocks the merge while a holds a backlog: pause a, so the consumer fetches b.
    assert t.update({a: 500, b: 0, c: 1}, blocked=[b]) == ([a], [])
    assert t.update({a: 500, b: 0, c: 1}, blocked=[b]) == ([], [])  # already paused
    # b arrived and the merge drained a: resume a before it could block in turn.
    assert t.update({a: 10, b: 50, c: 1}, blocked=[]) == ([], [a])
    assert t.paused == set()


def test_throttle_needs_low_below_high() -> None:
    with pytest.raises(ValueError):
        Throttle(high=10, low=10)
