"""Inputs that pass their schema but cannot be used: wrong labels, skewed clocks, non-finite
features. Each is dead-lettered with its reason by the decoding stage; nothing else is lost."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import cast

import pytest

from lazarus.inputchecks import (
    ClockSkew,
    NonFiniteFeatures,
    WrongLabel,
    check_clock,
    check_features,
    check_label,
)
from lazarus.schemas.sensors import SensorReading
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS, Topic
from lazarus.trainer.decoding import FEATURES, INVALID, LABEL, Decoder
from lazarus.trainer.learner import Learner
from lazarus.trainer.rows import FeatureRow, RowMaker
from lazarus.trainer.specs import habitat
from tests.unit.test_decoding import OUT, READ, Msg, eof, sample

HOUR_MS = 3_600_000


def checked_decoder(topics: dict[str, Topic] | None = None) -> Decoder:  # type: ignore[type-arg]
    return Decoder(
        topics or {READ: SENSOR_READINGS, OUT: HABITAT_OUTCOMES},
        OUT,
        [(READ, 0), (OUT, 0)],
        {READ: 0, OUT: 1},
        RowMaker.for_spec(habitat()),
    )


def event_ms(raw: bytes) -> int:
    return int(datetime.fromisoformat(json.loads(raw)["event_time"]).timestamp() * 1000)


def with_label(raw_outcome: bytes, label: object) -> bytes:
    doc = json.loads(raw_outcome)
    doc["label"] = label
    return json.dumps(doc).encode()


def test_labels_of_the_wrong_type_for_the_task_are_dead_lettered_with_the_reason() -> None:
    pairs = sample(8)
    labels: list[object] = [0.7, 5, 250.0, 1, 0, "yes", True, False]
    d = checked_decoder()
    msgs = [Msg(READ, 0, i, event_ms(raw), raw) for i, (raw, _) in enumerate(pairs)]
    msgs += [
        Msg(OUT, 0, i, event_ms(out), with_label(out, label))
        for i, ((_, out), label) in enumerate(zip(pairs, labels, strict=True))
    ]
    d.add([*msgs, eof(READ, 0), eof(OUT, 0)])
    released = d.ready()
    invalid = {item[3]: item[4].reason for item in released if item[0] == INVALID}
    labelled = [item for item in released if item[0] == LABEL]
    assert sorted(invalid) == [0, 1, 2, 3, 4, 5]
    assert invalid[0] == "label 0.7 is not a class of habitat (classes: false, true)"
    assert invalid[2] == "label 250.0 is not a class of habitat (classes: false, true)"
    assert invalid[3] == "label 1 is not a class of habitat (classes: false, true)"
    assert invalid[5] == "label 'yes' is not a class of habitat (classes: false, true)"
    assert [item[-1] for item in labelled] == [True, False]
    # Counts are conserved: every message is a row or a dead letter.
    assert len(released) == len(msgs) == 16


def test_outcomes_of_another_kind_are_not_judged_by_this_models_classes() -> None:
    (_, out), *_ = sample(1)
    doc = json.loads(out)
    doc.update(kind="viability", label=0.3)
    d = checked_decoder()
    d.add([Msg(OUT, 0, 0, event_ms(out), json.dumps(doc).encode()), eof(READ, 0), eof(OUT, 0)])
    (item,) = d.ready()
    assert item[0] == LABEL and item[4] == "viability"


def test_a_reading_stamped_far_after_its_kafka_timestamp_is_dead_lettered() -> None:
    pairs = sample(3)
    d = checked_decoder()
    future = json.loads(pairs[1][0])
    at = datetime.fromisoformat(future["event_time"])
    kafka_ms = event_ms(pairs[1][0])
    future["event_time"] = (at + timedelta(days=400)).isoformat()
    msgs = [
        Msg(READ, 0, 0, event_ms(pairs[0][0]), pairs[0][0]),
        Msg(READ, 0, 1, kafka_ms, json.dumps(future).encode()),
        Msg(READ, 0, 2, event_ms(pairs[2][0]), pairs[2][0]),
    ]
    d.add([*msgs, eof(READ, 0), eof(OUT, 0)])
    released = d.ready()
    assert [(item[0], item[3]) for item in released] == [(FEATURES, 0), (INVALID, 1), (FEATURES, 2)]
    assert released[1][4].reason == (
        "event_time is 400.0 days after the message's Kafka timestamp; "
        "the allowed clock skew is 1.0 h"
    )


def test_one_future_reading_cannot_expire_everyone_elses_pending_joins() -> None:
    """Issue #12: 30 readings wait, one stamped 400 days ahead, then the 30 labels."""
    pairs = sample(31)
    waiting, (odd_raw, _) = pairs[:30], pairs[30]
    odd = json.loads(odd_raw)
    kafka_ms = event_ms(odd_raw)
    odd["event_time"] = (
        datetime.fromisoformat(odd["event_time"]) + timedelta(days=400)
    ).isoformat()
    d = checked_decoder()
    msgs = [Msg(READ, 0, i, event_ms(raw), raw) for i, (raw, _) in enumerate(waiting)]
    msgs.append(Msg(READ, 0, 30, kafka_ms, json.dumps(odd).encode()))
    labels_at = kafka_ms + 1
    msgs += [Msg(OUT, 0, i, labels_at + i, out) for i, (_, out) in enumerate(waiting)]
    d.add([*msgs, eof(READ, 0), eof(OUT, 0)])
    learner = Learner(habitat())
    invalid = []
    for item in d.ready():
        if item[0] == FEATURES:
            learner.hold(*cast(FeatureRow, item[4:]), item[3])
        elif item[0] == LABEL:
            learner.label(*item[4:])
        else:
            invalid.append(item)
    assert learner.state.n_learned == 30 and learner.state.join.counters.expired == 0
    (bad,) = invalid
    assert (
        bad[3] == 30 and bad[4].error_class == "ClockSkew" and "400.0 days after" in bad[4].reason
    )


