"""Bring up what the pipeline needs: a broker, a Redis, the topics.

With ``embedded`` on (the default) the broker is started here and Redis is
used where it answers, else started here too. With it off, both must already
run where the settings say; nothing is started.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from types import TracebackType

from lazarus import redisconn
from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.redis_server import EmbeddedRedis
from lazarus.errors import ConfigError
from lazarus.kafka.admin import ensure_topics, wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.schemas.topics import topic_names
from lazarus.settings import Settings, env_name, redact_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StackInfo:
    """What came up, and where."""

    bootstrap: str
    redis_url: str
    broker_embedded: bool
    redis_embedded: bool
    ready_seconds: float
    topics_created: tuple[str, ...]

    def describe(self) -> list[str]:
        return [
            f"Kafka  {self.bootstrap} ({'embedded Tansu broker' if self.broker_embedded else 'external'})",
            f"Redis  {redact_url(self.redis_url)} "
            f"({'embedded redis-server: none answered at the configured URL' if self.redis_embedded else 'configured'})",
            f"ready in {self.ready_seconds:.2f}s; topics created now: {len(self.topics_created)}",
        ]


class Stack:
    """`with Stack(settings) as stack:` then `stack.settings` points at what runs."""

    def __init__(self, settings: Settings) -> None:
        self._requested = settings
        self.settings = settings
        self.broker: EmbeddedBroker | None = None
        self.redis: EmbeddedRedis | None = None
        self.info: StackInfo | None = None

    def start(self) -> StackInfo:
        started = time.monotonic()
        try:
            settings = self._start_broker(self._requested)
            settings = self._start_redis(settings)
            created = ensure_topics(
                client_config(settings),
                topic_names(settings.topic_prefix),
                settings.topic_partitions,
                settings.topic_replication_factor,
            )
        except BaseException:
            self.stop()
            raise
        self.settings = settings
        self.info = StackInfo(
            bootstrap=settings.kafka_bootstrap_servers,
            redis_url=settings.redis_url_value,
            broker_embedded=self.broker is not None,
            redis_embedded=self.redis is not None,
            ready_seconds=time.monotonic() - started,
            topics_created=tuple(n for n, new in created.items() if new),
        )
        return self.info

    def _start_broker(self, settings: Settings) -> Settings:
        if not settings.embedded:
            wait_for_broker(client_config(settings, quiet=True))
            return settings
        if settings.kafka_group_protocol == "consumer":
            raise ConfigError(
                f"setting {env_name('kafka_group_protocol')}=consumer needs Apache Kafka 4.0 or "
                f"newer: the embedded broker (Tansu) never completes that group join; use "
                f"classic, or {env_name('embedded')}=false with such a Kafka"
            )
        self.broker = EmbeddedBroker(settings.embedded_broker_port)
        self.broker.start()
        return settings.with_overrides(kafka_bootstrap_servers=self.broker.bootstrap)

    def _start_redis(self, settings: Settings) -> Settings:
        if redisconn.answers(settings.redis_url_value) or not settings.embedded:
            redisconn.require(settings.redis_url_value)
            return settings
        log.info(
            "no Redis answered at %s; starting the embedded redis-server",
            redact_url(settings.redis_url_value),
        )
        self.redis = EmbeddedRedis()
        self.redis.start()
        return settings.with_overrides(redis_url=self.redis.url)

    def broker_alive(self) -> bool:
        return self.broker is None or self.broker.alive()

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
        if self.redis is not None:
            self.redis.stop()
            self.redis = None

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
