"""One input that a stage could not use, as a value: what every stage hands the dead-letter sink.

Errors are data here, as in bytewax's Kafka operators: decoding never raises for a bad
input; it yields a `Rejection` beside the good events, and the sink turns each into a
`DeadLetter` on the dead-letter topic. A rejection is plain and picklable, so the
trainer's decoding process can hand it over its pipe.

>>> r = Rejection.of(ValueError("not JSON"), stage="scorer", raw=b"{", topic="t", partition=0, offset=7)
>>> r.origin, r.error_class, r.reason
('t[0]@7', 'ValueError', 'not JSON')
>>> r.letter().origin_offset
7
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from lazarus.schemas.deadletter import REASON_MAX, DeadLetter, Stage, clip, dead_letter_id

__all__ = ["Rejection", "Stage", "reason_of"]

_PART_MAX = 300
"""Most characters of one validation error's location or message in a reason."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input one stage gave up on: where it came from, its bytes, and why.

    The origin is a Kafka position (`topic`, `partition`, `offset`) or, for a file replay,
    `file` and `line` (1-based). `raw` is the input's value, byte for byte (any size: the
    letter cuts it); `reason` is one line for a person (at most `REASON_MAX` characters when
    built by `of`); `error_class` names the error's type. `letter_id` overrides the letter's
    id, which is otherwise derived from the stage and the origin, so the same input at the
    same place always gets the same letter id (and the trainer and scorer, rejecting one
    input each, get two)."""

    stage: Stage
    raw: bytes
    reason: str
    error_class: str
    key: bytes | str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    file: str | None = None
    line: int | None = None
    letter_id: str | None = None

    @classmethod
    def of(
        cls,
        exc: BaseException,
        *,
        stage: Stage,
        raw: bytes,
        key: bytes | str | None = None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        prefix: str = "",
    ) -> Rejection:
        """The rejection of a Kafka input because of `exc`; never raises. `prefix` goes before
        the reason (for example "features: " when the event's own feature code raised)."""
        return cls(
            stage=stage,
            raw=raw,
            reason=prefix + reason_of(exc),
            error_class=type(exc).__name__,
            key=key,
            topic=topic,
            partition=partition,
            offset=offset,
        )

    @property
    def origin(self) -> str:
        """`topic[partition]@offset`, or `file:line` for a replayed file."""
        if self.topic is not None:
            return f"{self.topic}[{self.partition}]@{self.offset}"
        return f"{self.file}:{self.line}"

    def letter(self) -> DeadLetter:
        """The dead letter that carries this rejection; never raises (`DeadLetter.of`)."""
        if self.letter_id is not None:
            letter_id = self.letter_id
        elif self.topic is not None:
            letter_id = dead_letter_id(
                f"{self.stage}:{self.topic}:{self.partition}", self.offset or 0
            )
        else:
            letter_id = dead_letter_id(f"{self.stage}:file:{self.file}", self.line or 0)
        return DeadLetter.of(
            self.raw,
            event_id=letter_id,
            stage=self.stage,
            reason=self.reason,
            error_class=self.error_class,
            origin_topic=self.topic,
            origin_partition=self.partition,
            origin_offset=self.offset,
            origin_file=self.file,
            origin_line=self.line,
            origin_key=self.key,
        )


def reason_of(exc: BaseException) -> str:
    """A one-line reason a person can act on, at most REASON_MAX characters; never raises."""
    try:
        text = _validation_reason(exc) if isinstance(exc, ValidationError) else str(exc)
    except Exception:  # an exception whose __str__ raises still gets a reason
        text = ""
    return clip(text or type(exc).__name__, REASON_MAX)


def _validation_reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for err in errors[:3]:
        loc = clip(".".join(str(p) for p in err["loc"]), _PART_MAX)
        msg = clip(err["msg"], _PART_MAX)
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more
