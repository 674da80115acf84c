"""One dead letter per bad input on the real broker: a bad reading rejected by the trainer and
by two scorer groups shows once in `dlq inspect`, naming both stages, and `dlq replay` sends it
once."""

from __future__ import annotations

import json

from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.schemas.topics import DEAD_LETTERS, SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.integration.kafkatools import read_all
from tests.integration.test_dlq import reading, rejected


def test_one_input_rejected_by_three_groups_is_inspected_and_replayed_once(
    settings: Settings, topics: list[str]
) -> None:
    topic = SENSOR_READINGS.full(settings.topic_prefix)
    raw = json.dumps(reading(1, 21.5)).encode()  # valid now: a model raised on it
    with Publisher(producer_config(settings)) as pub:
        dead = DEAD_LETTERS.full(settings.topic_prefix)
        trainer = DeadLetterSink(pub, dead, "trainer")
        scorer = DeadLetterSink(pub, dead, "scorer")
        failed = RuntimeError("model raised")
        trainer.send(rejected(failed, raw, topic, 0, 42, "site-1", "trainer"))
        for _ in range(2):  # the scorer groups of two models
            scorer.send(rejected(failed, raw, topic, 0, 42, "site-1", "scorer"))
        scorer.send(rejected(failed, raw, topic, 0, 43, "site-1", "scorer"))
    env = cli_env(settings)

    shown = lazarus("dlq", "inspect", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert (report["total"], report["inputs"], report["merged"]) == (4, 2, 2)
    (group,) = report["groups"]
    assert (group["count"], group["letters"], group["stages"]) == (2, 4, ["scorer", "trainer"])
    table = lazarus("dlq", "inspect", env=cli_env(settings, COLUMNS="250"))
    assert "scorer, trainer" in table.stdout
    assert "4 dead letters for 2 inputs (2 merged" in table.stdout

    before = len(read_all(settings, topic, idle=1.0))
    sent = json.loads(lazarus("dlq", "replay", "--execute", "--json", env=env).stdout)
    assert (sent["selected"], sent["merged"], sent["sent"]) == (2, 2, 2)
    assert sorted(item["stages"] for item in sent["items"]) == [["scorer"], ["scorer", "trainer"]]
    # the replay flushed before it returned: a third send would be on the topic now
    assert len(read_all(settings, topic, idle=2.0)) == before + 2