class NaNFeatures(SensorReading):
    def to_features(self) -> dict[str, float]:
        return {**super().to_features(), "ratio": float("inf")}


def test_features_that_are_not_finite_are_dead_lettered() -> None:
    topic = Topic("nan.v1", NaNFeatures, "test")
    d = checked_decoder({READ: topic, OUT: HABITAT_OUTCOMES})
    raw, _ = sample(1)[0]
    d.add([Msg(READ, 0, 0, event_ms(raw), raw), eof(READ, 0), eof(OUT, 0)])
    (item,) = d.ready()
    assert item[0] == INVALID and item[4].error_class == "NonFiniteFeatures"
    assert item[4].reason == "feature 'ratio' is inf: features must be finite numbers"


@pytest.mark.parametrize(
    ("label", "classes", "ok"),
    [
        (True, (False, True), True),
        (1.0, (False, True), False),
        (0.0, (False, True), False),
        (2.5, None, True),
        (True, None, False),
        (float("nan"), None, False),
        ("a", ("a", "b"), True),
        ("c", ("a", "b"), False),
    ],
)
def test_check_label(label: object, classes: tuple[object, ...] | None, ok: bool) -> None:
    if ok:
        check_label(label, classes, "m")
    else:
        with pytest.raises(WrongLabel):
            check_label(label, classes, "m")


def test_check_clock_and_features_edges() -> None:
    check_clock(HOUR_MS, (1, 0), HOUR_MS)  # exactly the allowed skew is fine
    with pytest.raises(ClockSkew):
        check_clock(HOUR_MS + 1, (1, 0), HOUR_MS)
    check_clock(10**15, (0, -1), HOUR_MS)  # no timestamp: nothing to check against
    check_clock(0, (1, 10**12), HOUR_MS)  # the past is not skew (late data is the join's)
    check_features({"a": "x"})  # a category (river's OneHotEncoder makes it a feature)
    for value in (None, [1.0], {"b": 1.0}):
        with pytest.raises(NonFiniteFeatures, match="must be numbers or strings"):
            check_features({"a": value})


def test_the_allowed_skew_comes_from_the_spec() -> None:

    spec = habitat().replace(max_clock_skew_s=60.0)
    rows = RowMaker.for_spec(spec)
    (raw, _), *_ = sample(1)
    reading = SensorReading.model_validate_json(raw)
    ms = event_ms(raw)
    rows.features(reading, (1, ms - 60_000))
    with pytest.raises(ClockSkew, match=r"1\.0 min"):
        rows.features(reading, (1, ms - 60_001))


def test_kafka_timestamps_of_the_decoder_messages_are_read() -> None:
    """Sanity: the decoder passes each message's own timestamp, not the batch's."""
    pairs = sample(2)
    d = checked_decoder()
    ms = event_ms(pairs[0][0])
    d.add(
        [
            Msg(READ, 0, 0, ms - 2 * HOUR_MS, pairs[0][0]),
            Msg(READ, 0, 1, event_ms(pairs[1][0]), pairs[1][0]),
            eof(READ, 0),
            eof(OUT, 0),
        ]
    )
    assert [item[0] for item in d.ready()] == [INVALID, FEATURES]
