"""The trainer's partitions: which exist, whether a snapshot's offsets fit them, and lag commits.

All through one metadata consumer (`lazarus.kafka.consumer.metadata_consumer`) that is never
polled for messages: the feed does the consuming.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import Consumer, TopicPartition

from lazarus.errors import LazarusError, ServiceUnavailable
from lazarus.lag import log_end

log = logging.getLogger("lazarus.trainer.app")

TP = tuple[str, int]


class TopicsRecreated(LazarusError):
    """The snapshot's offsets are past the end of the logs it names."""


def discover(consumer: Consumer, wanted: list[str], timeout: float) -> list[TP]:
    """Every (topic, partition) of the `wanted` topics, in their order; waits up to `timeout`
    seconds for them to exist, then raises ServiceUnavailable."""
    deadline = time.monotonic() + timeout
    while True:
        topics = consumer.list_topics(timeout=5).topics
        missing = [t for t in wanted if t not in topics or not topics[t].partitions]
        if not missing:
            return [(t, p) for t in wanted for p in sorted(topics[t].partitions)]
        if time.monotonic() > deadline:
            raise ServiceUnavailable(
                f"topics {missing} do not exist; create them with `lazarus topics create`"
            )
        log.warning("waiting for topics %s to exist (`lazarus topics create`)", missing)
        time.sleep(1.0)


def check_offsets(
    consumer: Consumer, offsets: dict[str, int], partitions: list[TP], model: str, version: object
) -> None:
    """A snapshot trained past the end of a log belongs to another incarnation of the topics:
    TopicsRecreated. `offsets` maps "topic:partition" to the next offset the model needs; a
    start below the log's low watermark (retention deleted it) is logged and skipped."""
    for topic, partition in partitions:
        wanted = offsets.get(f"{topic}:{partition}")
        if wanted is None:
            continue
        tp = TopicPartition(topic, partition)
        low, _ = consumer.get_watermark_offsets(tp, timeout=5.0, cached=False)
        if wanted < low:
            log.error(
                "%s[%d]: offsets %d..%d were deleted (retention) before %s learned them; "
                "continuing from %d. Lengthen the topic's retention beyond the trainer's downtime.",
                topic,
                partition,
                wanted,
                low - 1,
                model,
                low,
            )
        end = log_end(consumer, tp)
        if wanted > end:
            raise TopicsRecreated(
                f"{model} v{version} reads on from offset "
                f"{wanted} of {topic}[{partition}], but that log ends at {end}: the topics were "
                "recreated or truncated. Rebuild with `lazarus train "
                f"{model} --from-beginning`, or point LAZARUS_REDIS_KEY_PREFIX elsewhere"
            )


def commit_for_lag(
    consumer: Consumer | None, offsets: dict[str, int], *, poll: bool = True
) -> None:
    """Offsets ("topic:partition" -> next offset) to the group, for `lazarus lag` only:
    restarts use the snapshot's offsets. A failure is logged at DEBUG, never raised. `poll`:
    serve the commit's reply now (a group member whose own loop polls passes False: a poll
    here would serve a rebalance in the middle of its step)."""
    if consumer is None or not offsets:
        return
    tps = []
    for key, offset in offsets.items():
        topic, partition = key.rsplit(":", 1)
        tps.append(TopicPartition(topic, int(partition), offset))
    try:
        consumer.commit(offsets=tps, asynchronous=True)
        if poll:
            consumer.poll(0)  # serve commit replies; it has no partitions to read
    except Exception as exc:  # lag reporting must never stop training
        log.debug("offset commit failed: %s", exc)
