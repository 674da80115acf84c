"""The scorer's delivery guarantee (`LAZARUS_SCORER_DELIVERY`): what exactly-once adds.

`at-least-once` (the default) stores an input's offset once its score is acknowledged
(`lazarus.kafka.consumer.GroupConsumer`). `exactly-once` scores each batch inside a Kafka
transaction with its input offsets (`lazarus.kafka.transactional.TransactionalConsumer`); this
module holds the scorer's side of that: the producer's transactional settings, and the counters an aborted transaction rolls back.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import TYPE_CHECKING, Any

from lazarus.kafka.transactional import TRANSACTION_TIMEOUT_MS
from lazarus.settings import Settings

if TYPE_CHECKING:
    from lazarus.scorer.app import ScorerApp


def producer_options(settings: Settings, group: str) -> dict[str, Any]:
    """librdkafka options the scorer's producer adds for its delivery guarantee.

    Exactly-once: a `transactional.id` unique to this process (`<group>.<host>.<pid>.<random>`;
    zombies are fenced by the consumer group's generation, KIP-447, not by a reused id) and
    `transaction.timeout.ms` (`TRANSACTION_TIMEOUT_MS`). At-least-once: none."""
    if settings.scorer_delivery != "exactly-once":
        return {}
    tag = f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    return {"transactional.id": f"{group}.{tag}", "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS}


class Counters:
    """The scorer's counts as a transaction begins, put back when it aborts: an aborted
    batch's scores and dead letters were never delivered, and it is scored again."""

    def __init__(self, app: ScorerApp) -> None:
        self.app = app
        self._kept: tuple[int, dict[str, int], int, dict[str, int]] = (0, {}, 0, {})
        self._shadow = app.scoring.shadow.keep()

    def keep(self) -> None:
        app = self.app
        letters = app.dead_letters
        self._kept = (app.scored, dict(app.in_by_topic), letters.count, dict(letters.by_origin))
        self._shadow = app.scoring.shadow.keep()

    def restore(self) -> str | None:
        """Put the counts back (in place: a scrape may be reading the dicts); returns why a
        dead letter of the aborted batch was refused for good, or None (`on_abort`)."""
        app = self.app
        letters = app.dead_letters
        app.scored, in_by_topic, letters.count, by_origin = self._kept
        for counts, kept in ((app.in_by_topic, in_by_topic), (letters.by_origin, by_origin)):
            for key in list(counts):
                counts[key] = kept.get(key, 0)
        app.scoring.shadow.restore(self._shadow)
        return letters.discard_refused()
