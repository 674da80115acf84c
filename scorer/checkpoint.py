"""When the scorer's input offsets move, and the steps of each move, in the order they run.

An input offset is stored only after its score (or its dead letter) is acknowledged by the
broker, so a crash re-scores, never skips. The `GroupConsumer` runs the steps; this object is
the scorer's side of them (`lazarus.kafka.consumer.Outputs`): flushing scores and dead letters,
and settling the deliveries that failed.

- every step: settle failed deliveries -> store the offsets of acknowledged batches
  (`GroupConsumer.checkpoint`);
- every `COMMIT_INTERVAL_MS`: librdkafka commits the stored offsets (auto-commit);
- on revoke: flush (`REVOKE_FLUSH_S`) -> settle -> store -> commit, before the partitions go;
- on stop: flush (`SHUTDOWN_FLUSH_S`) -> settle -> store -> commit -> leave the group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.kafka.ledger import PendingBatch
from lazarus.kafka.producer import Publisher, retriable

log = logging.getLogger("lazarus.scorer.app")

COMMIT_INTERVAL_MS = 1000
"""librdkafka's `auto.commit.interval.ms` for the scorer group: stored offsets, committed."""


class ScorerCheckpoint:
    """The scorer's outputs as a group consumer sees them: scores and dead letters."""

    def __init__(
        self,
        publisher: Publisher,
        dead_letters: DeadLetterSink,
        on_refused: Callable[[], None],
        *,
        shadows: tuple[str, Callable[[bytes], None]] | None = None,
    ) -> None:
        """`on_refused()` is called once per
        score the broker refused for good (its input is dead-lettered instead). `shadows`:
        (the shadow scores' topic, what to call with a shadow score refused for good): its
        input was scored, so it is only counted, never dead-lettered."""
        self.publisher = publisher
        self.dead_letters = dead_letters
        self.on_refused = on_refused
        self.shadows = shadows

    def flush(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for every output; the number still unacknowledged."""
        return self.publisher.flush(timeout)

    def settle_failures(self, failures: list[tuple[PendingBatch, Any]]) -> None:
        """Settle failed deliveries, so the offsets whose outputs are all settled can be stored.

        A timeout or an outage is sent again. A score the broker refused for good (too large,
        no such topic, not authorized) is dead-lettered instead: resending would fail forever.
        A dead letter goes back to its sink, which resends it shrunk once, or gives up (logs it
        and acknowledges its input). So no message stalls its batch or loops."""
        letters = self.dead_letters
        for batch, msg in failures:
            if msg.topic() == letters.topic:
                letters.redeliver(msg, batch.ack)
            elif retriable(msg.error()):
                log.warning("delivery to %s failed (%s); sending again", msg.topic(), msg.error())
                self.publisher.publish(
                    msg.topic(), msg.key(), msg.value() or b"", on_delivery=batch.ack
                )
            elif self.shadows is not None and msg.topic() == self.shadows[0]:
                self.shadows[1](msg.value() or b"")
                batch.ack(None, msg)  # settled: its input's champion score stands
            else:
                self.on_refused()  # in = scored + dead-lettered
                letters.send_refused(msg, batch.ack)
        letters.settle()
