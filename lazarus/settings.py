"""Settings: read once at each entry point, from the environment and `.env`.

Every field maps to an environment variable with the ``LAZARUS_`` prefix
(``kafka_bootstrap_servers`` -> ``LAZARUS_KAFKA_BOOTSTRAP_SERVERS``).
Secrets are ``SecretStr`` and never appear in ``repr``, logs or ``config show``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from lazarus.errors import ConfigError
from lazarus.registry.safe_pickle import module_prefix_problem, parse_modules

ENV_PREFIX = "LAZARUS_"
DEFAULT_BROKER_PORT = 9092
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaOptionValue = str | int | float | bool
"""librdkafka takes every option as text; numbers and booleans are passed as they read."""


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
    # Before kafka_options: its validator refuses options this protocol does not take.
    kafka_group_protocol: Literal["classic", "consumer"] = Field(
        "classic",
        description="group.protocol of consumer groups: `classic`, or `consumer` (KIP-848: the "
        "broker assigns partitions incrementally and keeps the session; Apache Kafka 4.0 or "
        "newer, not the embedded broker).",
    )
    # NoDecode: the JSON is parsed by `_options_from_json`, so a syntax error names this field.
    kafka_options: Annotated[dict[str, KafkaOptionValue], NoDecode] = Field(
        default_factory=dict,
        description="Extra librdkafka options as a JSON object, passed through to every client.",
    )
    kafka_max_poll_interval_ms: int = Field(
        8000,
        ge=1000,
        description="max.poll.interval.ms for consumer groups (also bounds join time).",
    )
    kafka_session_timeout_ms: int = Field(
        6000,
        ge=1000,
        description="session.timeout.ms of the classic group protocol (with `consumer` the "
        "broker's group.consumer.session.timeout.ms applies).",
    )

    # Redis
    redis_url: SecretStr = Field(
        SecretStr(DEFAULT_REDIS_URL),
        description="Redis URL; a password in it is treated as a secret.",
    )

    # Topics and keys
    topic_prefix: str = Field("", description="Prefix put before every topic name.")
    topic_partitions: int = Field(4, ge=1, le=1024, description="Partitions per created topic.")
    topic_replication_factor: int = Field(
        -1,
        ge=-1,
        le=16,
        description="Replication factor of created topics; -1: the brokers' "
        "default.replication.factor.",
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
    snapshot_keep: int = Field(
        10, ge=1, le=10_000, description="The newest snapshot versions kept per model."
    )
    snapshot_keep_minutely: int = Field(
        60,
        ge=0,
        le=10_000,
        description="Also keep the newest version of each of this many recent UTC minutes "
        "(0: none).",
    )
    snapshot_keep_hourly: int = Field(
        24,
        ge=0,
        le=10_000,
        description="Also keep the newest version of each of this many recent UTC hours (0: none).",
    )
    snapshot_keep_daily: int = Field(
        7,
        ge=0,
        le=10_000,
        description="Also keep the newest version of each of this many recent UTC days (0: none).",
    )
    # NoDecode: comma-separated text, not JSON (`_modules_from_text`).
    snapshot_modules: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Your own module prefixes (comma-separated, e.g. mypkg.models) whose classes "
        "and functions snapshots may reference, beyond river's and Lazarus's. The trainer "
        "records them in each snapshot; scorers and `models verify` load one only if they "
        "list its modules too.",
    )

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
    scorer_delivery: Literal["at-least-once", "exactly-once"] = Field(
        "at-least-once",
        description="`exactly-once`: each scorer consumes, scores and produces inside a Kafka "
        "transaction, so a read_committed reader of the scores sees each input once (Apache "
        "Kafka only: refused at start on a broker that cannot honour it, such as Tansu). "
        "`at-least-once`: faster; a crash can repeat scores, each with the same score id.",
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
    def _servers_are_host_ports(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name at least one host:port")
        for server in value.split(","):
            problem = server_problem(server.strip())
            if problem is not None:
                raise ValueError(problem)
        return value.strip()

    @field_validator("kafka_options", mode="before")
    @classmethod
    def _options_from_json(cls, value: Any) -> Any:
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError as exc:
                raise ValueError(f"is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object, e.g. {"client.id": "lab-7"}')
        for key, option in value.items():
            if not isinstance(option, KafkaOptionValue):
                raise ValueError(f"option {key!r}: the value must be a string, number or boolean")
        return value

    @field_validator("kafka_options")
    @classmethod
    def _options_known_and_keeping_the_guarantees(
        cls, value: dict[str, KafkaOptionValue]
    ) -> dict[str, KafkaOptionValue]:
        from lazarus.kafka.config import option_problem  # kafka.config imports this module
        from lazarus.kafka.guarantees import guarantee_problem

        for key, option in value.items():
            problem = option_problem(key, option) or guarantee_problem(key, option)
            if problem is not None:
                raise ValueError(f"option {key!r}: {problem}")
        return value

    @field_validator("kafka_options")
    @classmethod
    def _options_fit_the_group_protocol(
        cls, value: dict[str, KafkaOptionValue], info: ValidationInfo
    ) -> dict[str, KafkaOptionValue]:
        from lazarus.kafka.config import CLASSIC_ONLY_OPTIONS

        if "group.protocol" in value:
            raise ValueError(f"option 'group.protocol': set {env_name('kafka_group_protocol')}")
        classic_only = sorted(value.keys() & CLASSIC_ONLY_OPTIONS.keys())
        if classic_only and info.data.get("kafka_group_protocol") == "consumer":
            key = classic_only[0]
            raise ValueError(
                f"option {key!r} does not apply with {env_name('kafka_group_protocol')}="
                f"consumer ({CLASSIC_ONLY_OPTIONS[key]})"
            )
        return value

    @field_validator("snapshot_modules", mode="before")
    @classmethod
    def _modules_from_text(cls, value: Any) -> Any:
        if isinstance(value, str | list | tuple):
            value = parse_modules(value)
        return value

    @field_validator("snapshot_modules")
    @classmethod
    def _modules_may_be_loaded(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            problem = module_prefix_problem(prefix)
            if problem is not None:
                raise ValueError(problem)
        return value

    @field_validator("topic_replication_factor")
    @classmethod
    def _replicas_or_broker_default(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must be -1 (the brokers' default.replication.factor) or 1 to 16")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_parses(cls, value: SecretStr) -> SecretStr:
        problem = redis_url_problem(value.get_secret_value())
        if problem is not None:
            raise ValueError(problem)
        return value

    @property
    def redis_url_value(self) -> str:
        return self.redis_url.get_secret_value()

    def with_overrides(self, **changes: Any) -> Settings:
        """A validated copy with fields replaced (settings are frozen); ConfigError if invalid."""
        try:
            return type(self).model_validate({**dict(self), **changes})
        except ValidationError as exc:
            raise ConfigError(describe_invalid(exc)) from None

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
            elif name == "snapshot_modules":
                value = ",".join(value)  # as it is set
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
            elif isinstance(value, tuple):
                value = ",".join(value)
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


def server_problem(server: str) -> str | None:
    """Why librdkafka could not use `server` as a bootstrap address, or None.

    Forms: ``host``, ``host:port``, ``[ipv6]:port``, each optionally after ``PROTOCOL://``.

    >>> server_problem("kafka-1:9092") is None
    True
    >>> server_problem("kafka-1:90x2")
    "'kafka-1:90x2' has port '90x2': a port is a number 1..65535"
    """
    address = server.split("://", 1)[-1]
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest.removeprefix(":") if rest else None
    elif ":" in address:
        host, port = address.rsplit(":", 1)
    else:
        host, port = address, None
    if not host or any(c.isspace() or c in "/@" for c in host):
        return f"{server!r} is not host:port (e.g. kafka-1:9092)"
    if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
        return f"{server!r} has port {port!r}: a port is a number 1..65535"
    return None


def redis_url_problem(url: str) -> str | None:
    """Why redis-py would refuse `url`, or None. Never repeats the URL (it may hold a password).

    >>> redis_url_problem("bogus")
    'must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379/0)'
    >>> redis_url_problem("redis://cache:6379/0") is None
    True
    """
    from redis.connection import parse_url

    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        return "must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379/0)"
    try:
        parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        return str(exc)
    db = parts.path.strip("/")
    if parts.scheme != "unix" and db and not db.isdigit():
        return "the database after the last / must be a number (e.g. redis://host:6379/0)"
    return None


def describe_invalid(exc: ValidationError) -> str:
    """One line naming each invalid setting by its variable, without its value (it may be secret).

    Shape: ``setting LAZARUS_X is invalid: why`` or ``settings are invalid: LAZARUS_X: why; ...``.
    """
    problems: dict[str, str] = {}
    for error in exc.errors():
        loc = error["loc"]
        field = str(loc[0]) if loc else "?"
        if field in problems:
            continue
        problems[field] = " ".join(str(error["msg"]).removeprefix("Value error, ").split())
    if len(problems) == 1:
        ((field, why),) = problems.items()
        return f"setting {env_name(field)} is invalid: {why}"
    return "settings are invalid: " + "; ".join(f"{env_name(f)}: {w}" for f, w in problems.items())


_FIELD_IN_SETTINGS_ERROR = re.compile(r'field "(\w+)"')


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and `.env`, then apply explicit overrides (None skipped).

    Raises ConfigError with one line naming each invalid variable (the CLI exits 2 on it).
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(describe_invalid(exc)) from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        found = _FIELD_IN_SETTINGS_ERROR.search(str(exc))
        name = env_name(found.group(1)) if found else "a LAZARUS_* variable"
        raise ConfigError(f"setting {name} is invalid: {exc}") from None
