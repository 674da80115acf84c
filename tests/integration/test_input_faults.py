"""Issue #12's input faults through the real broker, trainer, scorer and Redis: wrong labels,
early outcomes, a reading from the future, an extreme value. Nothing crashes, stalls or is
poisoned, and every input is learned, scored or dead-lettered with its reason."""

from __future__ import annotations

import json
import math
from datetime import timedelta

from confluent_kafka import KafkaError, Message, Producer

from lazarus.kafka.config import producer_config
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.signing import signer_from
from lazarus.schemas import DeadLetter
from lazarus.schemas.scores import Score
from lazarus.schemas.topics import DEAD_LETTERS, HABITAT_OUTCOMES, HABITAT_SCORES, SENSOR_READINGS
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.finite import first_nonfinite
from lazarus.trainer.specs import habitat
from tests.integration.kafkatools import read_all, value_of
from tests.integration.scorerkit import running_scorer, wait_until
from tests.integration.trainerkit import (
    START,
    log_ends,
    run_to_end,
    store_of,
    topics_of,
    with_keys,
)

Pair = tuple[dict[str, object], dict[str, object]]


def readings(n: int, seed: int = 3) -> list[Pair]:
    """`n` valid readings of one site with their outcomes, as JSON documents."""
    cfg = SimConfig(seed=seed, sites=1, sensors_per_site=1, fault_rate=0.0, label_delay_s=0)
    sim = SensorNetwork(cfg, START)
    out: list[Pair] = []
    for _, raw, outcome in sim:
        if outcome is not None:
            out.append((json.loads(raw), json.loads(outcome)))
        if len(out) == n:
            return out
    raise AssertionError("the simulator ended")


class Sender:
    """Messages with the Kafka timestamps a test chooses (ms), all acknowledged on `close()`."""

    def __init__(self, s: Settings) -> None:
        self.producer = Producer(producer_config(s))
        self.p = s.topic_prefix
        self.failed: list[str] = []

    def send(self, topic: str, doc: dict[str, object], at_ms: int) -> None:
        key = str(doc.get("site_id") or doc.get("subject"))
        self.producer.produce(
            topic.format(p=self.p),
            json.dumps(doc).encode(),
            key.encode(),
            timestamp=at_ms,
            on_delivery=self._heard,
        )

    def _heard(self, err: KafkaError | None, _: Message) -> None:
        if err is not None:
            self.failed.append(str(err))

    def close(self) -> None:
        assert self.producer.flush(30) == 0 and not self.failed, self.failed


READ = SENSOR_READINGS.name
OUTC = HABITAT_OUTCOMES.name


def ms(doc: dict[str, object]) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(str(doc["event_time"])).timestamp() * 1000)


def train_all(s: Settings) -> TrainerApp:
    app = TrainerApp(s, habitat(), store_of(s), signer_from(s), cadence=Cadence(10_000, 60))
    app.start(30)
    try:  # every partition that holds messages (one site: the others stay empty)
        run_to_end(app, {k: v for k, v in log_ends(s, topics_of(s)).items() if v})
    finally:
        code = app.stop()
    assert code == 0
    return app


def dead_letters(s: Settings, expect: int) -> list[DeadLetter]:
    found = read_all(s, DEAD_LETTERS.full(s.topic_prefix), expect=expect)
    return [DeadLetter.model_validate_json(value_of(m)) for m in found]


def test_labels_early_outcomes_and_a_future_reading(settings: Settings, topics: list[str]) -> None:
    s = with_keys(settings)
    data = readings(50)
    send = Sender(s)
    read_t, outc_t = "{p}" + READ, "{p}" + OUTC
    # 10 outcomes that come 2 s before their readings (by Kafka time, and so in learning order).
    early = data[:10]
    for reading, outcome in early:
        send.send(outc_t, outcome, ms(reading) - 2_000)
        send.send(read_t, reading, ms(reading))
    # 30 readings that wait, one stamped 400 days ahead of its Kafka time, then their labels.
    waiting = data[10:40]
    for reading, _ in waiting:
        send.send(read_t, reading, ms(reading))
    at = ms(data[40][0])
    future = {**data[40][0], "event_time": (START + timedelta(days=400)).isoformat()}
    send.send(read_t, future, at)
    for i, (_, outcome) in enumerate(waiting):
        send.send(outc_t, outcome, at + 1 + i)
    # Labels of the wrong type for a binary habitat model, on the next readings.
    wrong: list[object] = [0.7, 5, 250.0, 1, 0, "yes"]
    for (reading, outcome), label in zip(data[41:47], wrong, strict=True):
        send.send(read_t, reading, ms(reading))
        send.send(outc_t, {**outcome, "label": label}, ms(reading) + 1)
    send.close()

    app = train_all(s)
    state = app.learner.state
    c = state.join.counters
    assert state.n_learned == 10 + 30  # the early ten and the thirty that waited
    assert c.early_joined == 10 and c.expired == 0 and c.unmatched == 0
    letters = dead_letters(s, expect=7)
    reasons = sorted(d.reason for d in letters)
    assert len(letters) == 7 and state.invalid_events == 7
    assert sum("days after the message's Kafka timestamp" in r for r in reasons) == 1
    # all six, "yes" too: a string is a valid label type (a string class), not of this model
    assert sum("is not a class of habitat" in r for r in reasons) == 6
    assert sum(d.origin_topic == HABITAT_OUTCOMES.full(s.topic_prefix) for d in letters) == 6
    # The six readings whose labels were refused wait for a valid label: nothing is lost.
    assert len(state.join.entries) == 6
    # Events in = learned (twice: reading and outcome) + dead-lettered + readings still waiting.
    assert app.events_in == 2 * 40 + 7 + 6


def test_an_extreme_value_is_dead_lettered_and_nothing_serves_nan(
    settings: Settings, topics: list[str]
) -> None:
    """Issue #12: 20 readings with leaf_wetness near 0.4, one with 1e200, more normal ones."""
    s = with_keys(settings)
    data = readings(60, seed=4)
    send = Sender(s)
    for i, (reading, outcome) in enumerate(data):
        measurements = dict(reading["measurements"])  # type: ignore[call-overload]
        measurements["leaf_wetness"] = 1e200 if i == 20 else 0.4 + (i % 7) / 100
        doc = {**reading, "measurements": measurements}
        send.send("{p}" + READ, doc, ms(doc))
        send.send("{p}" + OUTC, outcome, ms(outcome))
    send.close()

    app = train_all(s)
    assert app.learner.state.n_learned == 59
    assert first_nonfinite(app.learner.state.model) is None
    [letter] = dead_letters(s, expect=1)
    assert letter.stage == "trainer" and "leaf_wetness=1e+200 is outside" in letter.reason

    scores_topic = HABITAT_SCORES.full(s.topic_prefix)
    with running_scorer(s) as scorer:
        wait_until(lambda: scorer.scored + scorer.dead_letters.count == 60, what="60 handled")
        assert scorer.events_in == 60 and scorer.dead_letters.count == 1
    scores = read_all(s, scores_topic, expect=59)
    for m in scores:
        doc = json.loads(value_of(m), parse_constant=_refuse)  # strict JSON: no NaN, no Infinity
        score = Score.model_validate(doc)
        assert score.probabilities is not None
        assert all(math.isfinite(p) for p in score.probabilities.values())
    assert len(scores) == 59


def _refuse(token: str) -> float:
    raise AssertionError(f"{token} in a score")
