"""Turn settings into librdkafka configuration dictionaries.

One place maps our settings to librdkafka names, so every client (admin,
producer, consumer) talks to the same cluster with the same security.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from lazarus.errors import ConfigError
from lazarus.kafka.guarantees import option_name
from lazarus.settings import Settings, env_name

KafkaConfig = dict[str, Any]

# librdkafka logs each refused connection; routed here they follow our log level.
RDKAFKA_LOGGER = logging.getLogger("lazarus.rdkafka")

OPTION_FIELDS = {
    "bootstrap.servers": "kafka_bootstrap_servers",
    "security.protocol": "kafka_security_protocol",
    "sasl.mechanism": "kafka_sasl_mechanism",
    "sasl.username": "kafka_sasl_username",
    "sasl.password": "kafka_sasl_password",
    "ssl.ca.location": "kafka_ssl_ca_location",
    "ssl.certificate.location": "kafka_ssl_certificate_location",
    "ssl.key.location": "kafka_ssl_key_location",
    "ssl.key.password": "kafka_ssl_key_password",
}
"""librdkafka option -> the setting that sets it (the rest come from LAZARUS_KAFKA_OPTIONS)."""

CLASSIC_ONLY_OPTIONS = {
    "session.timeout.ms": "the broker sets it: group.consumer.session.timeout.ms",
    "heartbeat.interval.ms": "the broker sets it: group.consumer.heartbeat.interval.ms",
    "partition.assignment.strategy": "use group.remote.assignor",
    "group.protocol.type": "the classic protocol's alone",
}
"""Consumer options librdkafka (2.16) refuses with ``group.protocol=consumer`` (KIP-848 moved
them to the broker) -> why, or what to use instead. `Consumer()` fails on each of them:
``session.timeout.ms is not supported for group.protocol=consumer``."""

CODE_ONLY_OPTIONS = frozenset(
    {"logger", "error_cb", "throttle_cb", "stats_cb", "oauth_cb", "on_delivery", "on_commit"}
)
"""confluent-kafka options that take Python callables: they cannot come from JSON."""

# No librdkafka option has this name, so setting it always fails, and always after the option
# before it in the dict (confluent-kafka sets options in dict order). An error that names it
# means every option before it was accepted, and no client was created.
_END_MARK = "lazarus.options.end"


def option_problem(key: str, value: Any) -> str | None:
    """Why librdkafka refuses `key=value`, or None when it accepts it. No client, no I/O.

    Checks the name (``No such configuration property``) and the value's type and range.
    Checks that need the whole configuration (TLS files, SASL) run when a client is built.

    >>> option_problem("linger.ms", 5) is None
    True
    >>> option_problem("no.such.option", "1")
    'No such configuration property: "no.such.option"'
    """
    from confluent_kafka import Producer

    if key in CODE_ONLY_OPTIONS:
        return "takes a Python callable and cannot be set from the environment"
    if isinstance(value, dict | list) or value is None:
        return "the value must be a string, number or boolean"
    try:
        Producer({key: value, _END_MARK: ""})
    except KafkaException as exc:
        text = _error_text(exc)
        return None if _END_MARK in text else text
    except (TypeError, ValueError) as exc:
        return str(exc)
    return None  # unreachable while _END_MARK stays unknown to librdkafka


def config_error(exc: KafkaException) -> ConfigError | None:
    """The ConfigError for a configuration librdkafka refused, naming the variable to change
    (``Failed to create consumer: ssl.ca.location failed: ...`` names
    LAZARUS_KAFKA_SSL_CA_LOCATION; an option it cannot place names LAZARUS_KAFKA_OPTIONS).
    None when `exc` is not about configuration."""
    err = exc.args[0] if exc.args else None
    if not isinstance(err, KafkaError) or err.code() != KafkaError._INVALID_ARG:
        return None
    text = _error_text(exc)
    if not (text.startswith("Failed to create") or "configuration property" in text):
        return None
    words = text.lower().replace(" ", ".")  # "Unsupported SASL mechanism" names sasl.mechanism
    field = next((f for option, f in OPTION_FIELDS.items() if option in words), "kafka_options")
    return ConfigError(f"Kafka refused setting {env_name(field)}: {text}")


def _error_text(exc: KafkaException) -> str:
    err = exc.args[0] if exc.args else None
    return str(err.str()) if isinstance(err, KafkaError) else str(exc)


def client_config(settings: Settings, *, quiet: bool = False) -> KafkaConfig:
    """Base configuration shared by every client: servers, security, pass-through options."""
    conf: KafkaConfig = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "security.protocol": settings.kafka_security_protocol,
        "logger": quiet_logger() if quiet else RDKAFKA_LOGGER,
    }
    optional: dict[str, Any] = {
        "sasl.mechanism": settings.kafka_sasl_mechanism,
        "sasl.username": settings.kafka_sasl_username,
        "sasl.password": settings.kafka_sasl_password.get_secret_value()
        if settings.kafka_sasl_password
        else None,
        "ssl.ca.location": settings.kafka_ssl_ca_location,
        "ssl.certificate.location": settings.kafka_ssl_certificate_location,
        "ssl.key.location": settings.kafka_ssl_key_location,
        "ssl.key.password": settings.kafka_ssl_key_password.get_secret_value()
        if settings.kafka_ssl_key_password
        else None,
    }
    conf.update({k: v for k, v in optional.items() if v is not None})
    conf.update(settings.kafka_options)
    return conf


PRODUCER_DEFAULTS: KafkaConfig = {"linger.ms": 5, "compression.type": "lz4"}
"""Producer options LAZARUS_KAFKA_OPTIONS may change (`docs/scorer.md`, the latency table)."""
PRODUCER_GUARANTEES: KafkaConfig = {"enable.idempotence": True, "acks": "all"}
"""Producer options set last, whatever the user's (`lazarus.kafka.guarantees`)."""


