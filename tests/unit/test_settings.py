"""Settings: environment, .env, masking, child environments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lazarus.errors import ConfigError
from lazarus.kafka.config import client_config, consumer_config, producer_config
from lazarus.settings import Settings, load_settings, redact_url


def test_env_prefix_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZARUS_TOPIC_PARTITIONS", "8")
    monkeypatch.setenv("LAZARUS_KAFKA_OPTIONS", '{"client.id": "lab-7"}')
    s = Settings()
    assert s.topic_partitions == 8
    assert s.kafka_options == {"client.id": "lab-7"}
    assert s.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert s.topic_replication_factor == -1  # the brokers' default.replication.factor


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LAZARUS_TOPIC_PREFIX=site-a.\n")
    assert Settings().topic_prefix == "site-a."


def test_secrets_are_masked_everywhere_they_are_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZARUS_KAFKA_SASL_PASSWORD", "hunter2")
    monkeypatch.setenv("LAZARUS_REDIS_URL", "redis://ops:s3cret@cache:6379/0")
    monkeypatch.setenv("LAZARUS_KAFKA_OPTIONS", '{"sasl.oauthbearer.client.secret": "tok"}')
    s = Settings()
    shown = json.dumps(s.masked())
    for secret in ("hunter2", "s3cret", '"tok"'):
        assert secret not in shown
        assert secret not in repr(s)
    assert "redis://ops:***@cache:6379/0" in shown
    assert client_config(s)["sasl.password"] == "hunter2"


def test_child_env_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(
        topic_prefix="x.",
        kafka_options={"client.id": "b", "linger.ms": 5, "enable.idempotence": True},
        embedded=False,
        redis_url="redis://h:1/2",
    )
    for key, value in s.child_env().items():
        monkeypatch.setenv(key, value)
    assert Settings() == s


def test_kafka_configs_carry_the_safety_settings() -> None:
    s = Settings(kafka_max_poll_interval_ms=8000, kafka_session_timeout_ms=6000)
    p = producer_config(s)
    assert p["enable.idempotence"] is True and p["acks"] == "all"
    c = consumer_config(s, "g")
    assert c["enable.auto.offset.store"] is False
    assert c["max.poll.interval.ms"] == 8000 and c["session.timeout.ms"] == 6000


def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZARUS_TOPIC_PARTITIONS", "0")
    with pytest.raises(ValueError):
        Settings()


def test_redact_url_leaves_passwordless_urls_alone() -> None:
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redact_url("rediss://:pw@h:1") == "rediss://:***@h:1"


# Bad settings: one line naming the variable, never its value (it may be a secret).


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("LAZARUS_REDIS_URL", "bogus", "must start with redis://"),
        ("LAZARUS_REDIS_URL", "redis://:hunter2@cache:63x9/0", "Port could not be cast"),
        ("LAZARUS_REDIS_URL", "redis://cache:6379/zero", "database after the last / must be"),
        ("LAZARUS_REDIS_URL", "redis://cache:6379/0?socket_timeout=soon", "socket_timeout"),
        ("LAZARUS_KAFKA_OPTIONS", "notjson", "is not valid JSON"),
        ("LAZARUS_KAFKA_OPTIONS", '["linger.ms", 5]', "must be a JSON object"),
        ("LAZARUS_KAFKA_OPTIONS", '{"no.such.option": "1"}', "'no.such.option'"),
        ("LAZARUS_KAFKA_OPTIONS", '{"linger.ms": "soon"}', "option 'linger.ms': Invalid value"),
        ("LAZARUS_KAFKA_OPTIONS", '{"enable.idempotence": "yes"}', "'enable.idempotence'"),
        ("LAZARUS_KAFKA_OPTIONS", '{"client.id": null}', "string, number or boolean"),
        ("LAZARUS_KAFKA_OPTIONS", '{"acks": {"all": 1}}', "string, number or boolean"),
        ("LAZARUS_KAFKA_OPTIONS", '{"error_cb": "print"}', "takes a Python callable"),
        ("LAZARUS_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:90x2", "a port is a number"),
        ("LAZARUS_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,:9093", "is not host:port"),
        ("LAZARUS_TOPIC_PARTITIONS", "zero", "valid integer"),
        ("LAZARUS_TOPIC_REPLICATION_FACTOR", "0", "must be -1 (the brokers' default"),
        ("LAZARUS_TOPIC_REPLICATION_FACTOR", "-2", "greater than or equal to -1"),
        ("LAZARUS_LOG_LEVEL", "LOUD", "'DEBUG', 'INFO'"),
    ],
)
def test_a_bad_setting_is_one_line_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, why: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    line = str(caught.value)
    assert line.startswith(f"setting {variable} is invalid: "), line
    assert why in line
    assert "\n" not in line
    assert "hunter2" not in line


def test_every_bad_setting_is_named_in_the_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZARUS_REDIS_URL", "bogus")
    monkeypatch.setenv("LAZARUS_KAFKA_OPTIONS", "notjson")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    line = str(caught.value)
    assert line.startswith("settings are invalid: ")
    assert "LAZARUS_REDIS_URL: must start" in line and "LAZARUS_KAFKA_OPTIONS: is not" in line


def test_kafka_options_take_numbers_and_booleans_as_librdkafka_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "LAZARUS_KAFKA_OPTIONS", '{"linger.ms": 5, "enable.idempotence": true, "client.id": "a"}'
    )
    s = load_settings()
    assert s.kafka_options == {"linger.ms": 5, "enable.idempotence": True, "client.id": "a"}
    assert isinstance(s.kafka_options["enable.idempotence"], bool)
    assert client_config(s)["linger.ms"] == 5
    from confluent_kafka import Producer

    Producer(producer_config(s, **{"bootstrap.servers": ""}))  # librdkafka builds it as given


def test_an_empty_kafka_options_variable_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZARUS_KAFKA_OPTIONS", "")
    assert load_settings().kafka_options == {}


def test_redis_urls_of_every_scheme_are_accepted() -> None:
    for url in ("redis://h:1/2", "rediss://:pw@h:6380/0", "unix:///run/redis.sock", "redis://h"):
        assert load_settings(redis_url=url).redis_url_value == url


def test_overrides_that_break_a_setting_name_it() -> None:
    with pytest.raises(ConfigError, match="LAZARUS_REDIS_URL"):
        Settings().with_overrides(redis_url="bogus")


def test_a_bad_setting_in_dotenv_is_named_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LAZARUS_KAFKA_OPTIONS={oops\n")
    with pytest.raises(ConfigError, match="LAZARUS_KAFKA_OPTIONS is invalid: is not valid JSON"):
        load_settings()
