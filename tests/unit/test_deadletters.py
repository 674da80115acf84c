"""Building a dead letter never raises, whatever went in: huge or binary payloads, huge reasons,
odd keys and origins. Oversized payloads are cut; the letter keeps the original's size and
sha256, validates, and encodes under LETTER_MAX. Refused deliveries are classified by code."""

from __future__ import annotations

import doctest
import hashlib
import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import KafkaError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError, field_validator

import lazarus.schemas.deadletter as deadletter_module
from lazarus.dead_letters.reading import group_by_reason, payload_summary
from lazarus.dead_letters.rejection import reason_of
from lazarus.kafka.producer import retriable
from lazarus.schemas import DeadLetter
from lazarus.schemas.deadletter import (
    ERROR_CLASS_MAX,
    LETTER_MAX,
    ORIGIN_MAX,
    PAYLOAD_CAP,
    REASON_MAX,
    TruncatedPayload,
    dead_letter_id,
)
from lazarus.schemas.topics import SENSOR_READINGS, Topic
from tests.conftest import FIXTURES

TOPIC = "habitat.sensor_readings.v1"


def build(raw: bytes | str, **overrides: Any) -> DeadLetter:
    fields: dict[str, Any] = {
        "stage": "scorer",
        "reason": "not a reading",
        "error_class": "ValidationError",
        "event_id": dead_letter_id(f"scorer:{TOPIC}:0", 7),
        "origin_topic": TOPIC,
        "origin_partition": 0,
        "origin_offset": 7,
        "origin_key": "site-001",
    }
    return DeadLetter.of(raw, **(fields | overrides))


def sent_and_read_back(letter: DeadLetter) -> DeadLetter:
    """What a consumer of the dead-letter topic reads: the encoded letter, validated again."""
    encoded = Topic.encode(letter)
    assert len(encoded) <= LETTER_MAX
    return DeadLetter.model_validate_json(encoded)


def assert_keeps_original(letter: DeadLetter, original: bytes) -> None:
    assert letter.payload_size == len(original)
    assert letter.payload_sha256 == hashlib.sha256(original).hexdigest()
    if letter.payload_truncated:
        with pytest.raises(TruncatedPayload, match="not the original"):
            letter.raw_payload()
    else:
        assert letter.raw_payload() == original


BINARY_750K = os.urandom(750_000) + b"\xff"  # the input; the last byte keeps it non-UTF-8


@pytest.mark.parametrize(
    "raw",
    [
        BINARY_750K,
        ("é" * 400_000).encode(),  # 800 kB of valid UTF-8 with 2-byte characters
        b"\x00" * 200_000,  # valid UTF-8 that JSON escapes six times longer
        b"\x01\x02" * 40_000 + b"{}",
        b"\xff\xfe not json",
        b"",
    ],
    ids=["750kB-binary", "800kB-utf8", "200kB-NUL", "control-chars", "short-binary", "empty"],
)
def test_any_payload_gives_a_valid_letter_under_the_cap_with_size_and_sha256(raw: bytes) -> None:
    letter = sent_and_read_back(build(raw))
    assert_keeps_original(letter, raw)
    kept = PAYLOAD_CAP if letter.payload_encoding == "utf-8" else PAYLOAD_CAP // 4 * 3
    assert letter.payload_truncated == (len(raw) > kept)
    assert len(letter.payload.encode()) <= PAYLOAD_CAP


