"""The dead-letter path under faults, against the real broker and Redis: a 750 kB binary value
between valid readings, a producer limit below the letter, letters and scores the broker refuses.

Tansu accepts messages of several MB, so the broker never refuses here: every refusal comes
from librdkafka's producer limit (`message.max.bytes`, 1,000,000 by default), the very limit
the 750 kB value's old letter (its base64, 1 MB) broke. Lower limits force the other paths.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from datetime import UTC, datetime

import pytest
from confluent_kafka import KafkaError, Message

from lazarus.dead_letters.sink import DeadLetterSink, Rejection
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.registry.signing import signer_from, verifier_from
from lazarus.schemas import DeadLetter
from lazarus.schemas.deadletter import LETTER_MAX, PAYLOAD_CAP
from lazarus.schemas.models import HABITAT
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import DEAD_LETTERS, HABITAT_SCORES, SENSOR_READINGS
from lazarus.scorer.app import ScorerApp
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.specs import habitat
from tests.integration.cli import cli_env, lazarus
from tests.integration.kafkatools import read_all
from tests.integration.scorerkit import (
    ModelMaker,
    running_scorer,
    scores,
    send_raw,
    send_sensors,
    wait_until,
)
from tests.integration.test_scorer import committed
from tests.integration.trainerkit import log_ends, run_to_end, store_of, with_keys

BINARY = os.urandom(750_000) + b"\xff"  # not UTF-8: its letter carries base64
SHA256 = hashlib.sha256(BINARY).hexdigest()

Reports = list[tuple[KafkaError | None, Message]]


@pytest.fixture
def s(settings: Settings, topics: list[str]) -> Settings:
    return with_keys(settings).with_overrides(scorer_poll_seconds=0.5)


def letters_of(s: Settings, expect: int) -> list[tuple[DeadLetter, int]]:
    """(letter, its encoded size) for each message on the dead-letter topic."""
    msgs = read_all(s, DEAD_LETTERS.full(s.topic_prefix), expect=expect)
    return [(DeadLetter.model_validate_json(m.value() or b""), len(m.value() or b"")) for m in msgs]


def readings_around_the_binary_value(s: Settings) -> list[str]:
    """200 valid readings, the 750 kB binary value, 200 more: the ids of the valid ones."""
    before = send_sensors(s, 200, seed=1)
    send_raw(s, [BINARY])
    after = send_sensors(s, 200, seed=2)
    return before + after


def test_a_750kb_binary_value_is_dead_lettered_and_the_scorer_and_trainer_go_on(
    s: Settings,
) -> None:
    # The old letter was the base64 of the whole value: over librdkafka's default 1,000,000.
    assert len(base64.b64encode(BINARY)) > 1_000_000
    ModelMaker(s).publish(learn=500)
    valid = readings_around_the_binary_value(s)
    assert len(valid) == 400
    with running_scorer(s) as app:
        wait_until(lambda: app.events_in == 401 and len(app.ledger) == 0, 60, "every input settled")
        assert app.events_in == app.scored + app.dead_letters.count
        assert (app.scored, app.dead_letters.count, app.dead_letters.lost) == (400, 1, 0)
    assert sorted(sc.input_event_id for sc in scores(s, expect=400)) == sorted(valid)
    assert committed(s) == log_ends(s, [SENSOR_READINGS.full(s.topic_prefix)])

    ends = log_ends(s, [SENSOR_READINGS.full(s.topic_prefix)])  # no outcomes: nothing learned
    own = s.with_overrides(redis_key_prefix=f"{s.redis_key_prefix}:trainer")  # not ModelMaker's
    trainer = TrainerApp(own, habitat(), store_of(own), signer_from(s), cadence=Cadence(1000, 60))
    trainer.start(30)
    try:
        run_to_end(trainer, ends)  # past the binary value, to the end of every log
    finally:
        assert trainer.stop() == 0
    assert trainer.in_by_topic[SENSOR_READINGS.full(s.topic_prefix)] == 401
    assert trainer.learner.state.invalid_events == trainer.dead_letters.count == 1

    letters = letters_of(s, expect=2)
    assert sorted(letter.stage for letter, _ in letters) == ["scorer", "trainer"]
    for letter, size in letters:
        assert size <= LETTER_MAX
        assert letter.origin_topic == SENSOR_READINGS.full(s.topic_prefix)
        assert letter.origin_offset is not None and letter.origin_key == "site-x"
        assert (letter.payload_size, letter.payload_sha256) == (len(BINARY), SHA256)
        assert letter.payload_truncated and letter.payload_encoding == "base64"
        assert base64.b64decode(letter.payload) == BINARY[: PAYLOAD_CAP // 4 * 3]
        assert "Invalid JSON" in letter.reason


def test_a_producer_limit_below_the_letter_makes_it_shrink_and_the_input_is_settled(
    s: Settings,
) -> None:
    small = s.with_overrides(kafka_options={"message.max.bytes": "20000"})
    ModelMaker(s).publish(learn=500)
    valid = readings_around_the_binary_value(s)
    with running_scorer(small) as app:
        wait_until(lambda: app.events_in == 401 and len(app.ledger) == 0, 60, "every input settled")
        assert app.events_in == app.scored + app.dead_letters.count
        assert (app.scored, app.dead_letters.count, app.dead_letters.lost) == (400, 1, 0)
    assert len(scores(s, expect=400)) == len(valid)
    [(letter, size)] = letters_of(s, expect=1)
    assert letter.is_shrunk and size < 2048  # sent again without its payload
    assert (letter.payload_size, letter.payload_sha256) == (len(BINARY), SHA256)
    assert committed(s) == log_ends(s, [SENSOR_READINGS.full(s.topic_prefix)])


def test_the_publisher_reports_what_librdkafka_refuses_instead_of_raising(s: Settings) -> None:
    topic = SENSOR_READINGS.full(s.topic_prefix)
    reports: Reports = []

    def heard(err: KafkaError | None, msg: Message) -> None:
        reports.append((err, msg))

    big, ok = b"x" * 5000, b"{}"
    with Publisher(producer_config(s, **{"message.max.bytes": 1000}), on_delivery=heard) as pub:
        pub.publish(topic, "k", big)  # the default callback hears of it
        pub.publish_many([(topic, "a", ok), (topic, "b", big), (topic, "c", ok)], heard)
        pub.publish_many([(topic, "d", big)], heard, timestamps=[int(time.time() * 1000)])
        pub.flush(30)
        counts = pub.counts
    refused = [(err, msg) for err, msg in reports if err is not None]
    assert len(refused) == 3 and len(reports) == 5
    for err, msg in refused:
        assert err.code() == KafkaError.MSG_SIZE_TOO_LARGE
        assert msg.error() == err and msg.topic() == topic and msg.value() == big
    assert sorted(msg.key() or b"" for _, msg in refused) == [b"b", b"d", b"k"]
    assert (counts.sent, counts.failed, counts.acked) == (5, 3, 2)
    assert len(read_all(s, topic, expect=2)) == 2


def test_a_letter_refused_even_shrunk_is_logged_counted_and_its_input_acknowledged(
    s: Settings,
) -> None:
    dlq = DEAD_LETTERS.full(s.topic_prefix)
    origin = SENSOR_READINGS.full(s.topic_prefix)
    acks: Reports = []

    def ack(err: KafkaError | None, msg: Message) -> None:
        acks.append((err, msg))

    with Publisher(producer_config(s, **{"message.max.bytes": 1000})) as pub:
        sink = DeadLetterSink(pub, dlq, "scorer")
        long_reason = ValueError("r" * 1_000_000)
        sink.send(
            Rejection.of(
                long_reason,
                stage="scorer",
                raw=BINARY,
                key="k" * 5000,
                topic=origin + "x" * 5000,
                partition=0,
                offset=1,
            ),
            ack,
        )
        assert sink.count == 1 and sink.lost == 1  # refused at once, shrunk, refused again
        assert [err for err, _ in acks] == [None]  # acknowledged anyway: nothing stalls
    with Publisher(producer_config(s, **{"message.max.bytes": 2000})) as pub:
        sink = DeadLetterSink(pub, dlq, "trainer")  # the trainer gives no callback
        sink.send(
            Rejection.of(
                long_reason,
                stage="trainer",
                raw=BINARY,
                key=b"\xff key",
                topic=origin,
                partition=1,
                offset=2,
            )
        )
        pub.flush(30)
        assert sink.count == 1 and sink.lost == 0
    [(letter, size)] = letters_of(s, expect=1)
    assert letter.stage == "trainer" and letter.is_shrunk and size <= 2000
    assert (letter.payload_size, letter.payload_sha256) == (len(BINARY), SHA256)
    assert letter.origin_key == "\ufffd key" and letter.origin_offset == 2


def test_a_score_the_broker_refuses_for_good_is_dead_lettered_and_its_input_settled(
    s: Settings,
) -> None:
    app = ScorerApp(s, HABITAT, verifier_from(s))
    app.start(30)
    try:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        score = Score(
            event_id=score_id("r-1", "habitat"),
            event_time=at,
            input_event_id="r-1",
            subject="site-001",
            model="habitat",
            model_version=3,
            trained_through={},
            prediction=True,
            probabilities={"True": 0.9, "False": 0.1},
            scored_at=at,
            latency_ms=1.0,
        )
        topic = HABITAT_SCORES.full(s.topic_prefix)
        batch = app.ledger.open({(SENSOR_READINGS.full(s.topic_prefix), 0): 1}, 2)
        batch.ack(None, None)  # the batch's other output was acknowledged
        # The delivery report of a score the broker refused, as librdkafka hands it over.
        refused = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)
        value = score.model_dump_json().encode()
        batch.ack(refused, Message(topic=topic, key=b"site-001", value=value, error=refused))
        app.scored = 1
        app._settle()
        app._publisher.flush(30)
        app._settle()
        assert len(app.ledger) == 0  # settled: the input's offset may be stored
        assert (app.scored, app.dead_letters.count, app.dead_letters.lost) == (0, 1, 0)
    finally:
        app.stop()
    [(letter, _)] = letters_of(s, expect=1)
    assert letter.origin_topic == topic and letter.origin_key == "site-001"
    assert "TOPIC_AUTHORIZATION_FAILED" in letter.reason and letter.error_class == "KafkaError"
    assert Score.model_validate_json(letter.raw_payload()) == score  # replayable once allowed


def test_inspect_shows_a_cut_payload_and_replay_never_sends_it(s: Settings) -> None:
    origin = SENSOR_READINGS.full(s.topic_prefix)
    with Publisher(producer_config(s)) as pub:
        sink = DeadLetterSink(pub, DEAD_LETTERS.full(s.topic_prefix), "scorer")
        sink.send(
            Rejection.of(
                ValueError("Invalid JSON"),
                stage="scorer",
                raw=BINARY,
                key="site-x",
                topic=origin,
                partition=0,
                offset=3,
            )
        )
    env = cli_env(s)
    shown = lazarus("dlq", "inspect", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    [group] = json.loads(shown.stdout)["groups"]
    assert group["truncated"] == 1
    example = group["example"]
    assert (example["payload_size"], example["payload_sha256"]) == (len(BINARY), SHA256)
    assert example["payload_truncated"] is True
    table = lazarus("dlq", "inspect", env=cli_env(s, COLUMNS="300"))
    assert f"{len(BINARY)} B, cut, sha256 {SHA256[:12]}" in table.stdout

    before = len(read_all(s, origin, idle=1.0))
    replay = lazarus("dlq", "replay", "--execute", "--force", "--json", env=env)
    report = json.loads(replay.stdout)
    assert (report["selected"], report["valid"], report["sent"]) == (1, 0, 0)
    [item] = report["items"]
    assert item["to"] is None and "not the original" in item["why"]
    assert len(read_all(s, origin, idle=1.0)) == before == 0