def producer_config(
    settings: Settings, defaults: KafkaConfig | None = None, /, **required: Any
) -> KafkaConfig:
    """An idempotent producer: acks=all, ordered per partition, no duplicates on retry.

    Precedence, lowest first: `PRODUCER_DEFAULTS`, the caller's `defaults`, the user's
    LAZARUS_KAFKA_OPTIONS, then `PRODUCER_GUARANTEES` and the caller's `required` options
    (the settings refuse user options that would change those: `lazarus.kafka.guarantees`).

    >>> producer_config(Settings(kafka_options={"linger.ms": 0}))["linger.ms"]
    0
    """
    conf = client_config(settings)
    _under_user_options(conf, settings, {**PRODUCER_DEFAULTS, **(defaults or {})})
    conf.update(PRODUCER_GUARANTEES)
    conf.update(required)
    return conf


def consumer_config(
    settings: Settings,
    group_id: str,
    defaults: KafkaConfig | None = None,
    /,
    **required: Any,
) -> KafkaConfig:
    """A group consumer that stores offsets only when told (at-least-once).

    ``group.protocol`` is LAZARUS_KAFKA_GROUP_PROTOCOL. With ``consumer`` (KIP-848) the broker
    keeps the session and assigns the partitions, so ``session.timeout.ms`` is left out
    (librdkafka refuses it, and every option in `CLASSIC_ONLY_OPTIONS`, with that protocol).
    Precedence as in `producer_config`: the group timeouts (from their settings) and the
    caller's `defaults` give way to LAZARUS_KAFKA_OPTIONS; the group, the offset store and
    reset, and the caller's `required` options do not.

    >>> sorted(k for k in consumer_config(Settings(), "g") if "session" in k or "protocol" in k)
    ['group.protocol', 'security.protocol', 'session.timeout.ms']
    >>> conf = consumer_config(Settings(kafka_group_protocol="consumer"), "g")
    >>> conf["group.protocol"], "session.timeout.ms" in conf
    ('consumer', False)
    """
    conf = client_config(settings)
    tunable: KafkaConfig = {"max.poll.interval.ms": settings.kafka_max_poll_interval_ms}
    if settings.kafka_group_protocol == "classic":
        # librdkafka refuses a session longer than the poll interval: the one in effect
        poll_ms = settings.kafka_options.get("max.poll.interval.ms")
        tunable["session.timeout.ms"] = min(
            settings.kafka_session_timeout_ms,
            int(poll_ms) if poll_ms is not None else settings.kafka_max_poll_interval_ms,
        )
    _under_user_options(conf, settings, {**tunable, **(defaults or {})})
    conf.update(
        {
            "group.id": group_id,
            "group.protocol": settings.kafka_group_protocol,
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
        }
    )
    conf.update(required)
    return conf


def _under_user_options(conf: KafkaConfig, settings: Settings, defaults: KafkaConfig) -> None:
    """Add each of `defaults` to `conf` unless LAZARUS_KAFKA_OPTIONS sets it, under any of its
    names (`guarantees.ALIASES`): the user wins."""
    user = {option_name(k) for k in settings.kafka_options}
    conf.update({k: v for k, v in defaults.items() if option_name(k) not in user})


def quiet_logger() -> logging.Logger:
    logger = logging.getLogger("lazarus.rdkafka.probe")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger
