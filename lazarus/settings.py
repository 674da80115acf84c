"""Settings: read once at each entry point, from the environment and `.env`.

Every field maps to an environment variable with the ``LAZARUS_`` prefix
(``kafka_bootstrap_servers`` -> ``LAZARUS_KAFKA_BOOTSTRAP_SERVERS``).
Secrets are ``SecretStr`` and never appear in ``repr``, logs or ``config show``.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "LAZARUS_"
DEFAULT_BROKER_PORT = 9092
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]


class Settings(BaseSettings):
    """The whole configuration of a Lazarus process."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # Where things run
    embedded: bool = Field(
        True,
        description="Start the embedded broker (and Redis if none answers). "
        "Set false to use the Kafka and Redis configured below.",
    )
    embedded_broker_port: int = Field(
        DEFAULT_BROKER_PORT, ge=1, le=65535, description="Port of the embedded broker."
    )

    # Kafka
    kafka_bootstrap_servers: str = Field(
        f"127.0.0.1:{DEFAULT_BROKER_PORT}", description="Kafka bootstrap servers (host:port,...)."
    )
    kafka_security_protocol: SecurityProtocol = Field("PLAINTEXT", description="security.protocol")
    kafka_sasl_mechanism: str | None = Field(
        None, description="sasl.mechanism, e.g. PLAIN, SCRAM-SHA-512"
    )
    kafka_sasl_username: str | None = Field(None, description="sasl.username")
    kafka_sasl_password: SecretStr | None = Field(None, description="sasl.password (secret)")
    kafka_ssl_ca_location: str | None = Field(None, description="ssl.ca.location")
    kafka_ssl_certificate_location: str | None = Field(None, description="ssl.certificate.location")
    kafka_ssl_key_location: str | None = Field(None, description="ssl.key.location")
    kafka_ssl_key_password: SecretStr | None = Field(None, description="ssl.key.password (secret)")
    kafka_options: dict[str, str] = Field(
        default_factory=dict,
        description="Extra librdkafka options as JSON, passed through to every client.",
    )
    kafka_max_poll_interval_ms: int = Field(
        8000,
        ge=1000,
        description="max.poll.interval.ms for consumer groups (also bounds join time).",
    )
    kafka_session_timeout_ms: int = Field(6000, ge=1000, description="session.timeout.ms")

    # Redis
    redis_url: SecretStr = Field(
        SecretStr(DEFAULT_REDIS_URL),
        description="Redis URL; a password in it is treated as a secret.",
    )

    # Topics and keys
    topic_prefix: str = Field("", description="Prefix put before every topic name.")
    topic_partitions: int = Field(4, ge=1, le=1024, description="Partitions per created topic.")
    topic_replication_factor: int = Field(
        1, ge=1, le=16, description="Replication factor of created topics."
    )
    redis_key_prefix: str = Field("lazarus", min_length=1, description="Prefix of every Redis key.")

    # Model snapshots
    signing_private_key: SecretStr | None = Field(
        None,
        description="Ed25519 private key (PEM or base64) the trainer signs snapshots with (secret).",
    )
    signing_public_key: str | None = Field(
        None, description="Ed25519 public key (PEM or base64) snapshots are verified with."
    )
    snapshot_keep: int = Field(10, ge=1, le=10_000, description="Snapshot versions kept per model.")

    # Operations
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    heartbeat_seconds: float = Field(1.0, gt=0, description="How often a role reports its status.")
    metrics_port: int = Field(
        0,
        ge=-1,
        le=65535,
        description="Port of each role's Prometheus /metrics: 0 any free port (announced in "
        "its log and heartbeat), -1 off. Give each role its own in containers.",
    )
    metrics_host: str = Field("0.0.0.0", description="Address the /metrics server listens on.")
    scorer_poll_seconds: float = Field(
        2.0,
        gt=0,
        description="Scorers re-read the `current` model pointer this often, in case a "
        "pub/sub notification was lost (they swap on notifications at once).",
    )
    scorer_notifications: bool = Field(
        True,
        description="Scorers subscribe to snapshot notifications (Redis pub/sub). Turn off "
        "where the Redis endpoint has no pub/sub (some proxies); they then poll only.",
    )
    trainer_decoder: Literal["inline", "process"] = Field(
        "inline",
        description="Where trainers consume, validate and featurize: `inline` (in the learner's "
        "process) or `process` (a second process, overlapped with learning: for machines "
        "with cores to spare).",
    )
    health_file: str | None = Field(
        None, description="A file each role touches on every heartbeat (container health checks)."
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _servers_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name at least one host:port")
        return value.strip()

    @property
    def redis_url_value(self) -> str:
        return self.redis_url.get_secret_value()

    def with_overrides(self, **changes: Any) -> Settings:
        """A validated copy with fields replaced (settings are frozen)."""
        return type(self).model_validate({**dict(self), **changes})

    def masked(self) -> dict[str, Any]:
        """Every effective setting, secrets masked, for display."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == "redis_url":
                value = redact_url(self.redis_url_value)
            elif isinstance(value, SecretStr):
                value = "**********"
            elif name == "kafka_options":
                value = {k: ("**********" if _looks_secret(k) else v) for k, v in value.items()}
            shown[name] = value
        return shown

    def child_env(self) -> dict[str, str]:
        """Environment variables that reproduce these settings in a child process."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, dict):
                value = json.dumps(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            env[ENV_PREFIX + name.upper()] = str(value)
        return env


def env_name(field: str) -> str:
    """The environment variable that sets a field: ``env_name("redis_url") == "LAZARUS_REDIS_URL"``."""
    return ENV_PREFIX + field.upper()


def _looks_secret(option: str) -> bool:
    return any(word in option.lower() for word in ("password", "secret", "token", "key"))


def redact_url(url: str) -> str:
    """Hide the password in a URL.

    >>> redact_url("redis://user:hunter2@db:6379/0")
    'redis://user:***@db:6379/0'
    >>> redact_url("redis://127.0.0.1:6379/0")
    'redis://127.0.0.1:6379/0'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and `.env`, then apply explicit overrides."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
