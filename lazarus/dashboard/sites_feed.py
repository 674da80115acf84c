"""The map's data: a background thread that tails the located input topics and the score topics
of the built-in models, keeping each site's latest location and latest score (`sites_view`).

It reads with an assigned consumer (no group: nothing is committed, no lag is shown for it),
starting `tail` messages before each partition's end, so the map fills at once without reading
whole logs. Work is bounded: at most `budget` messages a second are parsed, and a partition that
falls more than `4 * tail` behind skips ahead to `tail` before its end (the map wants the latest,
not every message). New topics and partitions are picked up every `refresh_s` (every second
while a topic is missing).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from lazarus.dashboard.sites_view import (
    SITES_LIMIT,
    LatestBySite,
    Located,
    Scored,
    located_inputs,
    model_sites,
    read_location,
    read_score,
    scale_of,
)
from lazarus.dashboard.state import describe
from lazarus.schemas.contract import ModelContract

if TYPE_CHECKING:
    from confluent_kafka import Consumer

    from lazarus.kafka.config import KafkaConfig
    from lazarus.settings import Settings

log = logging.getLogger(__name__)

TAIL_PER_PARTITION = 2_000
"""Messages read back from each partition's end at the start (and after a skip ahead)."""
BUDGET_PER_S = 20_000
"""Messages parsed per second at most: the map costs a bounded share of a core."""
REFRESH_S = 10.0
"""Seconds between looks for new topics and partitions (and for partitions far behind)."""
POLL_S = 0.5
RETRY_S = 2.0


class Consumed(Protocol):
    """The part of a consumed `confluent_kafka.Message` the feed reads."""

    def topic(self) -> str | None: ...
    def value(self) -> bytes | None: ...
    def error(self) -> Any: ...


