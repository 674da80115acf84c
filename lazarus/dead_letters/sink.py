"""Send what could not be used to the dead-letter topic, with why and where it came from.

Every stage hands the sink a `Rejection`. Building and sending a letter never raises,
whatever the input: `DeadLetter.of` cuts
what is too long, and a letter the broker (or librdkafka) refuses is sent once more
without its payload. If that is refused too, the letter is logged, counted in `lost`,
and its input acknowledged anyway, so no worker stalls or crash-loops on one message.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from confluent_kafka import KafkaError, Message
from pydantic import ValidationError

from lazarus.dead_letters.rejection import Rejection, Stage, reason_of
from lazarus.kafka.producer import OnDelivery, Publisher, retriable
from lazarus.schemas.deadletter import DeadLetter, clip, dead_letter_id
from lazarus.schemas.topics import Topic

log = logging.getLogger(__name__)

__all__ = ["DeadLetterSink", "Rejection", "Stage", "reason_of"]


class DeadLetterSink:
    """`sink.send(rejection)` publishes a `Rejection` as a `DeadLetter`; counts what it sent.

    `count` is the inputs dead-lettered; `lost` how many of their letters the broker refused
    even without their payload (those inputs are only in the log)."""

    def __init__(self, publisher: Publisher, topic: str, stage: Stage) -> None:
        self._publisher = publisher
        self.topic = topic
        self._stage: Stage = stage
        self.count = 0
        self.lost = 0
        self.by_origin: dict[str, int] = {}
        """Dead letters per origin topic (or file), for metrics."""
        self._refused: list[tuple[Message, OnDelivery | None]] = []

    def send(
        self, rejection: Rejection, on_delivery: OnDelivery | None = None, *, shrunk: bool = False
    ) -> DeadLetter:
        """Publish the dead letter of one rejected input (`shrunk`: without its payload);
        never raises (but for a fatal producer error). Returns the letter sent.

        `on_delivery` (if given) hears of the letter's fate: acknowledged; a retriable failure
        (send it again with `redeliver`); or, when the broker refused it even shrunk, an
        acknowledgement anyway."""
        letter = rejection.letter()
        if shrunk:
            letter = letter.shrunk()
        self._counted(letter, rejection.topic or rejection.file or "")
        self._publish(letter, on_delivery)
        self.settle()
        return letter

    def send_refused(self, msg: Message, on_delivery: OnDelivery | None = None) -> DeadLetter:
        """Dead-letter an output the broker refused for good (`msg` from its delivery report):
        its topic is the origin, its value the payload, the error the reason."""
        err = msg.error()
        topic, value = msg.topic() or "", msg.value() or b""
        what = f"{err.name()}: {err.str()}" if isinstance(err, KafkaError) else "refused"
        letter = DeadLetter.of(
            value,
            event_id=dead_letter_id(
                f"{self._stage}:refused:{topic}", hashlib.sha256(value).hexdigest()
            ),
            stage=self._stage,
            reason=f"the broker refused this output for good ({what}); nothing was written",
            error_class="KafkaError",
            origin_topic=topic,
            origin_key=msg.key(),
        )
        self._counted(letter, topic)
        self._publish(letter, on_delivery)
        self.settle()
        return letter

    def redeliver(self, msg: Message, on_delivery: OnDelivery | None = None) -> None:
        """A letter whose delivery failed: send it again as it was (retriable), or shrunk."""
        if retriable(msg.error()):
            self._send_value(msg.value() or b"", msg.key(), on_delivery)
        else:
            self._refused.append((msg, on_delivery))
            self.settle()

    def discard_refused(self) -> str | None:
        """Forget the letters refused for good that wait for `settle()` (their transaction was
        aborted: exactly-once); why the first was refused, or None when there were none."""
        refused, self._refused = self._refused, []
        return _error(refused[0][0]) if refused else None

    def settle(self) -> None:
        """Handle the letters the broker refused: resend each once without its payload; give
        up on one refused shrunk (log it, count it in `lost`, acknowledge it anyway)."""
        while self._refused:
            msg, on_delivery = self._refused.pop(0)
            letter = _parsed(msg.value())
            if letter is not None and not letter.is_shrunk:
                log.warning(
                    "%s refused dead letter %s of %s (%s, %d bytes); sending it without its payload",
                    self.topic,
                    letter.event_id,
                    _origin(letter),
                    _error(msg),
                    len(msg.value() or b""),
                )
                self._publish(letter.shrunk(), on_delivery)
            else:
                self._give_up(msg, letter, on_delivery)

    def _give_up(
        self, msg: Message, letter: DeadLetter | None, on_delivery: OnDelivery | None
    ) -> None:
        self.lost += 1
        log.error(
            "%s refused dead letter %s even without its payload (%s): its input is only in this "
            "log and is acknowledged: %s",
            self.topic,
            letter.event_id if letter is not None else "?",
            _error(msg),
            _described(letter, msg),
        )
        if on_delivery is not None:
            on_delivery(None, msg)

    def _counted(self, letter: DeadLetter, origin: str) -> None:
        self.count += 1
        self.by_origin[origin] = self.by_origin.get(origin, 0) + 1
        if self.count <= 10 or self.count % 1000 == 0:
            log.warning(
                "dead-lettered %s: %s (%d so far)",
                _origin(letter),
                clip(letter.reason, 500),
                self.count,
            )

    def _publish(self, letter: DeadLetter, on_delivery: OnDelivery | None) -> None:
        try:
            value = Topic.encode(letter)
        except ValueError as exc:  # cannot happen for a letter from DeadLetter.of; never raise
            value = Topic.encode(DeadLetter._last_resort(self._stage, letter.event_id, exc))
        self._send_value(value, letter.event_id, on_delivery)

    def _send_value(
        self, value: bytes, key: str | bytes | None, on_delivery: OnDelivery | None
    ) -> None:
        self._publisher.publish(self.topic, key, value, on_delivery=self._reporter(on_delivery))

    def _reporter(self, on_delivery: OnDelivery | None) -> OnDelivery:
        """The delivery callback of one letter: a refusal is kept for `settle` (producing from
        inside a delivery callback is not allowed); anything else goes to `on_delivery`."""

        def report(err: KafkaError | None, msg: Message) -> None:
            if err is not None and not retriable(err):
                self._refused.append((msg, on_delivery))
            elif on_delivery is not None:
                on_delivery(err, msg)
            elif err is not None:  # nobody waits for this letter to send it again
                self.lost += 1
                if self.lost <= 10 or self.lost % 1000 == 0:
                    log.error("dead letter to %s failed (%s); it is lost", self.topic, err)

        return report


def _parsed(value: bytes | None) -> DeadLetter | None:
    try:
        return DeadLetter.model_validate_json(value or b"")
    except ValidationError:
        return None


def _origin(letter: DeadLetter) -> str:
    if letter.origin_topic is not None:
        where = f"{letter.origin_topic}[{letter.origin_partition}]@{letter.origin_offset}"
    else:
        where = f"{letter.origin_file}:{letter.origin_line}"
    return clip(where, 300)


def _error(msg: Message) -> str:
    err = msg.error()
    return f"{err.name()}: {err.str()}" if isinstance(err, KafkaError) else "refused"


def _described(letter: DeadLetter | None, msg: Message) -> str:
    """What the log keeps of a lost letter: everything but the payload's bytes."""
    if letter is None:
        return f"{len(msg.value() or b'')} unreadable bytes"
    fields: dict[str, Any] = letter.model_dump(mode="json", exclude={"payload"})
    if letter.payload:
        fields["payload_start"] = letter.payload[:200]
    return str(fields)
