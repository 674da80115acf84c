"""Send what could not be used to the dead-letter topic, with why and where it came from."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Literal

from pydantic import ValidationError

from lazarus.kafka.producer import OnDelivery, Publisher
from schemas.deadletter import DeadLetter, dead_letter_id
from schemas.topics import Topic

log = logging.getLogger(__name__)

Stage = Literal["producer", "trainer", "scorer"]


def reason_of(exc: BaseException) -> str:
    """A one-line reason a person can act on."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        return "; ".join(parts) + more
    return f"{exc}"[:4000] or type(exc).__name__


class DeadLetterSink:
    """`sink.send(topic, partition, offset, key, raw, exc)`; counts what it sent."""

    def __init__(self, publisher: Publisher, topic: str, stage: Stage) -> None:
        self._publisher = publisher
        self.topic = topic
        self._stage = stage
        self.count = 0
        self.by_origin: dict[str, int] = {}
        """Dead letters per origin topic (or file), for metrics."""

    def send(
        self,
        origin_topic: str,
        partition: int,
        offset: int,
        key: bytes | str | None,
        raw: bytes,
        exc: BaseException,
        on_delivery: OnDelivery | None = None,
        *,
        error_class: str | None = None,
    ) -> None:
        """Publish the dead letter; `on_delivery` (if given) hears of its acknowledgement.

        `error_class` names the original error when `exc` only carries its reason (an error
        raised in another process)."""
        payload, encoding = DeadLetter.encode_payload(raw)
        letter = DeadLetter(
            # Stage in the id: the trainer and the scorer may both reject the same input.
            event_id=dead_letter_id(f"{self._stage}:{origin_topic}:{partition}", offset),
            event_time=datetime.now(UTC),
            stage=self._stage,
            reason=reason_of(exc),
            error_class=error_class or type(exc).__name__,
            origin_topic=origin_topic,
            origin_partition=partition,
            origin_offset=offset,
            origin_key=key.decode(errors="replace") if isinstance(key, bytes) else key,
            payload=payload,
            payload_encoding=encoding,
        )
        extra = {} if on_delivery is None else {"on_delivery": on_delivery}
        self._publisher.publish(self.topic, letter.event_id, Topic.encode(letter), **extra)
        self.count += 1
        self.by_origin[origin_topic] = self.by_origin.get(origin_topic, 0) + 1
        if self.count <= 10 or self.count % 1000 == 0:
            log.warning(
                "dead-lettered %s[%d]@%d: %s (%d so far)",
                origin_topic,
                partition,
                offset,
                letter.reason,
                self.count,
            )