class SitesFeed:
    """Tails the topics the map needs in one daemon thread; `state()` is `/api/sites`.

    A broker failure is reported in the state (`error`) and retried, never raised."""

    def __init__(
        self,
        settings: Settings,
        contracts: Iterable[ModelContract] | None = None,
        *,
        limit: int = SITES_LIMIT,
        tail: int = TAIL_PER_PARTITION,
        budget: int = BUDGET_PER_S,
        refresh_s: float = REFRESH_S,
    ) -> None:
        if contracts is None:
            from lazarus.schemas.models import BUILTIN

            contracts = BUILTIN.values()
        self._settings = settings
        self._prefix = settings.topic_prefix
        self._contracts = tuple(contracts)
        self.limit, self.tail, self.budget, self.refresh_s = limit, tail, budget, refresh_s
        self._locations: dict[str, LatestBySite[Located]] = {}
        self._key_fields: dict[str, str] = {}
        self._scores: dict[str, LatestBySite[Scored]] = {}
        self._score_readers: dict[str, Callable[[bytes | None], tuple[str, Scored] | None]] = {}
        for contract in self._contracts:
            self._watch(contract)
        self.messages = 0
        self._sampled_at: float | None = None
        self._error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _watch(self, contract: ModelContract) -> None:
        inputs = located_inputs(contract)
        if not inputs or contract.scores is None:
            return
        for topic in inputs:
            name = topic.full(self._prefix)
            self._locations.setdefault(name, LatestBySite(self.limit))
            self._key_fields[name] = topic.key_field
        scores = contract.scores.full(self._prefix)
        self._scores[scores] = LatestBySite(self.limit)
        scale = scale_of(contract)
        self._score_readers[scores] = lambda raw: read_score(raw, scale)

    @property
    def topics(self) -> list[str]:
        """Every topic the feed reads."""
        return [*self._locations, *self._scores]

    # -- what the page gets --

    def state(self) -> dict[str, Any]:
        """`{"sampled_at", "error", "limit", "models": [model_sites(...) per model]}`."""
        with self._lock:
            locations = {name: dict(book.items()) for name, book in self._locations.items()}
            scores = {name: dict(book.items()) for name, book in self._scores.items()}
            head = {"sampled_at": self._sampled_at, "error": self._error, "limit": self.limit}
        models = []
        for contract in self._contracts:
            names = [t.full(self._prefix) for t in located_inputs(contract)]
            books = [locations[n] for n in names if n in locations]
            scored = scores.get(contract.scores.full(self._prefix) if contract.scores else "", {})
            models.append(model_sites(contract, self._prefix, books, scored))
        return {**head, "models": models}

    # -- taking messages (the thread, or a test) --

    def take(self, messages: Iterable[Consumed]) -> int:
        """Fold consumed messages into the books; the number of records among them."""
        n = 0
        with self._lock:
            for msg in messages:
                if msg.error() is not None:
                    continue
                n += 1
                topic = msg.topic() or ""
                if topic in self._locations:
                    seen = read_location(msg.value(), self._key_fields[topic])
                    if seen is not None:
                        self._locations[topic].put(seen[0], seen[1], seen[1].seen_at)
                reader = self._score_readers.get(topic)
                if reader is not None:
                    scored = reader(msg.value())
                    if scored is not None:
                        self._scores[topic].put(scored[0], scored[1], scored[1].scored_at)
            self.messages += n
        return n

    # -- the thread --

    def start(self) -> None:
        if not self.topics:
            return
        self._thread = threading.Thread(target=self._run, name="dashboard-sites", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        from lazarus.kafka.admin import broker_calls
        from lazarus.kafka.consumer import assigned_consumer

        conf = self._config()
        while not self._stop.is_set():
            consumer = None
            try:
                with broker_calls(conf):  # a broker failure as one line naming the setting
                    consumer = assigned_consumer(conf)
                    self._follow(consumer)
            except Exception as exc:  # shown on the page and retried, never raised
                self._set_error(describe(exc))
                self._stop.wait(RETRY_S)
            finally:
                if consumer is not None:
                    consumer.close()

    def _config(self) -> KafkaConfig:
        from lazarus.groups import group_name
        from lazarus.kafka.config import consumer_config, quiet_logger

        # A group id librdkafka wants; the consumer is assigned, never joins, never commits.
        group = group_name(self._prefix, "dashboard", "sites")
        conf = consumer_config(self._settings, group, logger=quiet_logger())
        conf.update({"enable.auto.commit": False, "auto.offset.reset": "latest"})
        return conf

    def _follow(self, consumer: Consumer) -> None:
        assigned: set[tuple[str, int]] = set()
        refresh_at = window_at = 0.0
        taken = 0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= refresh_at:
                complete = self._assign_new(consumer, assigned)
                self._skip_ahead(consumer, assigned)
                self._set_error(None)  # the broker answered
                refresh_at = now + (self.refresh_s if complete else min(1.0, self.refresh_s))
            if now >= window_at + 1.0:
                window_at, taken = now, 0
            if not assigned or taken >= self.budget:
                self._stop.wait(POLL_S if not assigned else max(0.0, window_at + 1.0 - now))
                continue
            taken += self.take(consumer.consume(min(1000, self.budget - taken), POLL_S))
            with self._lock:
                self._sampled_at = time.time()

    def _assign_new(self, consumer: Consumer, assigned: set[tuple[str, int]]) -> bool:
        """Assign the partitions not yet read, from `tail` before their end; False while a
        topic the feed reads does not exist yet."""
        from confluent_kafka import TopicPartition

        md = consumer.list_topics(timeout=5.0).topics
        fresh = []
        complete = True
        for topic in self.topics:
            meta = md.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                complete = False
                continue
            for p in sorted(meta.partitions):
                if (topic, p) in assigned:
                    continue
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=5.0, cached=False
                )
                fresh.append(TopicPartition(topic, p, max(low, high - self.tail)))
                assigned.add((topic, p))
        if fresh:
            consumer.incremental_assign(fresh)
        return complete

    def _skip_ahead(self, consumer: Consumer, assigned: set[tuple[str, int]]) -> None:
        """Seek a partition more than 4 * tail behind its (last fetched) end to `tail` before it."""
        from confluent_kafka import TopicPartition

        if not assigned:
            return
        for tp in consumer.position([TopicPartition(t, p) for t, p in sorted(assigned)]):
            if tp.offset < 0:
                continue
            _, high = consumer.get_watermark_offsets(tp, cached=True)
            if high - tp.offset > 4 * self.tail:
                consumer.seek(TopicPartition(tp.topic, tp.partition, high - self.tail))

    def _set_error(self, error: str | None) -> None:
        with self._lock:
            before, self._error = self._error, error
        if error is not None and error != before:
            log.warning("dashboard: site map: %s (retrying)", error)
        elif error is None and before is not None:
            log.info("dashboard: site map: the broker is back")
