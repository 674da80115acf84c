"""Settings: environment, .env, masking, child environments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lazarus.kafka.config import client_config, consumer_config, producer_config
from lazarus.settings import Settings, redact_url


def test_env_prefix_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZARUS_TOPIC_PARTITIONS", "8")
    monkeypatch.setenv("LAZARUS_KAFKA_OPTIONS", '{"client.id": "lab-7"}')
    s = Settings()
    assert s.topic_partitions == 8
    assert s.kafka_options == {"client.id": "lab-7"}
    assert s.kafka_bootstrap_servers == "127.0.0.1:9092"


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
        topic_prefix="x.", kafka_options={"a": "b"}, embedded=False, redis_url="redis://h:1/2"
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
