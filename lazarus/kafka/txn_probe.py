"""Whether a broker honours Kafka transactions as exactly-once needs: a probe, before relying on it.

Exactly-once scores need a broker that (1) takes transactional producers and (2) hides aborted
records from `read_committed` consumers. Tansu 0.6 does (1) but not (2), so a worker set to
exactly-once there would silently deliver aborted scores: it must be refused at start instead.
The probe tests the guarantee itself rather than a broker's name: it writes one aborted and one
committed record to a one-partition probe topic, then reads them back as `read_committed`.
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from lazarus.errors import ConfigError
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import KafkaConfig, client_config
from lazarus.settings import Settings, env_name

PROBE_TIMEOUT_S = 15.0
"""How long the probe waits for the broker's answers (transactions, the read-back)."""
PROBE_TOPIC = "lazarus.transactions-probe"
"""The one-partition topic (after the topic prefix) the probe writes two records to."""


def require_transactions(settings: Settings) -> None:
    """Raise ConfigError (one line naming LAZARUS_SCORER_DELIVERY) when the broker cannot give
    exactly-once delivery; ServiceUnavailable when it does not answer. Called by scorers set to
    exactly-once at start, and by `lazarus up` before it starts them."""
    problem = transactions_problem(
        client_config(settings, quiet=True), settings.topic_prefix + PROBE_TOPIC
    )
    if problem is not None:
        raise ConfigError(
            f"{env_name('scorer_delivery')}=exactly-once is refused: {problem}; "
            "set it to at-least-once"
        )


def transactions_problem(conf: KafkaConfig, topic: str) -> str | None:
    """Why the broker at `conf` cannot give exactly-once delivery, or None when it can.

    `conf` is a client configuration (`lazarus.kafka.config.client_config`); `topic` the full
    name of the probe topic (created with one partition when missing; it holds two small
    records per probe). Raises ServiceUnavailable when the broker does not answer."""
    ensure_topics(conf, [topic], partitions=1)
    tag = uuid.uuid4().hex
    producer = Producer(
        {**conf, "transactional.id": f"lazarus.probe.{tag}", "transaction.timeout.ms": 10_000}
    )
    try:
        producer.init_transactions(PROBE_TIMEOUT_S)
        start = _end_offset(conf, topic)
        for outcome in ("aborted", "committed"):
            producer.begin_transaction()
            producer.produce(topic, f"{outcome}:{tag}".encode(), b"lazarus-probe")
            producer.flush(PROBE_TIMEOUT_S)
            if outcome == "aborted":
                producer.abort_transaction(PROBE_TIMEOUT_S)
            else:
                producer.commit_transaction(PROBE_TIMEOUT_S)
    except KafkaException as exc:
        err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else exc
        text = err.str() if isinstance(err, KafkaError) else str(err)
        return f"the broker does not take transactional producers ({text})"
    return _read_back(conf, topic, start, tag)


def _end_offset(conf: KafkaConfig, topic: str) -> int:
    consumer = Consumer({**conf, "group.id": "lazarus.probe", "enable.auto.commit": False})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=PROBE_TIMEOUT_S)
        return int(high)
    finally:
        consumer.close()


def _read_back(conf: KafkaConfig, topic: str, start: int, tag: str) -> str | None:
    """Read the probe's records as read_committed from `start`: None if only the committed
    one shows, else why not."""
    consumer = Consumer(
        {
            **conf,
            "group.id": "lazarus.probe",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.assign([TopicPartition(topic, 0, start)])
    deadline = time.monotonic() + PROBE_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            for msg in consumer.consume(100, 0.2):
                if msg.error() is not None:
                    continue
                value = msg.value() or b""
                if value == f"aborted:{tag}".encode():
                    return (
                        "the broker shows aborted transactional records to read_committed "
                        "consumers, so aborted scores would be delivered (Tansu does this; "
                        "use Apache Kafka)"
                    )
                if value == f"committed:{tag}".encode():
                    return None
    finally:
        consumer.close()
    return f"a committed transactional record did not reach a read_committed reader in {PROBE_TIMEOUT_S:.0f} s"
