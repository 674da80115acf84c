"""Expected failures as one line and an exit code, for every command and role entry point.

`lazarus`, `python -m lazarus.trainer|scorer|producers` all end in `lazarus.cli.main.main`, which asks
`one_line` what to print. Exit codes:

- 2: a bad setting (ConfigError, or a configuration librdkafka refused when a client was built);
- 1: a service is missing or went away (Kafka, Redis), or another LazarusError.

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging

import redis
from confluent_kafka import KafkaException

from lazarus.errors import ConfigError, LazarusError, ServiceUnavailable
from lazarus.kafka.admin import broker_failure
from lazarus.kafka.config import config_error
from lazarus.settings import env_name

BAD_SETTING_EXIT = 2
FAILED_EXIT = 1

log = logging.getLogger("lazarus.cli")


def as_lazarus_error(exc: BaseException) -> LazarusError | None:
    """The LazarusError an exception stands for, or None when it is not an expected failure.

    A KafkaException or a Redis connection error that escaped a command means the service
    failed under it (or refused its configuration): it becomes the line naming the setting.
    """
    if isinstance(exc, LazarusError):
        return exc
    if isinstance(exc, KafkaException):
        return config_error(exc) or broker_failure(exc)
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return ServiceUnavailable(
            f"Redis stopped answering ({exc}); start it, or set {env_name('redis_url')}"
        )
    return None


def one_line(exc: BaseException) -> tuple[str, int] | None:
    """(message, exit code) for an expected failure, else None.

    A translated exception's message is folded onto one line (librdkafka and redis-py texts can
    hold newlines); our own errors are printed as written (a dead broker's log tail, say)."""
    error = as_lazarus_error(exc)
    if error is None:
        return None
    message = str(error)
    if error is not exc:
        log.debug("%s", error, exc_info=exc)  # the traceback, for LAZARUS_LOG_LEVEL=DEBUG
        message = " ".join(message.split())
    return message, BAD_SETTING_EXIT if isinstance(error, ConfigError) else FAILED_EXIT
