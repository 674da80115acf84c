"""LAZARUS_KAFKA_OPTIONS wins over Lazarus's defaults, never over its guarantees (issue #20)."""

from __future__ import annotations

import pytest

from lazarus.errors import ConfigError
from lazarus.kafka.config import PRODUCER_DEFAULTS, consumer_config, producer_config
from lazarus.kafka.guarantees import NEEDED, SET_BY_ROLE, guarantee_problem
from lazarus.settings import Settings, load_settings


def test_the_users_producer_options_win_over_the_defaults() -> None:
    s = Settings(kafka_options={"linger.ms": 0, "compression.type": "zstd"})
    conf = producer_config(s, {"linger.ms": 50, "batch.num.messages": 100})
    assert conf["linger.ms"] == 0 and conf["compression.type"] == "zstd"
    assert conf["batch.num.messages"] == 100  # a caller's default the user left alone
    assert conf["enable.idempotence"] is True and conf["acks"] == "all"


def test_without_user_options_the_defaults_apply() -> None:
    conf = producer_config(Settings())
    assert {k: conf[k] for k in PRODUCER_DEFAULTS} == PRODUCER_DEFAULTS


def test_a_callers_required_options_win_over_everything() -> None:
    s = Settings(kafka_options={"linger.ms": 0})
    assert producer_config(s, {"linger.ms": 7}, **{"linger.ms": 9})["linger.ms"] == 9
    conf = consumer_config(s, "g", **{"enable.auto.commit": False})
    assert conf["enable.auto.commit"] is False


def test_the_users_consumer_options_win_over_the_defaults_and_the_group_timeouts() -> None:
    s = Settings(
        kafka_max_poll_interval_ms=8000,
        kafka_options={"fetch.wait.max.ms": 100, "max.poll.interval.ms": 20000},
    )
    conf = consumer_config(s, "g", {"fetch.wait.max.ms": 20, "fetch.min.bytes": 1})
    assert conf["fetch.wait.max.ms"] == 100 and conf["fetch.min.bytes"] == 1
    assert conf["max.poll.interval.ms"] == 20000
    assert conf["session.timeout.ms"] == 6000  # from its setting: the user did not set it
    assert conf["group.id"] == "g" and conf["enable.auto.offset.store"] is False


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("enable.idempotence", False),
        ("enable.idempotence", "false"),
        ("acks", "1"),
        ("acks", 0),
        ("enable.auto.offset.store", True),
        ("auto.offset.reset", "latest"),
        ("isolation.level", "read_uncommitted"),
        *((key, "x") for key in sorted(SET_BY_ROLE)),
    ],
)
def test_an_option_that_breaks_a_guarantee_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, key: str, value: object
) -> None:
    import json

    monkeypatch.setenv("LAZARUS_KAFKA_OPTIONS", json.dumps({key: value}))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    line = str(caught.value)
    assert line.startswith(f"setting LAZARUS_KAFKA_OPTIONS is invalid: option {key!r}: ")
    assert "\n" not in line


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("enable.idempotence", True),
        ("enable.idempotence", "true"),
        ("acks", "all"),
        ("acks", -1),
        ("enable.auto.offset.store", False),
        ("auto.offset.reset", "earliest"),
        ("isolation.level", "read_committed"),
    ],
)
def test_an_option_that_keeps_a_guarantee_is_allowed(key: str, value: object) -> None:
    assert key in NEEDED
    assert guarantee_problem(key, value) is None
    Settings(kafka_options={key: value})  # type: ignore[dict-item]


def test_a_user_option_wins_under_librdkafkas_other_name_too() -> None:
    s = Settings(kafka_options={"queue.buffering.max.ms": 0, "compression.codec": "zstd"})
    conf = producer_config(s)
    assert "linger.ms" not in conf and "compression.type" not in conf  # no default beside it
    assert conf["queue.buffering.max.ms"] == 0 and conf["compression.codec"] == "zstd"


@pytest.mark.parametrize(
    ("key", "value", "refused"),
    [
        ("request.required.acks", 1, True),  # acks under its other name
        ("request.required.acks", "all", False),
        ("enable.idempotence", "t", False),  # librdkafka reads t and 1 as true
        ("enable.idempotence", 1, False),
        ("enable.idempotence", "f", True),
        ("group.instance.id", "w1", True),
    ],
)
def test_guarantees_are_judged_by_the_option_named_whatever_its_spelling(
    key: str, value: object, refused: bool
) -> None:
    assert (guarantee_problem(key, value) is not None) is refused


def test_the_session_timeout_follows_the_poll_interval_in_effect() -> None:
    """A user's max.poll.interval.ms below the session timeout setting: the session shrinks
    with it (librdkafka refuses a session longer than the poll interval)."""
    s = Settings(
        kafka_session_timeout_ms=30_000,
        kafka_max_poll_interval_ms=60_000,
        kafka_options={"max.poll.interval.ms": 4000},
    )
    conf = consumer_config(s, "g")
    assert conf["max.poll.interval.ms"] == 4000 and conf["session.timeout.ms"] == 4000
