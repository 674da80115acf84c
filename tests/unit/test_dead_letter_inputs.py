"""One dead letter per bad input: letters of the same input from several stages fold into one
that names every stage (`lazarus.dead_letters.reading.one_per_input`)."""

from __future__ import annotations

from typing import Any

from lazarus.cli.dead_letters_cmd import merged_text
from lazarus.dead_letters.reading import group_by_reason, input_key, one_per_input
from lazarus.dead_letters.rejection import Rejection
from lazarus.schemas.deadletter import DeadLetter

TOPIC = "habitat.sensor_readings.v1"


def letter(
    stage: Any, offset: int, raw: bytes = b'{"temperature_c": 9999}', **kw: Any
) -> DeadLetter:
    return Rejection(
        stage=stage,
        raw=raw,
        reason=kw.pop("reason", "temperature_c=9999 is outside -70..65"),
        error_class="ValidationError",
        topic=kw.pop("topic", TOPIC),
        partition=0,
        offset=offset,
        **kw,
    ).letter()


def test_the_trainer_and_two_scorer_groups_rejecting_one_input_make_one_entry() -> None:
    letters = [letter("trainer", 7), letter("scorer", 7), letter("scorer", 7), letter("scorer", 8)]
    inputs = one_per_input(letters)
    assert [(i.letter.origin_offset, i.stages, i.letters) for i in inputs] == [
        (7, ("scorer", "trainer"), 3),
        (8, ("scorer",), 1),
    ]
    (group,) = [g.as_dict() for g in group_by_reason(letters)]
    assert (group["count"], group["letters"], group["stages"]) == (2, 4, ["scorer", "trainer"])


def test_inputs_differ_by_origin_and_by_payload() -> None:
    same_place_other_bytes = [letter("scorer", 7), letter("trainer", 7, raw=b"{}")]
    assert len(one_per_input(same_place_other_bytes)) == 2
    other_topic = [letter("scorer", 7), letter("trainer", 7, topic="other.v1")]
    assert len(one_per_input(other_topic)) == 2


def test_file_replay_letters_are_one_input_per_line() -> None:
    def from_file(line: int, stage: Any) -> DeadLetter:
        return Rejection(
            stage=stage, raw=b"x", reason="bad", error_class="E", file="r.csv", line=line
        ).letter()

    letters = [from_file(3, "producer"), from_file(3, "producer"), from_file(4, "producer")]
    assert [i.letters for i in one_per_input(letters)] == [2, 1]
    assert input_key(letters[0])[:3] == ("file", "r.csv", 3)


def test_the_count_line_says_how_many_letters_were_merged() -> None:
    assert merged_text(3, 3) == "3 dead letters"
    assert merged_text(4, 2) == "4 dead letters for 2 inputs (2 merged: one input, several stages)"
