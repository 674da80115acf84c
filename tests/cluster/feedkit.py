"""What goes into the cluster and what comes out, as the fault tests count it.

`AckedFeed` sends simulated sensor readings (and, if asked, their labels) at a steady rate
through the Lazarus producer (`Publisher`: acks=all, idempotent) in a thread, and keeps every
delivery report: which events the cluster acknowledged, when, at which partition and offset.
`Tail` reads a topic from its start in a thread, as it grows, and keeps what it reads.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from confluent_kafka import KafkaError, Message, TopicPartition

from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.consumer import assigned_consumer
from lazarus.kafka.producer import DeliveryCounts, Publisher
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.trainerkit import START

T = TypeVar("T")

CLOSE_S = 120.0
"""How long the feed waits for its last acknowledgements when stopped."""


@dataclass(frozen=True)
class Ack:
    """One acknowledged event: when its report came (monotonic s), where it was written, and
    when it left the stream for the producer (monotonic s)."""

    at: float
    partition: int
    offset: int
    sent: float


class AckedFeed:
    """Readings of `SensorNetwork(seed)` (event n is the stream's n-th, as in any run with the
    seed) at `rate` events/s from entering the block until `stop()`; with `outcomes`, each
    reading's label right after it.

    `acks` maps each acknowledged reading's event id to its `Ack`; `outcomes_acked` counts the
    labels; `failed` lists the event ids whose delivery failed for good."""

    def __init__(self, settings: Settings, *, rate: float, seed: int, outcomes: bool) -> None:
        self.settings = settings
        self.rate = rate
        self.seed = seed
        self.outcomes = outcomes
        self.readings = SENSOR_READINGS.full(settings.topic_prefix)
        self.acks: dict[str, Ack] = {}
        self.outcomes_acked = 0
        self.failed: list[str] = []
        self.sent = 0
        self.counts: DeliveryCounts | None = None
        self._sent_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name="acked-feed", daemon=True)

    def __enter__(self) -> AckedFeed:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop sending (a test that failed half-way leaves no producer behind)."""
        self._stop.set()
        self._thread.join(CLOSE_S + 30)

    def stop(self) -> DeliveryCounts:
        """Stop sending, wait for the outstanding acknowledgements (`CLOSE_S`); the counts."""
        self.__exit__()
        assert not self._thread.is_alive(), "the feed did not finish"
        assert not self._errors, self._errors
        assert self.counts is not None
        return self.counts

    def acked(self) -> dict[str, Ack]:
        """A copy of the acknowledged readings so far."""
        with self._lock:
            return dict(self.acks)

    def acked_since(self, t: float, partition: int | None = None) -> list[tuple[str, Ack]]:
        """Readings sent after monotonic time `t` (on `partition`, if given) and acknowledged."""
        return sorted(
            (
                (eid, a)
                for eid, a in self.acked().items()
                if a.sent > t and (partition is None or a.partition == partition)
            ),
            key=lambda item: item[1].at,
        )

    def _run(self) -> None:
        try:
            publisher = Publisher(producer_config(self.settings), on_delivery=self._report)
            publisher.start(30)
            stream = SensorNetwork(
                SimConfig(seed=self.seed, fault_rate=0.0, label_delay_s=0), START
            )
            outcome_topic = HABITAT_OUTCOMES.full(self.settings.topic_prefix)
            started = time.monotonic()
            for n, (key, reading, outcome) in enumerate(iter(stream)):
                ahead = started + n / self.rate - time.monotonic()
                if self._stop.wait(max(0.0, ahead)):
                    break
                with self._lock:
                    self._sent_at[json.loads(reading)["event_id"]] = time.monotonic()
                publisher.publish(self.readings, key, reading)
                if self.outcomes and outcome is not None:
                    publisher.publish(outcome_topic, key, outcome)
                publisher.poll(0)  # delivery reports as they come: their times are measured
                self.sent = n + 1
            self.counts = publisher.close(CLOSE_S)
        except BaseException as exc:  # surfaced by stop()
            self._errors.append(exc)

    def _report(self, err: KafkaError | None, msg: Message) -> None:
        now = time.monotonic()
        event_id = str(json.loads(msg.value() or b"{}").get("event_id"))
        if err is not None:
            self.failed.append(event_id)
        elif msg.topic() != self.readings:
            self.outcomes_acked += 1
        else:
            with self._lock:
                sent = self._sent_at.pop(event_id)
                self.acks[event_id] = Ack(now, msg.partition() or 0, msg.offset() or 0, sent)


class Tail(Generic[T]):
    """Every message of `topic`, from the start, read in a thread as the topic grows (by
    assignment, no group); each kept as `(monotonic time read, parse(message))`."""

    def __init__(self, settings: Settings, topic: str, parse: Callable[[Message], T]) -> None:
        self.settings = settings
        self.topic = topic
        self.parse = parse
        self.items: list[tuple[float, T]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name=f"tail-{topic}", daemon=True)

    def __enter__(self) -> Tail[T]:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)
        assert not self._errors, self._errors

    def seen(self) -> list[tuple[float, T]]:
        with self._lock:
            return list(self.items)

    def _run(self) -> None:
        conf = {
            **client_config(self.settings, quiet=True),
            "group.id": f"tail-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
        consumer = assigned_consumer(conf)
        try:
            parts = consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
            consumer.assign([TopicPartition(self.topic, p, 0) for p in parts])
            while not self._stop.is_set():
                batch = consumer.consume(500, 0.1)
                now = time.monotonic()
                parsed = [(now, self.parse(m)) for m in batch if m.error() is None]
                with self._lock:
                    self.items += parsed
        except BaseException as exc:  # surfaced on exit
            self._errors.append(exc)
        finally:
            consumer.close()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait (bounded) until `predicate()`; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.05)
    return time.monotonic()
