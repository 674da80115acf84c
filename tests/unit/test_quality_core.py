"""The served-quality join: pairs served scores with the trainer's own predictions, whichever
comes first, counts duplicates once, and reports the decoupling cost per version and segment."""

from __future__ import annotations

from typing import Any

import pytest
from river import metrics

from lazarus.quality.core import Judged, QualityJoin, Served, classes


def join() -> QualityJoin:
    return QualityJoin((metrics.Accuracy, metrics.LogLoss), max_waiting=100)


def test_served_and_prequential_are_compared_on_the_same_events() -> None:
    q = join()
    # v1 served a wrong answer where the trainer (already learning past v1) was right
    q.add_served("e1", Served(1, False, {False: 0.6, True: 0.4}))
    q.add_judged("e1", Judged(True, True, {False: 0.2, True: 0.8}, {"site_id": "s1"}))
    # the other order: the trainer's record first, then the score
    q.add_judged("e2", Judged(True, True, {False: 0.3, True: 0.7}, {"site_id": "s2"}))
    q.add_served("e2", Served(1, True, {False: 0.1, True: 0.9}))
    q.add_served("e3", Served(2, True, {False: 0.4, True: 0.6}))  # no label yet: waits
    (row,) = q.rows()
    assert row["version"] == 1 and row["n"] == 2
    assert row["served"]["Accuracy"] == 0.5 and row["prequential"]["Accuracy"] == 1.0
    assert row["cost"]["Accuracy"] == pytest.approx(-0.5)
    assert row["cost"]["LogLoss"] > 0  # served log loss is worse
    assert set(row["segments"]) == {"site_id=s1", "site_id=s2"}
    assert row["segments"]["site_id=s1"]["served"]["Accuracy"] == 0.0
    assert len(q.served) == 1


def test_duplicates_count_once_and_buffers_are_bounded() -> None:
    q = join()
    q.add_served("e1", Served(1, True, None))
    q.add_served("e1", Served(1, True, None))  # redelivered score
    q.add_judged("e1", Judged(True, True, None, {}))
    q.add_judged("e1", Judged(True, True, None, {}))  # a trainer's replay
    assert q.rows()[0]["n"] == 1 and q.duplicates == 2
    for i in range(150):
        q.add_served(f"x{i}", Served(1, True, None))
    assert len(q.served) == 100 and q.dropped == 50


def test_class_keys_come_back_from_json_strings() -> None:
    assert classes({"True": 0.7, "False": 0.3}) == {True: 0.7, False: 0.3}
    assert classes({"dire_wolf": 1.0}) == {"dire_wolf": 1.0}
    assert classes(None) is None


def test_rendered_prequential_records_are_valid_records() -> None:
    import numpy as np

    from lazarus.schemas.prequential import PrequentialRecord, prequential_id
    from lazarus.trainer.prequential import PrequentialRenderer

    render = PrequentialRenderer("habitat", ("site_id",)).render
    at = "2026-05-01T12:00:00+00:00"
    cases: list[tuple[object, object, dict[Any, Any] | None]] = [
        (True, True, {False: 0.25, True: 0.75}),
        (False, np.bool_(True), {False: np.float64(0.4), True: np.float64(0.6)}),
        (2.5, 3.0, None),
        (True, None, None),
    ]
    for label, pred, proba in cases:
        raw = render("sensor-1-9", at, 41, label, pred, proba, ('site-"odd"',))
        record = PrequentialRecord.model_validate_json(raw)
        assert record.event_id == prequential_id("sensor-1-9", "habitat")
        assert record.label == label and record.n_learned == 41
        assert record.prediction == (
            None if pred is None else (bool(pred) if isinstance(pred, np.bool_) else pred)
        )
        assert record.segment == {"site_id": 'site-"odd"'}
        assert record.probabilities == (
            None if proba is None else {str(k): float(v) for k, v in proba.items()}
        )
