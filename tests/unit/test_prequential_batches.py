"""Prequential batches (schema version 2): what the trainer renders validates against
`PrequentialBatch`, the caps hold, ids are stable, and the quality monitor reads batches and
version-1 records alike, entry by entry, with the same counts."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest
import redis
from pydantic import ValidationError

from lazarus.quality.app import QualityApp
from lazarus.schemas.models import HABITAT
from lazarus.schemas.prequential import (
    PrequentialBatch,
    PrequentialRecord,
    prequential_batch_id,
    prequential_id,
)
from lazarus.schemas.topics import PREQUENTIAL, Topic
from lazarus.settings import Settings
from lazarus.testing import TestingSource
from lazarus.trainer.prequential import PrequentialBatcher
from tests.unit.memory_lineup import MemoryLineup

AT = "2026-05-01T12:00:00+00:00"
READINGS = "p.habitat.sensor_readings.v1"


def batcher(**caps: int) -> PrequentialBatcher:
    b = PrequentialBatcher("habitat", ("site_id",), **caps)
    b.open(AT)
    return b


def test_rendered_batches_are_valid_batches_of_the_records_they_stand_for() -> None:
    b = batcher()
    cases: list[tuple[object, object, dict[Any, Any] | None]] = [
        (True, True, {False: 0.25, True: 0.75}),
        (False, np.bool_(True), {False: np.float64(0.4), True: np.float64(0.6)}),
        (2.5, 3.0, None),
        (True, None, None),
        ("oak", "elm", {"oak": 0.3, "elm": 0.7}),
    ]
    expected = []
    for i, (label, pred, proba) in enumerate(cases):
        for position in ((READINGS, 1, 12_345 + i), None):
            assert (
                b.add(f"e-{i}-{position is None}", 41, label, pred, proba, ('s"odd"',), position)
                is None
            )
            expected.append((label, pred, proba, position))
    assert b.pending == len(expected)
    raw = b.close()
    assert raw is not None and b.pending == 0 and b.close() is None
    batch = PrequentialBatch.model_validate_json(raw)
    assert batch.event_id == prequential_batch_id("habitat", "e-0-False", len(expected))
    assert batch.key == "habitat" and batch.event_time.isoformat() == AT
    records = batch.records()
    for record, (label, pred, proba, position) in zip(records, expected, strict=True):
        assert record.event_id == prequential_id(record.input_event_id, "habitat")
        assert record.label == label and record.n_learned == 41
        assert record.prediction == (
            None if pred is None else (bool(pred) if isinstance(pred, np.bool_) else pred)
        )
        assert record.segment == {"site_id": 's"odd"'}
        assert record.probabilities == (
            None if proba is None else {str(k): float(v) for k, v in proba.items()}
        )
        assert record.position == position


def test_a_non_finite_entry_is_left_out_and_the_others_stay() -> None:
    b = batcher()
    b.add("e1", 0, True, True, {True: 0.9, False: 0.1}, ("s",))
    with pytest.raises(ValueError, match="NaN or infinity"):
        b.add("e2", 1, True, True, {True: float("nan"), False: 0.1}, ("s",))
    with pytest.raises(ValueError, match="NaN or infinity"):
        b.add("e3", 2, float("inf"), 1.0, None, ("s",))
    b.add("e4", 3, False, True, None, ("s",))
    batch = PrequentialBatch.model_validate_json(b.close() or b"")
    assert [e.input_event_id for e in batch.entries] == ["e1", "e4"]


def test_batches_are_cut_at_the_count_and_byte_caps_in_order() -> None:
    b = batcher(max_entries=3)
    done = [b.add(f"e{i}", i, True, True, None, ("s",), (READINGS, 0, i)) for i in range(7)]
    cut = [d for d in done if d is not None] + [b.close()]
    sizes = [len(PrequentialBatch.model_validate_json(c or b"").entries) for c in cut]
    assert sizes == [3, 3, 1]
    small = batcher(max_bytes=400)
    out = [small.add(f"e{i}", i, True, True, None, ("s",)) for i in range(20)]
    rest = small.close()
    batches = [o for o in out if o is not None] + [rest]
    assert all(len(x or b"") < 400 + 200 for x in batches)  # entries under the cap, plus the head
    ids = [
        e.input_event_id
        for x in batches
        for e in PrequentialBatch.model_validate_json(x or b"").entries
    ]
    assert ids == [f"e{i}" for i in range(20)]
    alone = batcher(max_bytes=10)  # one entry past the cap still goes, alone
    assert alone.add("big", 0, True, True, None, ("s",)) is None
    assert (
        len(
            PrequentialBatch.model_validate_json(
                alone.add("next", 1, True, True, None, ("s",)) or b""
            ).entries
        )
        == 1
    )


def test_the_same_entries_make_the_same_batch_id() -> None:
    def cut() -> bytes:
        b = batcher()
        for i in range(5):
            b.add(f"e{i}", i, True, False, None, ("s",))
        return b.close() or b""

    first, again = json.loads(cut()), json.loads(cut())
    assert first["event_id"] == again["event_id"]
    b = batcher()
    b.add("e0", 0, True, False, None, ("s",))
    assert json.loads(b.close() or b"")["event_id"] != first["event_id"]


def test_a_batch_naming_an_unknown_input_topic_is_refused() -> None:
    b = batcher()
    b.add("e1", 0, True, True, None, ("s",), (READINGS, 0, 3))
    data = json.loads(b.close() or b"")
    data["entries"][0]["input"] = [1, 0, 3]
    with pytest.raises(ValidationError, match="names input topic 1"):
        PrequentialBatch.model_validate(data)
    with pytest.raises(ValidationError):
        PrequentialBatch.model_validate({**data, "entries": []})


# -- the quality monitor reads both shapes ----------------------------------------------------


def monitor() -> QualityApp:
    app = QualityApp(
        Settings(topic_prefix="p."),
        HABITAT,
        redis.Redis(),  # never reached: nothing here writes the report
        lineup=MemoryLineup("habitat", {"habitat": 1}, set()),
        drift=lambda event: None,
    )
    app._written = time.monotonic() + 3600  # no report, no lifecycle cycle in these steps
    return app


def read(app: QualityApp, messages: list[tuple[str, bytes]]) -> None:
    source = TestingSource([(topic, b"k", value) for topic, value in messages])
    consumer = source.consumer({})
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    consumer.assign([TopicPartition(t, 0, OFFSET_BEGINNING) for t in {t for t, _ in messages}])
    app._consumer = consumer  # type: ignore[assignment]
    while app.step():
        pass


def score(i: int, version: int = 1) -> bytes:
    return json.dumps(
        {
            "event_id": f"s{i}",
            "event_time": AT,
            "input_event_id": f"e{i}",
            "model": "habitat",
            "model_version": version,
            "prediction": i % 3 == 0,
            "probabilities": {"True": 0.6, "False": 0.4}
            if i % 3 == 0
            else {"True": 0.3, "False": 0.7},
            "trained_through": {f"{READINGS}:0": 0},
        }
    ).encode()


def v1(i: int) -> bytes:
    return PREQUENTIAL.encode(
        PrequentialRecord(
            event_id=prequential_id(f"e{i}", "habitat"),
            event_time=AT,
            input_event_id=f"e{i}",
            model="habitat",
            n_learned=i,
            label=i % 2 == 0,
            prediction=True,
            probabilities={"True": 0.8, "False": 0.2},
            segment={"site_id": f"s{i % 3}"},
            input_topic=READINGS,
            input_partition=0,
            input_offset=i,
        )
    )


def v2(indices: range) -> bytes:
    b = batcher()
    for i in indices:
        b.add(
            f"e{i}", i, i % 2 == 0, True, {True: 0.8, False: 0.2}, (f"s{i % 3}",), (READINGS, 0, i)
        )
    return b.close() or b""


def test_batches_read_as_the_records_they_stand_for_even_after_records_and_twice() -> None:
    scores = Topic("habitat.scores.v1", PrequentialRecord, "").full("p.")
    preq = PREQUENTIAL.full("p.")
    served = [(scores, score(i)) for i in range(40)]
    as_records = monitor()
    read(as_records, [*served, *((preq, v1(i)) for i in range(40))])
    mixed = monitor()  # a topic of records, then batches (a trainer upgraded), one replayed
    read(
        mixed,
        [
            *served,
            *((preq, v1(i)) for i in range(10)),
            (preq, v2(range(10, 25))),
            (preq, v2(range(25, 40))),
            (preq, v2(range(20, 40))),
        ],
    )
    want, got = as_records.join.rows(1.0), mixed.join.rows(1.0)
    assert want == got and want[0]["n"] == 40
    assert mixed.join.duplicates == as_records.join.duplicates + 20
    assert mixed.events_in == as_records.events_in + 20
    assert mixed.unreadable == 0


def test_a_bad_entry_costs_only_itself_and_a_malformed_batch_is_unreadable_with_its_reason() -> (
    None
):
    preq = PREQUENTIAL.full("p.")
    data = json.loads(v2(range(5)))
    del data["entries"][1]["label"]  # an entry that is not what it should be
    data["entries"][2]["input"] = [7, 0, 2]  # an input topic the batch does not name
    no_entries = {**data, "entries": "none"}
    app = monitor()
    read(
        app,
        [
            (preq, json.dumps(data).encode()),
            (preq, json.dumps(no_entries).encode()),
            (preq, b"[1]"),
        ],
    )
    assert app.stats()["waiting_labels"] == 3  # e0, e3, e4
    assert app.unreadable == 2 + 1 + 1
    assert "without entries" not in app.unreadable_why  # the last one: a JSON list
    assert app.unreadable_why.startswith("TypeError")


def test_another_models_batch_is_counted_and_left_alone() -> None:
    other = PrequentialBatcher("viability", ())
    other.open(AT)
    for i in range(3):
        other.add(f"e{i}", i, "survived", "died", None, ())
    app = monitor()
    read(app, [(PREQUENTIAL.full("p."), other.close() or b"")])
    assert app.events_in == 3 and app.unreadable == 0 and not app.join.judged


def test_values_python_cannot_hold_count_unreadable_and_the_rest_reads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The kinds of bad content that raise beyond ValueError: an offset of 1e400 (OverflowError
    in int(inf)), a JSON nested past Python's limit (RecursionError), a bare string; none may
    stop the monitor, and each kind of error is logged once, not once per record."""
    preq = PREQUENTIAL.full("p.")
    huge = json.loads(v2(range(3)))
    huge["entries"][0]["input"] = [0, 0, 1e400]
    record = json.loads(v1(7))
    record["input_offset"] = 1e400
    deep = b"[" * 100_000 + b"]" * 100_000
    bad = [json.dumps(huge).encode(), json.dumps(record).encode(), deep, b'"text"', deep]
    app = monitor()
    with caplog.at_level("WARNING", logger="lazarus.quality.app"):
        read(app, [*((preq, b) for b in bad), (preq, v1(8))])
    assert app.unreadable == 1 + 1 + 1 + 1 + 1
    assert app.stats()["waiting_labels"] == 3  # e1, e2 of the batch and the good record e8
    assert app.events_in == 3 + 1 + 1 + 1 + 1 + 1  # every entry and record that came in
    warned = [r for r in caplog.records if "unreadable record" in r.getMessage()]
    assert 0 < len(warned) < app.unreadable  # the second deep one is not logged again
