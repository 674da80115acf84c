"""The `[per_key]` table of a model spec file (issue #18)."""

from __future__ import annotations

import pytest

from lazarus.schemas.per_key import PerKey
from lazarus.schemas.specfile import SpecFileError, parse_spec
from lazarus.trainer.keyed_learner import KeyedLearner, learner_of
from lazarus.trainer.specfile import spec_from
from tests.unit.test_spec_file import SURVEY


def test_a_per_key_table_makes_a_per_key_model_keyed_by_a_column() -> None:
    spec_file = parse_spec(SURVEY + '\n[per_key]\nfield = "habitat"\nmin_history = 20\n', "s.toml")
    assert spec_file.contract.per_key == PerKey("habitat", min_history=20, fallback=True)
    spec = spec_from(spec_file)
    assert learner_of(spec) is KeyedLearner
    assert "habitat" in KeyedLearner(spec).rows._args


def test_without_the_table_a_model_is_whole() -> None:
    assert parse_spec(SURVEY, "s.toml").contract.per_key is None


@pytest.mark.parametrize(
    ("table", "wanted"),
    [
        (
            '[per_key]\nfield = "colour"\n',
            "s.toml:34: [per_key] field: .*'colour' is not a field of survey.records.v1 \\(depth_m, ph, habitat, subject\\)",
        ),
        (
            '[per_key]\nfield = "site"\nmin_history = -1\n',
            "s.toml:35: [per_key] min_history: must be at least 0",
        ),
        (
            '[per_key]\nfield = "habitat"\nfallback = "yes"\n',
            "s.toml:35: [per_key] fallback: must be true or false",
        ),
        (
            '[per_key]\nfeild = "habitat"\n',
            "s.toml:34: [per_key] feild: unknown key: did you mean 'field'",
        ),
    ],
)
def test_a_wrong_per_key_table_is_one_line_naming_file_line_and_key(
    table: str, wanted: str
) -> None:
    with pytest.raises(SpecFileError, match=wanted.replace("[per_key]", r"\[per_key\]")):
        parse_spec(SURVEY + "\n" + table, "s.toml")
