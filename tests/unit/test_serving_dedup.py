"""The consumers' deduplication key: one score id per (model, input event), and the first score
with an id wins, even when a rescore after a crash came from a newer version."""

from __future__ import annotations

from datetime import UTC, datetime

from river import metrics

from lazarus.quality.core import Judged, QualityJoin, Served
from lazarus.schemas.scores import Score, score_id
from lazarus.scorer.render import ScoreRenderer


def test_a_rescore_by_a_newer_version_has_the_same_id_and_the_first_wins() -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC).isoformat()
    scored = [
        Score.model_validate_json(
            ScoreRenderer("habitat", version, {"t:0": version}).render(
                "sensor-1-9", "site-004", prediction, None, at, 1.0
            )[1]
        )
        for version, prediction in ((3, False), (4, True))  # v3 before the crash, v4 after
    ]
    assert scored[0].event_id == scored[1].event_id == score_id("sensor-1-9", "habitat")
    assert [s.model_version for s in scored] == [3, 4]
    first: dict[str, Score] = {}
    for s in scored:
        first.setdefault(s.event_id, s)
    assert first[score_id("sensor-1-9", "habitat")].model_version == 3
    # the quality monitor judges the same one, whichever half came first; the input sits at
    # offset 9 of t:0, which neither version had read (trained through 3 and 4): honest
    judged = Judged(False, False, None, {}, ("t", 0, 9))
    for label_first in (False, True):
        q = QualityJoin((metrics.Accuracy,), max_waiting=10)
        if label_first:
            q.add_judged("sensor-1-9", judged)
        for s in scored:
            served = Served(s.model_version, s.prediction, None, s.trained_through)
            q.add_served(s.input_event_id, served)
        if not label_first:
            q.add_judged("sensor-1-9", judged)
        (row,) = q.rows()
        assert row["version"] == 3 and row["n"] == 1 and row["served"]["Accuracy"] == 1.0
        assert q.duplicates == 1
