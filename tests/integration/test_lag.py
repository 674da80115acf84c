"""`lazarus lag` against offsets read independently, on a pipeline paused on purpose."""

from __future__ import annotations

import json
import time

from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient

from lazarus.groups import group_name
from lazarus.kafka.config import client_config
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.integration.scorerkit import ModelMaker, running_scorer, send_sensors, wait_until
from tests.integration.trainerkit import log_ends, with_keys


def admin_committed(s: Settings, group: str) -> dict[str, int]:
    conf = {k: v for k, v in client_config(s, quiet=True).items() if k != "logger"}
    admin = AdminClient(conf)
    result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(
        10
    )
    return {
        f"{tp.topic}:{tp.partition}": tp.offset for tp in result.topic_partitions if tp.offset >= 0
    }


def test_lag_json_matches_offsets_read_through_the_admin_api(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    ModelMaker(s).publish()
    send_sensors(s, 300, seed=1)
    with running_scorer(s) as app:
        wait_until(lambda: app.scored >= 300, 60, "scores")
    # paused: the scorers are stopped while readings keep arriving
    send_sensors(s, 120, seed=2)
    time.sleep(1.5)
    group = group_name(s.topic_prefix, "scorer", "habitat")
    result = lazarus("lag", "--group", group, "--json", env=cli_env(s))
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)["groups"]
    topic = SENSOR_READINGS.full(s.topic_prefix)
    committed = admin_committed(s, group)
    ends = log_ends(s, [topic])
    assert {
        f"{p['topic']}:{p['partition']}": p["committed"] for p in row["partitions"]
    } == committed
    assert {f"{p['topic']}:{p['partition']}": p["end"] for p in row["partitions"]} == ends
    assert row["total_lag"] == sum(ends[k] - committed[k] for k in ends) == 120
    for p in row["partitions"]:
        if p["lag"]:
            assert 1.0 <= p["lag_seconds"] < 120  # produced before the 1.5 s pause
        else:
            assert p["lag_seconds"] == 0.0
    # the table form and every known group
    table = lazarus("lag", env=cli_env(s, COLUMNS="250"))
    assert table.returncode == 0 and group in table.stdout and "total" in table.stdout


def test_an_unknown_group_has_its_own_exit_code(settings: Settings, topics: list[str]) -> None:
    result = lazarus("lag", "--group", "no.such.group", env=cli_env(settings))
    assert result.returncode == 3
    assert "no.such.group" in result.stderr and result.stderr.count("\n") == 1
