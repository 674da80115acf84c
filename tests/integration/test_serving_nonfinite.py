"""A served model that answers NaN (its weights were poisoned) dead-letters every input with the
reason; no score on the topic is invalid JSON; the next good version scores again."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from lazarus.registry.sealing import seal
from lazarus.schemas import DeadLetter
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import DEAD_LETTERS, HABITAT_SCORES
from lazarus.scorer.predictors import describe
from lazarus.settings import Settings
from tests.integration.kafkatools import read_all
from tests.integration.scorerkit import (
    ModelMaker,
    running_scorer,
    send_raw,
    send_sensors,
    wait_until,
)
from tests.integration.trainerkit import with_keys


def refuse(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def nan_weights(model: Any) -> Any:
    model = copy.deepcopy(model)
    _, lr = model.steps.values()
    for name in list(lr._weights):
        lr._weights[name] = math.nan
    return model


def test_a_model_that_answers_nan_dead_letters_instead_of_scoring(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    maker = ModelMaker(s)
    maker.learn(500)
    version = maker.publisher.next_version
    poisoned = nan_weights(maker.learner.state.model)  # as a 1e200 reading once made it
    sealed, _ = seal(
        maker.learner.state, maker.publisher._fields(maker.learner), maker.signer, serving=poisoned
    )
    maker.force(sealed, version)
    with running_scorer(s) as app:
        wait_until(lambda: app.model is not None, 10, "the poisoned version")
        assert app.model is not None and describe(app.model.predict) == "river"
        ids = send_sensors(s, 300)
        send_raw(s, [b"not json"])
        wait_until(lambda: app.dead_letters.count >= 301, 60, "dead letters")
        wait_until(lambda: len(app.ledger) == 0, 30, "acknowledgements")
        assert app.scored == 0 and app.events_in == 301 == app.scored + app.dead_letters.count
        good = maker.publish()
        wait_until(lambda: app.model is not None and app.model.version == good.version, 10, "v2")
        again = send_sensors(s, 100, seed=7)
        wait_until(lambda: app.scored >= 100, 60, "scores by the good version")
        assert app.events_in == 401 == app.scored + app.dead_letters.count
    letters = [
        DeadLetter.model_validate_json(m.value() or b"")
        for m in read_all(s, DEAD_LETTERS.full(s.topic_prefix), expect=301)
    ]
    by_model = [x for x in letters if x.error_class == "ModelOutputError"]
    assert len(by_model) == 300 and all("nan" in x.reason for x in by_model)
    assert all(x.stage == "scorer" and x.origin_offset is not None for x in by_model)
    raw = [m.value() or b"" for m in read_all(s, HABITAT_SCORES.full(s.topic_prefix), expect=100)]
    assert len(raw) == 100
    for value in raw:
        json.loads(value, parse_constant=refuse)  # strict JSON: no NaN, no infinity
        score = Score.model_validate_json(value)
        assert score.model_version == good.version
        assert score.event_id == score_id(score.input_event_id, "habitat")
    assert {Score.model_validate_json(v).input_event_id for v in raw} == set(again)
    assert not set(ids) & set(again)
