"""The one producer wrapper: idempotent, keyed, counted, backpressure-aware.

`publish()` never blocks forever and never drops: when librdkafka's queue is
full (`BufferError`) it serves delivery reports and tries again. Delivery
callbacks count what the broker acknowledged and what failed for good.

A message librdkafka refuses at once (`KafkaException` from `produce()`: larger
than `message.max.bytes`, an unknown topic or partition) does not raise: it is
reported to its delivery callback as failed, with a `Message` carrying the
error, as a refusal by the broker would be. Only a fatal error (the producer is
unusable) raises. `retriable(err)` says which failures are worth sending again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from lazarus.errors import ServiceUnavailable
from lazarus.kafka.admin import wait_for_broker
from lazarus.kafka.config import KafkaConfig, quiet_logger

log = logging.getLogger(__name__)

SHUTDOWN_FLUSH_S = 5.0
"""On shutdown, wait this long for acknowledgements; what is still unacknowledged is reported failed."""
POLL_EVERY = 1000
"""Serve delivery callbacks every this many produces (confluent-kafka's advice: poll in the loop)."""

# librdkafka retries these itself until `message.timeout.ms`; one that reaches a delivery
# report means the broker was unreachable or unready for that long, not that it refused the
# message. KafkaError.retriable() cannot tell: it is False for every error built from a code,
# which is what delivery reports carry.
_RETRIABLE = frozenset(
    {
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TIMED_OUT_QUEUE,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._PURGE_QUEUE,
        KafkaError._PURGE_INFLIGHT,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.KAFKA_STORAGE_ERROR,
        # A topic being created or recreated answers these for a while; losing an input's
        # output (or its dead letter) to that window would be worse than waiting it out.
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._UNKNOWN_TOPIC,
        KafkaError._UNKNOWN_PARTITION,
    }
)


def retriable(err: KafkaError | None) -> bool:
    """Whether a failed delivery is worth sending again: a timeout, an outage, or a topic that
    does not exist (yet). False for a refusal of the message itself (too large, invalid record,
    not authorized),
    which fails again however often it is sent, and for a fatal error."""
    if err is None:
        return True
    return not err.fatal() and (err.retriable() or err.code() in _RETRIABLE)


@dataclass
class DeliveryCounts:
    sent: int = 0
    failed: int = 0
    in_flight: int = 0

    @property
    def acked(self) -> int:
        return self.sent - self.failed - self.in_flight


OnDelivery = Callable[[KafkaError | None, Message], None]


class Publisher:
    """`with Publisher(conf) as pub: pub.publish(topic, key, value)`; connects in `start()`."""

    def __init__(self, conf: KafkaConfig, *, on_delivery: OnDelivery | None = None) -> None:
        self._probe_conf = dict(conf)
        self._conf = dict(conf)
        # A Python callback per acknowledged message costs more than the produce itself; without
        # a caller that needs each ack, librdkafka reports failures only and acks are counted.
        self._conf["on_delivery"] = self._delivered
        self._conf["delivery.report.only.error"] = on_delivery is None
        self._producer: Producer | None = None
        self._since_poll = 0
        self._on_delivery = on_delivery
        self._counts = DeliveryCounts()
        self._first_error: str | None = None
        self._refusals: set[int] = set()
        self.warmed: frozenset[str] = frozenset()
        """The topics whose leaders `warm()` looked up."""

    def start(self, timeout: float = 30.0, stopped: Callable[[], bool] | None = None) -> Publisher:
        """Wait for the broker (retrying with backoff, logging why), then create the producer."""
        wait_with_backoff(self._probe_conf, timeout, stopped)
        self._producer = Producer(self._conf)
        return self

    @property
    def counts(self) -> DeliveryCounts:
        """sent, failed, and acknowledged (sent minus failed minus still queued)."""
        self._counts.in_flight = len(self._producer) if self._producer is not None else 0
        return self._counts

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._counts.failed += 1
            if self._first_error is None:
                self._first_error = str(err)
                log.error("delivery to %s failed: %s", msg.topic(), err)
        if self._on_delivery is not None:
            self._on_delivery(err, msg)

    def _refused(
        self,
        exc: KafkaException,
        topic: str,
        key: str | bytes | None,
        value: bytes,
        on_delivery: OnDelivery | None,
    ) -> None:
        """librdkafka refused a message in `produce()`: report it as a failed delivery."""
        err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        if err is None:
            err = KafkaError(KafkaError._FAIL, str(exc))
        if err.fatal() or err.code() == KafkaError._FATAL:
            raise exc  # the producer is unusable: only a new one (a restart) helps
        if err.code() not in self._refusals:
            self._refusals.add(err.code())
            log.error("%s refused a message of %d bytes: %s", topic, len(value), err.str())
        raw_key = key.encode("utf-8", "replace") if isinstance(key, str) else key
        msg = Message(topic=topic, key=raw_key, value=value, error=err)  # as a report carries it
        if on_delivery is None:
            self._delivered(err, msg)
        else:
            self._counts.failed += 1
            on_delivery(err, msg)

    def _when_room(self, topic: str, key: str | bytes | None, value: bytes, **kwargs: Any) -> None:
        """The slow path of a `produce()` that raised: wait out a full queue serving delivery
        reports; report a refused message to its callback (see `_refused`)."""
        producer = self._require()
        while True:
            try:
                producer.produce(topic, value, key, **kwargs)
                return
            except BufferError:
                producer.poll(0.05)
            except KafkaException as exc:
                self._refused(exc, topic, key, value, kwargs.get("on_delivery"))
                return

    def publish(
        self,
        topic: str,
        key: str | bytes | None,
        value: bytes,
        *,
        timestamp: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue one message; on a full queue, serve callbacks and retry until it fits. A message
        librdkafka refuses is reported failed to `on_delivery` (or the default); never raises but
        for a fatal producer error (KafkaException).
        `timestamp` is its Kafka timestamp (CreateTime), ms since the epoch; default: now."""
        if timestamp is not None:
            kwargs["timestamp"] = timestamp
        producer = self._require()
        try:
            producer.produce(topic, value, key, **kwargs)
        except (BufferError, KafkaException):
            self._when_room(topic, key, value, **kwargs)
        self._sent(producer, 1)

    def publish_many(
        self,
        messages: list[tuple[str, str | bytes | None, bytes]],
        on_delivery: OnDelivery | None = None,
        timestamps: Sequence[int] | None = None,
    ) -> None:
        """`publish` for a list of (topic, key, value): the hot path of fast feeds and scorers.
        `on_delivery`, when given, is called for each of these messages instead of the default.
        `timestamps`, when given, are their Kafka timestamps (CreateTime, ms), one per message."""
        producer = self._require()
        produce = producer.produce
        if timestamps is not None:
            extra: dict[str, Any] = {} if on_delivery is None else {"on_delivery": on_delivery}
            for (topic, key, value), ts in zip(messages, timestamps, strict=True):
                try:
                    produce(topic, value, key, timestamp=ts, **extra)
                except (BufferError, KafkaException):
                    self._when_room(topic, key, value, timestamp=ts, **extra)
        elif on_delivery is None:
            for topic, key, value in messages:
                try:
                    produce(topic, value, key)
                except (BufferError, KafkaException):
                    self._when_room(topic, key, value)
        else:
            for topic, key, value in messages:
                try:
                    produce(topic, value, key, on_delivery=on_delivery)
                except (BufferError, KafkaException):
                    self._when_room(topic, key, value, on_delivery=on_delivery)
        self._sent(producer, len(messages))

    def _sent(self, producer: Producer, n: int) -> None:
        self._counts.sent += n
        self._since_poll += n
        if self._since_poll >= POLL_EVERY:
            self._since_poll = 0
            producer.poll(0)

    def warm(self, topics: Iterable[str], timeout: float = 10.0) -> frozenset[str]:
        """Look up the leaders of each of `topics` that exists, so the first message to it is
        sent at once: a producer's first message to a topic otherwise waits, with its
        timestamp already set, for that lookup (about 1 s on the embedded broker). A topic
        missing from the cluster is left alone (looking it up by name could create it).
        Returns the topics looked up (also `warmed`); a broker that does not answer within
        `timeout` seconds raises KafkaException."""
        producer = self._require()
        present = producer.list_topics(timeout=timeout).topics
        found = [t for t in topics if t in present]
        for topic in found:  # by name: librdkafka keeps the topic's leaders for its produce()
            producer.list_topics(topic, timeout=timeout)
        self.warmed = self.warmed | frozenset(found)
        return frozenset(found)

    def poll(self, timeout: float = 0.0) -> int:
        return self._require().poll(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for every queued message to be acknowledged or failed; returns how many remain."""
        if self._producer is None:
            return 0
        return int(self._producer.flush(timeout))

    def close(self, timeout: float = 30.0) -> DeliveryCounts:
        remaining = self.flush(timeout)
        if remaining and self._producer is not None:
            log.error(
                "%d messages were still unacknowledged after %.0fs; counted as failed",
                remaining,
                timeout,
            )
            # Drop them so librdkafka's teardown does not wait on a broker that is gone.
            self._producer.purge()
            self._producer.flush(0)
        counts = self.counts
        self._producer = None
        self._counts = DeliveryCounts(counts.sent, counts.failed + remaining, 0)
        return self._counts

    def renew(self, **overrides: Any) -> None:
        """Replace the producer with a new one, built from the same configuration updated with
        `overrides` (a new `transactional.id`): after a fatal error, such as a transactional
        producer fenced during a coordinator's failover. What the old one still held is
        purged, unreported: its transaction never commits."""
        old = self._producer
        self._conf.update(overrides)
        self._producer = Producer(self._conf)
        if old is not None:
            old.purge(blocking=False)  # a call may still be blocked in it

    def client(self) -> Producer:
        """The confluent-kafka producer (after `start()`): for calls this wrapper does not
        make, such as a transactional producer's (`lazarus.kafka.transactional`)."""
        return self._require()

    def _require(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("Publisher.start() was not called")
        return self._producer

    def __enter__(self) -> Publisher:
        return self.start() if self._producer is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_with_backoff(
    conf: KafkaConfig, timeout: float, stopped: Callable[[], bool] | None = None
) -> None:
    """Retry the broker with exponential backoff, one clear log line per attempt."""
    probe = {**conf, "logger": quiet_logger()}
    deadline = time.monotonic() + timeout
    delay = 0.5
    attempt = 1
    while True:
        left = deadline - time.monotonic()
        try:
            wait_for_broker(probe, timeout=max(0.5, min(delay, left)))
            if attempt > 1:
                log.info(
                    "broker at %s answered after %d attempts", conf["bootstrap.servers"], attempt
                )
            return
        except ServiceUnavailable as exc:
            if stopped is not None and stopped():
                raise ServiceUnavailable("stopped while waiting for the broker") from exc
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(f"gave up after {timeout:.0f}s: {exc}") from exc
            log.warning(
                "broker at %s not reachable (attempt %d); retrying in %.1fs, giving up after --timeout %.0fs",
                conf["bootstrap.servers"],
                attempt,
                delay,
                timeout,
            )
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 5.0)
        attempt += 1
