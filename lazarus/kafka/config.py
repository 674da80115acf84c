"""Turn settings into librdkafka configuration dictionaries.

One place maps our settings to librdkafka names, so every client (admin,
producer, consumer) talks to the same cluster with the same security.
"""

from __future__ import annotations

import logging
from typing import Any

from lazarus.settings import Settings

KafkaConfig = dict[str, Any]

# librdkafka logs each refused connection; routed here they follow our log level.
RDKAFKA_LOGGER = logging.getLogger("lazarus.rdkafka")


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


def producer_config(settings: Settings, **overrides: Any) -> KafkaConfig:
    """An idempotent producer: acks=all, ordered per partition, no duplicates on retry."""
    conf = client_config(settings)
    conf.update(
        {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
        }
    )
    conf.update(overrides)
    return conf


def consumer_config(settings: Settings, group_id: str, **overrides: Any) -> KafkaConfig:
    """A group consumer that stores offsets only when told (at-least-once)."""
    conf = client_config(settings)
    conf.update(
        {
            "group.id": group_id,
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "max.poll.interval.ms": settings.kafka_max_poll_interval_ms,
            "session.timeout.ms": min(
                settings.kafka_session_timeout_ms, settings.kafka_max_poll_interval_ms
            ),
        }
    )
    conf.update(overrides)
    return conf


def quiet_logger() -> logging.Logger:
    logger = logging.getLogger("lazarus.rdkafka.probe")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger
