"""The served-quality join: pairs served scores with the trainer's own predictions, whichever
comes first, counts duplicates once, judges only the scores whose version had not learned the
event yet, and reports per version, per segment and over all versions how much worse serving
is (`served_worse_by`, positive when serving loses, for every metric)."""

from __future__ import annotations

from typing import Any

import pytest
from river import metrics

from lazarus.quality.core import Judged, QualityJoin, Served, verdict
from lazarus.schemas.models import HABITAT

THROUGH = {"readings:0": 100, "readings:1": 50}
"""A version that had read partition 0 up to offset 99 and partition 1 up to 49."""


def known(value: float | None) -> float:
    assert value is not None
    return value


def join(*factories: Any) -> QualityJoin:
    return QualityJoin(factories or (metrics.Accuracy, metrics.LogLoss), max_waiting=100)


def served(version: int, pred: Any, proba: dict[Any, float] | None = None) -> Served:
    return Served(version, pred, proba, THROUGH)


def judged(
    label: Any,
    pred: Any,
    proba: dict[Any, float] | None = None,
    *,
    offset: int | None = 100,
    partition: int = 0,
    segment: dict[str, str] | None = None,
) -> Judged:
    position = None if offset is None else ("readings", partition, offset)
    return Judged(label, pred, proba, segment or {}, position)


def test_served_and_prequential_are_compared_on_the_same_events() -> None:
    q = join()
    # v1 served a wrong answer where the trainer (already learning past v1) was right
    q.add_served("e1", served(1, False, {False: 0.6, True: 0.4}))
    q.add_judged("e1", judged(True, True, {False: 0.2, True: 0.8}, segment={"site_id": "s1"}))
    # the other order: the trainer's record first, then the score
    q.add_judged("e2", judged(True, True, {False: 0.3, True: 0.7}, segment={"site_id": "s2"}))
    q.add_served("e2", served(1, True, {False: 0.1, True: 0.9}))
    q.add_served("e3", served(2, True, {False: 0.4, True: 0.6}))  # no label yet: waits
    (row,) = q.rows(updated_at=7.0)
    assert row["version"] == 1 and row["n"] == 2 and row["updated_at"] == 7.0
    assert row["learned_before_served"] == 0 and row["position_unknown"] == 0
    assert row["served"]["Accuracy"] == 0.5 and row["prequential"]["Accuracy"] == 1.0
    assert row["served_worse_by"]["Accuracy"] == pytest.approx(0.5)
    assert known(row["served_worse_by"]["LogLoss"]) > 0  # served log loss is worse too
    assert set(row["segments"]) == {"site_id=s1", "site_id=s2"}
    assert row["segments"]["site_id=s1"]["served"]["Accuracy"] == 0.0
    assert row["segments"]["site_id=s1"]["served_worse_by"]["Accuracy"] == 1.0
    assert len(q.served) == 1


def test_a_score_counts_only_if_its_version_had_not_learned_the_event() -> None:
    assert verdict(THROUGH, ("readings", 0, 100)) == "honest"  # the next offset to read
    assert verdict(THROUGH, ("readings", 0, 99)) == "learned_before_served"
    assert verdict(THROUGH, ("readings", 1, 60)) == "honest"
    assert verdict(THROUGH, ("readings", 2, 0)) == "honest"  # a partition it never read
    assert verdict(THROUGH, ("other", 0, 5)) == "honest"
    assert verdict(THROUGH, None) == "position_unknown"
    q = join()
    cases = [  # (offset, partition, served prediction, segment): the label is always True
        (100, 0, True, "s1"),  # honest, right
        (120, 0, False, "s1"),  # honest, wrong
        (99, 0, False, "s2"),  # learned before served: wrong, but not judged
        (10, 1, False, "s2"),  # learned before served
        (None, 0, False, "s3"),  # an older trainer: position unknown
    ]
    for i, (offset, partition, pred, site) in enumerate(cases):
        q.add_served(f"e{i}", served(1, pred))
        seg = {"site_id": site}
        q.add_judged(f"e{i}", judged(True, True, offset=offset, partition=partition, segment=seg))
    (row,) = q.rows()
    assert (row["n"], row["learned_before_served"], row["position_unknown"]) == (2, 2, 1)
    assert row["served"]["Accuracy"] == 0.5 and row["prequential"]["Accuracy"] == 1.0
    assert set(row["segments"]) == {"site_id=s1"}  # segments judge honest scores only
    overall = q.summary()
    assert (overall["n"], overall["learned_before_served"], overall["position_unknown"]) == (
        2,
        2,
        1,
    )
    assert q.overall.judged == len(cases)


