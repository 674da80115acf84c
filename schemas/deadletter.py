"""Dead letters: events we could not use, with why and where they came from.

`DeadLetter.of(...)` builds one from anything (any size, any bytes, any reason) and never
raises. A payload longer than `PAYLOAD_CAP` is cut; the letter keeps the size and SHA-256
of the original, so an encoded letter never exceeds `LETTER_MAX` bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from lazarus.schemas.base import Event
from lazarus.schemas.errors import LazarusError

Stage = Literal["producer", "trainer", "scorer"]
PayloadEncoding = Literal["utf-8", "base64"]

PAYLOAD_CAP = 64 * 1024
"""Most bytes of payload text a letter carries: the first 64 KiB of UTF-8 text, or the base64
of the first 48 KiB of other bytes."""
LETTER_MAX = 128 * 1024
"""Most bytes an encoded letter takes, whatever went in: far under Kafka's default
`message.max.bytes` (1,000,000 on the broker and in librdkafka's producer)."""
REASON_MAX = 4000
ERROR_CLASS_MAX = 200
ORIGIN_MAX = 1000
"""Most characters kept of `origin_topic`, `origin_file` and `origin_key`."""
SHRUNK_REASON_MAX = 500
SHRUNK_ORIGIN_MAX = 200

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")
_STAGES = ("producer", "trainer", "scorer")


def dead_letter_id(origin: str, position: str | int) -> str:
    """Deterministic: the same input at the same place always gets the same id."""
    text = f"{origin}|{position}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).hexdigest()


class TruncatedPayload(LazarusError):
    """The letter holds only the start of its payload: it is not the original."""


class DeadLetter(Event):
    """An input that failed. Origin is a topic/partition/offset, or a file/line for replays."""

    KEY_FIELD: ClassVar[str] = "event_id"

    schema_version: Literal[1] = 1
    stage: Stage = Field(description="who gave up on it")
    reason: str = Field(max_length=REASON_MAX, description="what was wrong, for a person")
    error_class: str = Field(max_length=ERROR_CLASS_MAX)
    origin_topic: str | None = None
    origin_partition: int | None = Field(None, ge=0)
    origin_offset: int | None = Field(None, ge=0)
    origin_file: str | None = None
    origin_line: int | None = Field(None, ge=1)
    origin_key: str | None = None
    payload: str = Field(
        description="the original bytes as text or base64; only their start when payload_truncated"
    )
    payload_encoding: PayloadEncoding = "utf-8"
    payload_size: int | None = Field(
        None, ge=0, description="bytes in the original payload (absent in older letters)"
    )
    payload_sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="hex SHA-256 of the original payload (absent in older letters)",
    )
    payload_truncated: bool = Field(
        False, description=f"payload holds only the original's first bytes (cap {PAYLOAD_CAP})"
    )

    @classmethod
    def of(
        cls,
        raw: bytes | str,
        *,
        stage: Stage,
        reason: str,
        error_class: str,
        event_id: str,
        event_time: datetime | None = None,
        origin_topic: str | None = None,
        origin_partition: int | None = None,
        origin_offset: int | None = None,
        origin_file: str | None = None,
        origin_line: int | None = None,
        origin_key: str | bytes | None = None,
        cap: int = PAYLOAD_CAP,
    ) -> DeadLetter:
        """The letter for `raw`; never raises. Text is cut to its limit (`REASON_MAX`,
        `ERROR_CLASS_MAX`, `ORIGIN_MAX` characters), the payload to `cap` bytes; a position
        that cannot be one (negative) becomes None; an id that is not an identifier is hashed;
        a naive `event_time` is taken as UTC (default: now)."""
        try:
            data = _as_bytes(raw)
            letter = cls(
                event_id=_identifier(event_id),
                event_time=_aware(event_time),
                stage=stage,
                reason=clip(_text(reason), REASON_MAX),
                error_class=clip(_text(error_class), ERROR_CLASS_MAX) or "Error",
                origin_topic=_origin(origin_topic),
                origin_partition=_position(origin_partition, 0),
                origin_offset=_position(origin_offset, 0),
                origin_file=_origin(origin_file),
                origin_line=_position(origin_line, 1),
                origin_key=_origin(origin_key),
                **payload_fields(data, cap),
            )
            return _within_letter_max(letter, data, cap)
        except Exception as exc:  # a letter must exist whatever went in
            return cls._last_resort(stage, event_id, exc)

    @classmethod
    def _last_resort(cls, stage: str, event_id: object, exc: Exception) -> DeadLetter:
        """A letter from constants only: what could not be built is named in its reason."""
        return cls(
            event_id=dead_letter_id("unbuildable", repr(event_id)[:1000]),
            event_time=datetime.now(UTC),
            stage=stage if stage in _STAGES else "scorer",  # type: ignore[arg-type]
            reason=clip(f"the dead letter could not be built: {type(exc).__name__}", REASON_MAX),
            error_class="DeadLetterError",
            payload="",
            payload_truncated=True,
        )

    def shrunk(self) -> DeadLetter:
        """This letter without its payload, with a short reason and short origins: what is sent
        when the broker refused the letter itself. Size and SHA-256 of the original stay."""
        update: dict[str, Any] = {
            "payload": "",
            "payload_encoding": "utf-8",
            "payload_truncated": True,
            "reason": clip(self.reason, SHRUNK_REASON_MAX),
            "error_class": clip(self.error_class, SHRUNK_ORIGIN_MAX),
            "origin_topic": _shorter(self.origin_topic),
            "origin_file": _shorter(self.origin_file),
            "origin_key": _shorter(self.origin_key),
        }
        if self.payload_size is None and not self.payload_truncated:
            original = self._payload_bytes()
            update |= {"payload_size": len(original), "payload_sha256": _sha256(original)}
        return self.model_copy(update=update)

    @property
    def is_shrunk(self) -> bool:
        """Already without its payload: it cannot be made smaller."""
        return self.payload_truncated and not self.payload

    def raw_payload(self) -> bytes:
        """The original bytes. Raises TruncatedPayload when the letter holds only their start."""
        if self.payload_truncated:
            raise TruncatedPayload(
                f"dead letter {self.event_id} holds {len(self._payload_bytes())} of the "
                f"{self.payload_size} bytes of its payload (sha256 {self.payload_sha256}): "
                "it is not the original"
            )
        return self._payload_bytes()

    def _payload_bytes(self) -> bytes:
        if self.payload_encoding == "base64":
            try:
                return base64.b64decode(self.payload)
            except (binascii.Error, ValueError):
                return b""
        return self.payload.encode("utf-8", "surrogatepass")


