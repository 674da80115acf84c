"""LAZARUS_KAFKA_GROUP_PROTOCOL: the setting, the consumer configuration it makes, the rebalance
hooks under eager and incremental protocols, and the watch for a join that never completes.
The same on Apache Kafka: tests/integration/test_group_protocol.py."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from lazarus.embedded.stack import Stack
from lazarus.errors import ConfigError
from lazarus.kafka.config import CLASSIC_ONLY_OPTIONS, consumer_config, quiet_logger
from lazarus.kafka.consumer import GroupConsumer, JoinWatch
from lazarus.settings import Settings, load_settings

CONSUMER = Settings(kafka_group_protocol="consumer")


def test_classic_is_the_default_and_keeps_the_session_timeout() -> None:
    conf = consumer_config(Settings(kafka_session_timeout_ms=7000), "g")
    assert conf["group.protocol"] == "classic"
    assert conf["session.timeout.ms"] == 7000


def test_consumer_protocol_leaves_out_what_the_broker_now_sets() -> None:
    conf = consumer_config(CONSUMER, "g")
    assert conf["group.protocol"] == "consumer"
    assert not conf.keys() & CLASSIC_ONLY_OPTIONS.keys()
    assert conf["max.poll.interval.ms"] == CONSUMER.kafka_max_poll_interval_ms  # still client-side


def test_librdkafka_takes_the_consumer_protocol_configuration() -> None:
    Consumer({**consumer_config(CONSUMER, "g"), "logger": quiet_logger()}).close()


@pytest.mark.parametrize("option", sorted(CLASSIC_ONLY_OPTIONS))
def test_librdkafka_refuses_each_classic_only_option_with_the_consumer_protocol(
    option: str,
) -> None:
    value = {"partition.assignment.strategy": "range", "group.protocol.type": "consumer"}
    conf = {**consumer_config(CONSUMER, "g"), option: value.get(option, 6000)}
    with pytest.raises(
        KafkaException,
        match=re.escape(f"`{option}` is not supported for `group.protocol=consumer`"),
    ):
        Consumer({**conf, "logger": quiet_logger()})


@pytest.mark.parametrize(
    ("env", "variable", "why"),
    [
        ({"LAZARUS_KAFKA_GROUP_PROTOCOL": "kip848"}, "LAZARUS_KAFKA_GROUP_PROTOCOL", "'classic'"),
        (
            {"LAZARUS_KAFKA_GROUP_PROTOCOL": "consumer",
             "LAZARUS_KAFKA_OPTIONS": '{"session.timeout.ms": 9000}'},
            "LAZARUS_KAFKA_OPTIONS",
            "'session.timeout.ms' does not apply with LAZARUS_KAFKA_GROUP_PROTOCOL=consumer",
        ),
        (
            {"LAZARUS_KAFKA_GROUP_PROTOCOL": "consumer",
             "LAZARUS_KAFKA_OPTIONS": '{"partition.assignment.strategy": "range"}'},
            "LAZARUS_KAFKA_OPTIONS",
            "use group.remote.assignor",
        ),
        (
            {"LAZARUS_KAFKA_OPTIONS": '{"group.protocol": "consumer"}'},
            "LAZARUS_KAFKA_OPTIONS",
            "option 'group.protocol': set LAZARUS_KAFKA_GROUP_PROTOCOL",
        ),
    ],
)  # fmt: skip
def test_a_bad_group_protocol_setting_is_one_line_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str, why: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    line = str(caught.value)
    assert line.startswith(f"setting {variable} is invalid: "), line
    assert why in line and "\n" not in line


def test_classic_only_options_stay_allowed_with_the_classic_protocol() -> None:
    s = Settings(kafka_options={"session.timeout.ms": 9000, "heartbeat.interval.ms": 3000})
    assert consumer_config(s, "g")["heartbeat.interval.ms"] == 3000


def test_the_embedded_broker_is_refused_before_it_starts() -> None:
    stack = Stack(Settings(embedded=True, kafka_group_protocol="consumer"))
    with pytest.raises(ConfigError, match="LAZARUS_KAFKA_GROUP_PROTOCOL=consumer needs"):
        stack.start()
    assert stack.broker is None


# -- the rebalance hooks: no broker, the callbacks as librdkafka calls them ---------------------


class Outputs:
    def flush(self, timeout: float) -> int:
        return 0

    def settle_failures(self, failures: list[Any]) -> None:
        pass


def tps(*partitions: int) -> list[TopicPartition]:
    return [TopicPartition("t", p) for p in partitions]


def owned(member: GroupConsumer) -> list[int]:
    return sorted(p for _, p in member.assigned)


def test_eager_rebalances_revoke_everything_then_assign_the_full_set() -> None:
    member = GroupConsumer({}, Outputs())
    member._on_assign(None, tps(0, 1, 2, 3))  # type: ignore[arg-type]
    member._on_revoke(None, tps(0, 1, 2, 3))  # type: ignore[arg-type]
    member._on_assign(None, tps(0, 1))  # type: ignore[arg-type]
    assert owned(member) == [0, 1]


def test_incremental_rebalances_add_and_take_away_only_what_changed() -> None:
    # As librdkafka called a KIP-848 member on Apache Kafka 4.1: a second member joins
    # (revoke 2, 3; assign nothing new), then leaves (assign 2, 3).
    member = GroupConsumer({}, Outputs())
    member._on_assign(None, tps(0, 1, 2, 3))  # type: ignore[arg-type]
    member._on_revoke(None, tps(2, 3))  # type: ignore[arg-type]
    member._on_assign(None, [])  # type: ignore[arg-type]
    assert owned(member) == [0, 1]
    member._on_assign(None, tps(2, 3))  # type: ignore[arg-type]
    assert owned(member) == [0, 1, 2, 3]
    member._on_lost(None, tps(1))  # type: ignore[arg-type]
    assert owned(member) == [0, 2, 3]


# -- the join watch ----------------------------------------------------------------------------


def test_a_consumer_protocol_member_without_partitions_is_told_why_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = JoinWatch({"group.id": "g1", "group.protocol": "consumer"}, after_s=30)
    watch.joined(100.0)
    with caplog.at_level(logging.WARNING, logger="lazarus.kafka"):
        watch.check(129.0)
        assert not caplog.records
        watch.check(131.0)
        watch.check(200.0)
    (record,) = caplog.records
    assert "group g1 31 s after joining with group.protocol=consumer" in record.getMessage()
    assert "LAZARUS_KAFKA_GROUP_PROTOCOL=classic" in record.getMessage()


@pytest.mark.parametrize(
    ("conf", "assigned"),
    [
        ({"group.id": "g", "group.protocol": "consumer"}, True),
        ({"group.id": "g", "group.protocol": "classic"}, False),
        ({"group.id": "g"}, False),
    ],
)
def test_nothing_is_said_once_assigned_or_for_classic_groups(
    caplog: pytest.LogCaptureFixture, conf: dict[str, str], assigned: bool
) -> None:
    watch = JoinWatch(conf, after_s=30)
    watch.joined(0.0)
    if assigned:
        watch.assigned()
    with caplog.at_level(logging.WARNING, logger="lazarus.kafka"):
        watch.check(1000.0)
    assert not caplog.records