def test_the_750kb_binary_value_is_cut_to_the_cap_and_marked() -> None:
    letter = sent_and_read_back(build(BINARY_750K))
    assert letter.payload_truncated and letter.payload_encoding == "base64"
    assert len(letter.payload) == PAYLOAD_CAP
    assert letter.payload_size == 750_001
    assert letter._payload_bytes() == BINARY_750K[: PAYLOAD_CAP // 4 * 3]  # the original's start


def test_long_text_is_cut_at_a_character_boundary() -> None:
    raw = ("é" * PAYLOAD_CAP).encode()  # 2 bytes per character: the cap falls inside none
    letter = sent_and_read_back(build(raw + b"x"))
    assert letter.payload_encoding == "utf-8" and letter.payload_truncated
    assert set(letter.payload) == {"é"} and len(letter.payload) == PAYLOAD_CAP // 2
    odd = sent_and_read_back(build(b"a" + raw))  # now the cap splits an "é": it is dropped
    assert odd.payload == "a" + "é" * (PAYLOAD_CAP // 2 - 1)


def test_a_small_payload_is_kept_whole_and_replays_as_it_was() -> None:
    raw = json.dumps({"event_id": "x", "temperature_c": 9999.0}).encode()
    letter = sent_and_read_back(build(raw))
    assert not letter.payload_truncated and letter.payload_encoding == "utf-8"
    assert letter.raw_payload() == raw and letter.payload_size == len(raw)
    binary = sent_and_read_back(build(b"\xff\x00\xfe"))
    assert binary.payload_encoding == "base64" and binary.raw_payload() == b"\xff\x00\xfe"


def test_text_undecodable_bytes_came_from_is_kept_as_those_bytes() -> None:
    original = b"site;caf\xe9;12.5"  # a latin-1 row read with errors="surrogateescape"
    text = original.decode("utf-8", "surrogateescape")
    letter = sent_and_read_back(build(text))
    assert letter.payload_encoding == "base64" and letter.raw_payload() == original


def test_a_megabyte_reason_and_a_long_error_class_are_cut_with_their_length() -> None:
    letter = sent_and_read_back(build(b"{}", reason="x" * 1_000_000, error_class="E" * 10_000))
    assert len(letter.reason) == REASON_MAX and letter.reason.endswith(
        "(1000000 characters in all)"
    )
    assert len(letter.error_class) == ERROR_CLASS_MAX


@pytest.mark.parametrize(
    "overrides",
    [
        {"origin_key": b"\xff\xfe\x00 binary key"},
        {"origin_key": b"k" * 2_000_000},
        {"origin_key": "k\udcff"},  # a lone surrogate: JSON cannot carry it
        {"origin_topic": "t" * 100_000 + "\udc80"},
        {"origin_partition": -1, "origin_offset": -1001},  # librdkafka's "no offset"
        {"event_id": "not an identifier!" * 50},
        {"event_time": datetime(2026, 1, 1)},  # naive
        {"reason": "", "error_class": ""},
        {"reason": "a\udcffb\x00\n" * 10},
    ],
    ids=[
        "binary-key",
        "2MB-key",
        "surrogate-key",
        "huge-topic",
        "negative-position",
        "bad-id",
        "naive-time",
        "empty-reason",
        "odd-reason",
    ],
)
def test_no_origin_or_reason_makes_building_raise(overrides: dict[str, Any]) -> None:
    letter = sent_and_read_back(build(BINARY_750K[:1000], **overrides))
    assert_keeps_original(letter, BINARY_750K[:1000])
    for text in (letter.origin_key, letter.origin_topic):
        assert text is None or len(text) <= ORIGIN_MAX
    assert letter.event_time.tzinfo is not None and letter.error_class


def test_what_cannot_be_built_still_gives_a_letter() -> None:
    letter = build(b"{}", stage="nobody")  # not a stage: validation would fail
    assert sent_and_read_back(letter).error_class == "DeadLetterError"
    assert "could not be built" in letter.reason


@given(
    raw=st.binary(max_size=3000) | st.text(max_size=500),
    reason=st.text(max_size=5000),
    key=st.none() | st.binary(max_size=300) | st.text(max_size=300),
    offset=st.integers(-2000, 2**62),
    cap=st.integers(0, 4096),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_building_never_raises_for_arbitrary_input(
    raw: bytes | str, reason: str, key: bytes | str | None, offset: int, cap: int
) -> None:
    letter = sent_and_read_back(
        build(raw, reason=reason, origin_key=key, origin_offset=offset, cap=cap)
    )
    original = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    assert_keeps_original(letter, original)
    assert len(letter.payload.encode()) <= max(cap, 4)


def test_a_shrunk_letter_keeps_the_original_size_and_sha256_only() -> None:
    letter = build(BINARY_750K, reason="r" * REASON_MAX, origin_key="k" * ORIGIN_MAX)
    small = sent_and_read_back(letter.shrunk())
    assert small.is_shrunk and small.payload == ""
    assert_keeps_original(small, BINARY_750K)
    assert small.event_id == letter.event_id and small.origin_offset == 7
    assert len(Topic.encode(small)) < 2048
    whole = sent_and_read_back(build(b'{"a": 1}').shrunk())  # even an uncut one is marked cut
    assert whole.is_shrunk and whole.payload_size == 8
    assert not build(b"").is_shrunk


def test_letters_written_before_the_size_fields_still_read_and_replay() -> None:
    [text, binary, cut] = [
        DeadLetter.model_validate(d)
        for d in json.loads((FIXTURES / "schemas/v1/DeadLetter.json").read_text())
    ]
    assert text.payload_size is None and not text.payload_truncated
    assert text.raw_payload() == b'{"event_id": "x"}' and binary.raw_payload() == b"\xff"
    assert payload_summary(text) == "17 chars (utf-8)"
    with pytest.raises(TruncatedPayload):
        cut.raw_payload()
    assert payload_summary(cut) == "750000 B, cut, sha256 a6e1a4e4d4a8"
    assert text.shrunk().payload_size == 17  # computed from the whole payload it carried


def test_inspect_counts_cut_payloads_and_shows_size_and_sha256() -> None:
    letters = [build(BINARY_750K), build(b"\xff\xfe"), build(b"{}", reason="other")]
    groups = {g.kind: g.as_dict() for g in group_by_reason(letters)}
    same = groups["ValidationError: not a reading"]
    assert same["count"] == 2 and same["truncated"] == 1
    example = same["example"]
    assert example["payload_size"] == 750_001 and example["payload_truncated"]
    assert example["payload_sha256"] == hashlib.sha256(BINARY_750K).hexdigest()
    assert example["payload_summary"].startswith("750001 B, cut, sha256 ")


class Strict(BaseModel):
    value: str

    @field_validator("value")
    @classmethod
    def never(cls, v: str) -> str:
        raise ValueError("bad value " + v)


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_reasons_are_short_whatever_the_error() -> None:
    huge = reason_of(ValueError("y" * 1_000_000))
    assert len(huge) == REASON_MAX
    with pytest.raises(ValidationError) as caught:
        Strict(value="z" * 1_000_000)
    assert len(reason_of(caught.value)) <= REASON_MAX
    many_keys = json.dumps(
        {"measurements": {("k" * 100_000) + str(i): "x" for i in range(20)}}
    ).encode()
    decoded = SENSOR_READINGS.decode_many([many_keys])[0]
    assert isinstance(decoded, ValidationError)
    reason = reason_of(decoded)
    assert len(reason) <= REASON_MAX and "more)" in reason
    assert reason_of(Unprintable()) == "Unprintable"
    assert reason_of(KeyError()) == "KeyError"


@pytest.mark.parametrize(
    ("code", "worth_resending"),
    [
        (KafkaError._MSG_TIMED_OUT, True),
        (KafkaError._TRANSPORT, True),
        (KafkaError.NOT_ENOUGH_REPLICAS, True),
        (KafkaError.REQUEST_TIMED_OUT, True),
        (KafkaError.MSG_SIZE_TOO_LARGE, False),
        (KafkaError.INVALID_RECORD, False),
        (KafkaError.TOPIC_AUTHORIZATION_FAILED, False),
        (KafkaError._UNKNOWN_TOPIC, True),
        (KafkaError.UNKNOWN_TOPIC_OR_PART, True),
    ],
)
def test_only_timeouts_and_outages_are_sent_again(code: int, worth_resending: bool) -> None:
    assert retriable(KafkaError(code)) is worth_resending
    assert not retriable(KafkaError(code, fatal=True))


def test_the_examples_in_the_dead_letter_module_hold() -> None:
    assert doctest.testmod(deadletter_module).failed == 0


def test_the_ids_stay_deterministic() -> None:
    assert dead_letter_id("scorer:t:0", 7) == dead_letter_id("scorer:t:0", 7)
    assert dead_letter_id("t\udcff", 1) != dead_letter_id("t", 1)  # surrogates hash, not raise
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert build(b"x", event_time=at) == build(b"x", event_time=at)
