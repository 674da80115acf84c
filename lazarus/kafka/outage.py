"""One warning per interval while the broker is in trouble, not one per failed fetch."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from confluent_kafka import KafkaError

log = logging.getLogger("lazarus.kafka")

OUTAGE_LOG_EVERY_S = 30.0


class OutageLog:
    """`outage(errors)` after each consume: warns about the first error, then stays quiet
    for `every_s` (librdkafka reconnects by itself)."""

    def __init__(self, every_s: float = OUTAGE_LOG_EVERY_S) -> None:
        self.every_s = every_s
        self._last = -every_s

    def __call__(self, errors: Sequence[KafkaError]) -> None:
        now = time.monotonic()
        if errors and now - self._last >= self.every_s:
            self._last = now
            log.warning(
                "Kafka: %s; still trying (librdkafka reconnects by itself)", errors[0].str()
            )
