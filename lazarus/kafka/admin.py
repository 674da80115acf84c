"""Admin operations: is the broker up, which topics exist, create them idempotently.

Every operation here raises ServiceUnavailable naming LAZARUS_KAFKA_BOOTSTRAP_SERVERS when the
broker does not answer, also when it goes away in the middle of a call (`broker_calls`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from lazarus.errors import ConfigError, LazarusError, ServiceUnavailable
from lazarus.kafka.config import KafkaConfig, config_error
from lazarus.settings import env_name

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.5
DEFAULT_READY_TIMEOUT_S = 10.0
BROKER_DEFAULT_REPLICATION = -1
"""Asks the brokers for their `default.replication.factor` (KIP-464; Kafka 2.4+, Tansu)."""


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int


# Codes that mean the broker (or its metadata) is gone, or did not answer in time. In the
# operations commands `_UNKNOWN_PARTITION` is one of them: they only ask about partitions the
# broker has just listed, so it means the metadata went away with the broker.
UNAVAILABLE_CODES = frozenset(
    {
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TIMED_OUT,
        KafkaError._TIMED_OUT_QUEUE,
        KafkaError._MSG_TIMED_OUT,
        KafkaError._RESOLVE,
        KafkaError._DESTROY,
        KafkaError._DESTROY_BROKER,
        KafkaError._UNKNOWN_BROKER,
        KafkaError._UNKNOWN_PARTITION,
        KafkaError._UNKNOWN_TOPIC,
        KafkaError._WAIT_COORD,
        KafkaError._WAIT_CACHE,
        KafkaError._NODE_UPDATE,
        KafkaError.BROKER_NOT_AVAILABLE,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.NOT_COORDINATOR,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.REQUEST_TIMED_OUT,
    }
)
# Codes that mean the credentials, not the address, are wrong.
AUTH_CODES = frozenset(
    {
        KafkaError._AUTHENTICATION,
        KafkaError.SASL_AUTHENTICATION_FAILED,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    }
)
# Codes a setting of ours causes when topics are created.
SETTING_CODES = {
    KafkaError.INVALID_REPLICATION_FACTOR: "topic_replication_factor",
    KafkaError.INVALID_PARTITIONS: "topic_partitions",
}


def broker_failure(
    exc: KafkaException | TimeoutError, bootstrap: str | None = None
) -> LazarusError:
    """The one-line error for a Kafka call that failed because of the broker, not a bug.

    - ServiceUnavailable naming LAZARUS_KAFKA_BOOTSTRAP_SERVERS: the broker went away or did not
      answer in time (`UNAVAILABLE_CODES`, or a future that timed out);
    - ServiceUnavailable naming the SASL settings: it refused our credentials;
    - ConfigError naming the setting: it refused a topic's partitions or replication factor;
    - LazarusError: it refused the request for another reason (shown as it said it).
    """
    where = f" at {bootstrap}" if bootstrap else ""
    err = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    if not isinstance(err, KafkaError):
        return ServiceUnavailable(
            f"Kafka{where} did not answer in time ({str(exc) or type(exc).__name__}); start it, "
            f"or set {env_name('kafka_bootstrap_servers')}"
        )
    code, why = err.code(), f"{err.str()}, {err.name()}"
    if code in AUTH_CODES:
        return ServiceUnavailable(
            f"Kafka{where} refused our credentials ({why}); set "
            f"{env_name('kafka_sasl_username')} and {env_name('kafka_sasl_password')}"
        )
    if code in SETTING_CODES:
        return ConfigError(f"Kafka{where} refused setting {env_name(SETTING_CODES[code])} ({why})")
    if code in UNAVAILABLE_CODES:
        return ServiceUnavailable(
            f"Kafka{where} stopped answering ({why}); start it, or set "
            f"{env_name('kafka_bootstrap_servers')}"
        )
    return LazarusError(f"Kafka{where} refused the request ({why})")


@contextlib.contextmanager
def broker_calls(conf: KafkaConfig) -> Iterator[None]:
    """Inside: a KafkaException (or an admin future's timeout) becomes the one-line error of
    `config_error` (librdkafka refused our configuration) or `broker_failure`, never a traceback."""
    try:
        yield
    except KafkaException as exc:
        raise (config_error(exc) or broker_failure(exc, conf.get("bootstrap.servers"))) from exc
    except TimeoutError as exc:  # an admin future whose broker never answered
        raise broker_failure(exc, conf.get("bootstrap.servers")) from exc


def admin_client(conf: KafkaConfig) -> AdminClient:
    with broker_calls(conf):
        return AdminClient(conf)


def wait_for_broker(
    conf: KafkaConfig,
    timeout: float = DEFAULT_READY_TIMEOUT_S,
    *,
    alive: Callable[[], bool] | None = None,
) -> Any:
    """Block until a metadata request succeeds; raise ServiceUnavailable naming the setting."""
    admin = admin_client(conf)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise ServiceUnavailable("the broker process exited before it answered")
        try:
            md = admin.list_topics(timeout=PROBE_TIMEOUT_S)
            if md.brokers:
                return md
        except KafkaException as exc:
            last = exc
        time.sleep(0.05)
    raise ServiceUnavailable(
        f"no Kafka broker answered at {conf['bootstrap.servers']} within {timeout:.0f}s "
        f"({last or 'no brokers in metadata'}); start one, or set "
        f"{env_name('kafka_bootstrap_servers')}"
    )


def list_topics(conf: KafkaConfig, timeout: float = 5.0) -> list[TopicInfo]:
    """Every topic on the broker but internal ones, by name; ServiceUnavailable if it fails."""
    with broker_calls(conf):
        md = admin_client(conf).list_topics(timeout=timeout)
    return sorted(
        (
            TopicInfo(name, len(t.partitions))
            for name, t in md.topics.items()
            if not name.startswith("__")
        ),
        key=lambda t: t.name,
    )


def ensure_topics(
    conf: KafkaConfig,
    names: Iterable[str],
    partitions: int,
    replication_factor: int = BROKER_DEFAULT_REPLICATION,
    timeout: float = 10.0,
) -> dict[str, bool]:
    """Create the topics that are missing, each with `partitions` partitions and
    `replication_factor` replicas (-1: the brokers' default, 3 on a production cluster).
    Returns {name: created_now}; existing ones are fine."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    with broker_calls(conf):
        return _create_missing(admin_client(conf), wanted, partitions, replication_factor, timeout)


def _create_missing(
    admin: AdminClient,
    wanted: list[str],
    partitions: int,
    replication_factor: int,
    timeout: float,
) -> dict[str, bool]:
    futures = admin.create_topics(
        [
            NewTopic(n, num_partitions=partitions, replication_factor=replication_factor)
            for n in wanted
        ],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created: dict[str, bool] = {}
    for name, future in futures.items():
        try:
            future.result(timeout)
            created[name] = True
        except KafkaException as exc:
            err = exc.args[0]
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                created[name] = False
            else:
                raise
    _wait_visible(admin, wanted, timeout)
    return created


def delete_topics(conf: KafkaConfig, names: Iterable[str], timeout: float = 10.0) -> None:
    """Delete topics; ones already gone are fine."""
    wanted = list(names)
    if not wanted:
        return
    admin = admin_client(conf)  # keep the handle alive until the futures resolve
    futures = admin.delete_topics(wanted, operation_timeout=timeout, request_timeout=timeout)
    for name, future in futures.items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            err = exc.args[0]
            if not (isinstance(err, KafkaError) and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
                log.warning("could not delete topic %s: %s", name, exc)


def _wait_visible(admin: AdminClient, names: list[str], timeout: float) -> None:
    """Creation is asynchronous on some brokers: wait until metadata shows every partition."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=PROBE_TIMEOUT_S * 4).topics
        if all(n in topics and topics[n].partitions and topics[n].error is None for n in names):
            return
        time.sleep(0.05)
    raise ServiceUnavailable(f"topics {names} were created but never showed up in metadata")
