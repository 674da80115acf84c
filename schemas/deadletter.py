"""Dead letters: events we could not use, with why and where they came from."""

from __future__ import annotations

import base64
import hashlib
from typing import ClassVar, Literal

from pydantic import Field

from schemas.base import Event


def dead_letter_id(origin: str, position: str | int) -> str:
    """Deterministic: the same input at the same place always gets the same id."""
    return hashlib.blake2b(f"{origin}|{position}".encode(), digest_size=16).hexdigest()


class DeadLetter(Event):
    """An input that failed. Origin is a topic/partition/offset, or a file/line for replays."""

    KEY_FIELD: ClassVar[str] = "event_id"

    schema_version: Literal[1] = 1
    stage: Literal["producer", "trainer", "scorer"] = Field(description="who gave up on it")
    reason: str = Field(max_length=4000, description="what was wrong, for a person")
    error_class: str = Field(max_length=200)
    origin_topic: str | None = None
    origin_partition: int | None = Field(None, ge=0)
    origin_offset: int | None = Field(None, ge=0)
    origin_file: str | None = None
    origin_line: int | None = Field(None, ge=1)
    origin_key: str | None = None
    payload: str = Field(description="the original bytes, as text or base64")
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"

    @staticmethod
    def encode_payload(raw: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii"), "base64"

    def raw_payload(self) -> bytes:
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload)
        return self.payload.encode("utf-8")