def test_a_version_with_no_honest_score_has_no_served_figure() -> None:
    """River reports 0.0 for an empty Accuracy: shown as unknown, never as 0 % accurate."""
    q = join()
    q.add_served("e1", served(1, True))
    q.add_judged("e1", judged(True, True, offset=3))
    (row,) = q.rows()
    assert row["n"] == 0 and row["learned_before_served"] == 1
    assert row["served"] == {"Accuracy": None, "LogLoss": None}
    assert row["served_worse_by"] == {"Accuracy": None, "LogLoss": None}
    assert q.summary()["served"]["Accuracy"] is None


def test_the_overall_figure_weighs_versions_by_their_honest_scores() -> None:
    q = join(metrics.Accuracy)
    # v1: 1 right of 4; v2: 1 right of 1. Mean of versions: 0.625; per event: 2 of 5.
    for i, pred in enumerate([True, False, False, False]):
        q.add_served(f"a{i}", served(1, pred))
        q.add_judged(f"a{i}", judged(True, True, offset=200 + i))
    q.add_served("b", served(2, True))
    q.add_judged("b", judged(True, True, offset=300))
    q.add_served("c", served(2, False))  # learned before served: not in the figure
    q.add_judged("c", judged(True, True, offset=1))
    rows = {r["version"]: r for r in q.rows()}
    assert rows[1]["served"]["Accuracy"] == 0.25 and rows[2]["served"]["Accuracy"] == 1.0
    overall = q.summary(updated_at=9.0)
    assert overall["versions"] == [1, 2] and overall["updated_at"] == 9.0
    assert overall["n"] == 5 and overall["learned_before_served"] == 1
    assert overall["served"]["Accuracy"] == pytest.approx(0.4)
    assert overall["prequential"]["Accuracy"] == 1.0
    assert overall["served_worse_by"]["Accuracy"] == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("metric", "label", "served_pred", "preq_pred", "worse"),
    [
        (metrics.Accuracy, True, False, True, 1.0),  # bigger is better: served lower
        (metrics.Accuracy, True, True, False, -1.0),  # served better: negative
        (metrics.MAE, 10.0, 13.0, 11.0, 2.0),  # smaller is better: served further off
        (metrics.MAE, 10.0, 10.5, 12.0, -1.5),
    ],
)
def test_served_worse_by_is_positive_when_serving_loses_for_every_metric(
    metric: Any, label: Any, served_pred: Any, preq_pred: Any, worse: float
) -> None:
    q = join(metric)
    q.add_served("e", served(1, served_pred))
    q.add_judged("e", judged(label, preq_pred))
    name = metric.__name__
    assert q.rows()[0]["served_worse_by"][name] == pytest.approx(worse)
    assert q.summary()["served_worse_by"][name] == pytest.approx(worse)


def test_log_loss_reads_the_same_way() -> None:
    q = join(metrics.LogLoss)
    q.add_served("e", served(1, True, {False: 0.6, True: 0.4}))
    q.add_judged("e", judged(True, True, {False: 0.1, True: 0.9}))
    (row,) = q.rows()
    served_, preq = known(row["served"]["LogLoss"]), known(row["prequential"]["LogLoss"])
    assert served_ > preq  # smaller is better
    assert row["served_worse_by"]["LogLoss"] == pytest.approx(served_ - preq)
    assert known(row["served_worse_by"]["LogLoss"]) > 0


def test_duplicates_count_once_and_buffers_are_bounded() -> None:
    q = join()
    q.add_served("e1", served(1, True))
    q.add_served("e1", served(1, True))  # redelivered score
    q.add_judged("e1", judged(True, True))
    q.add_judged("e1", judged(True, True))  # a trainer's replay
    assert q.rows()[0]["n"] == 1 and q.duplicates == 2
    for i in range(150):
        q.add_served(f"x{i}", served(1, True))
    assert len(q.served) == 100 and q.dropped == 50


def test_class_keys_come_back_from_json_strings() -> None:
    classes = HABITAT.labels.probabilities_in
    assert classes({"True": 0.7, "False": 0.3}) == {True: 0.7, False: 0.3}
    assert classes({"dire_wolf": 1.0}) == {"dire_wolf": 1.0}
    assert classes(None) is None


def test_a_prequential_record_names_a_whole_position_or_none() -> None:
    from pydantic import ValidationError

    from lazarus.schemas.prequential import PrequentialRecord

    base = {
        "event_id": "p1",
        "event_time": "2026-05-01T12:00:00+00:00",
        "input_event_id": "e1",
        "model": "habitat",
        "n_learned": 3,
        "label": True,
        "prediction": False,
    }
    assert PrequentialRecord.model_validate(base).position is None  # an older trainer's
    whole = {"input_topic": "t", "input_partition": 0, "input_offset": 7}
    assert PrequentialRecord.model_validate({**base, **whole}).position == ("t", 0, 7)
    with pytest.raises(ValidationError, match="go together"):
        PrequentialRecord.model_validate({**base, "input_topic": "t", "input_offset": 7})