def payload_fields(raw: bytes, cap: int = PAYLOAD_CAP) -> dict[str, Any]:
    """The payload fields of a letter for `raw`: UTF-8 text when `raw` is valid UTF-8, else
    base64; at most `cap` bytes of text (cut at a character boundary), with the size and
    SHA-256 of all of `raw`.

    >>> f = payload_fields(b"\\xff" * 10, cap=8)
    >>> f["payload"], f["payload_encoding"], f["payload_size"], f["payload_truncated"]
    ('////////', 'base64', 10, True)
    """
    cap = max(cap, 4)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _base64_fields(raw, cap)
    truncated = len(raw) > cap
    if truncated:  # the cut may split a character: drop its first bytes
        text = raw[:cap].decode("utf-8", "ignore")
    return {
        "payload": text,
        "payload_encoding": "utf-8",
        "payload_size": len(raw),
        "payload_sha256": _sha256(raw),
        "payload_truncated": truncated,
    }


def _base64_fields(raw: bytes, cap: int) -> dict[str, Any]:
    keep = cap // 4 * 3
    return {
        "payload": base64.b64encode(raw[:keep]).decode("ascii"),
        "payload_encoding": "base64",
        "payload_size": len(raw),
        "payload_sha256": _sha256(raw),
        "payload_truncated": len(raw) > keep,
    }


def clip(text: str, limit: int) -> str:
    """`text`, or its start and how long it was, in at most `limit` characters.

    >>> clip("abcdefghijklmnopqrstuvwxyz" * 4, 40)
    'abcdefghijklmno… (104 characters in all)'
    """
    if len(text) <= limit:
        return text
    tail = f"… ({len(text)} characters in all)"
    return text[: max(limit - len(tail), 0)] + tail[:limit]


def _within_letter_max(letter: DeadLetter, raw: bytes, cap: int) -> DeadLetter:
    """Escaping can make JSON text up to 6 times longer (a NUL is `\\u0000`): a letter whose
    text payload would make it longer than LETTER_MAX carries its payload in base64 instead."""
    if letter.payload_encoding == "base64" or len(letter.payload) * 6 < LETTER_MAX // 2:
        return letter
    if len(letter.model_dump_json().encode()) <= LETTER_MAX:
        return letter
    return letter.model_copy(update=_base64_fields(raw, cap))


def _as_bytes(raw: bytes | str | object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):  # text decoded with surrogateescape gives back its bytes
        try:
            return raw.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return raw.encode("utf-8", "surrogatepass")
    return b""


def _text(value: object) -> str:
    """A str that JSON can carry: lone surrogates (from undecodable bytes) become `?`."""
    text = value if isinstance(value, str) else "" if value is None else repr(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _origin(value: str | bytes | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return clip(_text(value), ORIGIN_MAX)


def _shorter(value: str | None) -> str | None:
    return None if value is None else clip(value, SHRUNK_ORIGIN_MAX)


def _position(value: object, least: int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= least:
        return value
    return None


def _identifier(event_id: object) -> str:
    if isinstance(event_id, str) and _IDENTIFIER.fullmatch(event_id):
        return event_id
    return dead_letter_id("event_id", _text(event_id))


def _aware(at: datetime | None) -> datetime:
    if not isinstance(at, datetime):
        return datetime.now(UTC)
    return at if at.tzinfo is not None and at.utcoffset() is not None else at.replace(tzinfo=UTC)


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
