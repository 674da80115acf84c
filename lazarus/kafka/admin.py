"""Admin operations: is the broker up, which topics exist, create them idempotently."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from lazarus.errors import ServiceUnavailable
from lazarus.kafka.config import KafkaConfig
from lazarus.settings import env_name

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.5
DEFAULT_READY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int


def admin_client(conf: KafkaConfig) -> AdminClient:
    return AdminClient(conf)


def wait_for_broker(
    conf: KafkaConfig,
    timeout: float = DEFAULT_READY_TIMEOUT_S,
    *,
    alive: Callable[[], bool] | None = None,
) -> Any:
    """Block until a metadata request succeeds; raise ServiceUnavailable naming the setting."""
    admin = AdminClient(conf)
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
    md = AdminClient(conf).list_topics(timeout=timeout)
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
    replication_factor: int = 1,
    timeout: float = 10.0,
) -> dict[str, bool]:
    """Create the topics that are missing. Returns {name: created_now}; existing ones are fine."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    admin = AdminClient(conf)
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
    admin = AdminClient(conf)  # keep the handle alive until the futures resolve
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
