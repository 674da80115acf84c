"""Labels typed by the task, records of tabular data, and their replay: the pure parts."""

from __future__ import annotations

import dataclasses
import json
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from lazarus.errors import ConfigError
from lazarus.inputchecks import WrongLabel, check_features, check_label
from lazarus.producers.record_replay import RecordLayout, RecordReplayer, subject_of, typed_label
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.jsontext import json_value
from lazarus.schemas.labels import LabelCodec
from lazarus.schemas.models import HABITAT
from lazarus.schemas.outcomes import Outcome
from lazarus.schemas.records import Column, record_type
from lazarus.schemas.scores import Score
from lazarus.schemas.tabular import tabular_contract
from lazarus.scorer.render import ScoreRenderer
from lazarus.trainer.rows import RowMaker

COLUMNS = (Column("depth_m", "numeric"), Column("habitat", "categorical"))
NOW = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)


def survey(task: Any = "binary", **kw: Any) -> ModelContract:
    if task == "binary":
        kw.setdefault("classes", ("absent", "present"))
        kw.setdefault("positive", "present")
    return tabular_contract("survey", COLUMNS, task, **kw)


# -- labels ----------------------------------------------------------------------------------


def test_a_binary_model_learns_its_positive_class_as_true_and_shows_labels_as_declared() -> None:
    codec = survey().labels
    assert not codec.identity
    assert (codec.target("present"), codec.target("absent")) == (True, False)
    assert (codec.label(True), codec.label(False), codec.label(None)) == ("present", "absent", None)
    assert codec.probabilities_out({False: 0.3, True: 0.7}) == {"absent": 0.3, "present": 0.7}
    assert codec.probabilities_in({"absent": 0.3, "present": 0.7}) == {False: 0.3, True: 0.7}


def test_minus_one_and_one_are_two_classes_not_a_bool_and_a_float() -> None:
    codec = tabular_contract("coded", COLUMNS, "binary", classes=(-1, 1), positive=1).labels
    assert codec.target(-1) is False and codec.target(1) is True
    assert codec.label(True) == 1 and type(codec.label(True)) is int
    assert codec.probabilities_in({"-1": 0.2, "1": 0.8}) == {False: 0.2, True: 0.8}


def test_the_built_in_models_need_no_translation() -> None:
    assert HABITAT.labels.identity
    assert HABITAT.labels.target(True) is True


def test_multiclass_integer_classes_come_back_as_integers_from_json_keys() -> None:
    codec = survey("multiclass", classes=(0, 1, 2)).labels
    assert codec.identity
    assert codec.probabilities_in({"0": 0.1, "1": 0.2, "2": 0.7}) == {0: 0.1, 1: 0.2, 2: 0.7}
    assert codec.from_key("9") == "9"  # no such class: stays text, a metric counts it wrong


def test_a_binary_model_without_a_positive_class_takes_the_last() -> None:
    contract = tabular_contract("coded", COLUMNS, "binary", classes=("no", "yes"))
    assert contract.labels.positive == "yes"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"classes": (1, "1")}, "differ as text"),
        ({"classes": ("a", "b"), "positive": "c"}, "positive 'c' is not one of"),
        ({"classes": ("a",)}, "two or more"),
        ({"classes": (None, "b")}, "booleans, numbers or strings"),
        ({"classes": ("", "b")}, "empty string"),
    ],
)
def test_contradictory_classes_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(HABITAT, **changes)


@pytest.mark.parametrize(
    ("task", "classes", "message"),
    [
        ("binary", ("a", "b", "c"), "two classes"),
        ("multiclass", ("a", "b"), "binary"),
        ("regression", ("a", "b"), "no classes"),
        ("binary", None, "names its classes"),
        ("ranking", None, "not one of"),
    ],
)
def test_a_task_and_its_classes_must_agree(task: Any, classes: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tabular_contract("survey", COLUMNS, task, classes=classes)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("2", 2), ("2.5", 2.5), ('"oak"', "oak"), ("-1", -1)],
)
def test_an_outcome_label_keeps_its_json_type(raw: str, expected: Any) -> None:
    outcome = Outcome.model_validate_json(
        '{"event_id": "o1", "event_time": "2026-05-01T00:00:00Z", "kind": "label",'
        f' "subject": "all", "label": {raw}}}'
    )
    assert outcome.label == expected and type(outcome.label) is type(expected)


def test_labels_are_checked_by_type_and_value() -> None:
    check_label("oak", ("oak", "pine"), "trees")
    check_label(3, None, "weights")  # an integer is a number for a regression
    for label, classes in [
        (2.0, (0, 1, 2)),
        ("2", (0, 1, 2)),
        ("fir", ("oak", "pine")),
        (True, None),
    ]:
        with pytest.raises(WrongLabel):
            check_label(label, classes, "m")


def test_the_trainer_learns_targets_and_checks_labels_first() -> None:
    rows = RowMaker.for_spec(survey())
    outcome = Outcome(
        event_id="o1", event_time=NOW, kind="label", subject="all", event_ref="r1", label="present"
    )
    assert rows.label(outcome)[-1] is True
    bad = outcome.model_copy(update={"label": "maybe"})
    with pytest.raises(WrongLabel, match="'maybe' is not a class of survey"):
        rows.label(bad)
    regression = RowMaker.for_spec(survey("regression"))
    assert regression.label(outcome.model_copy(update={"label": 3}))[-1] == 3.0


def test_json_writes_integer_classes_as_integers() -> None:
    assert (json_value(2), json_value(2.0), json_value("oak")) == ("2", "2.0", '"oak"')


@pytest.mark.parametrize(
    ("codec", "target", "proba", "prediction", "keys"),
    [
        (
            LabelCodec(("absent", "present"), "present"),
            True,
            {False: 0.1, True: 0.9},
            "present",
            {"absent", "present"},
        ),
        (LabelCodec((0, 1, 2)), 2, {0: 0.1, 1: 0.1, 2: 0.8}, 2, {"0", "1", "2"}),
        (
            LabelCodec(("oak", "pine", "fir")),
            "fir",
            {"oak": 0.1, "pine": 0.1, "fir": 0.8},
            "fir",
            {"oak", "pine", "fir"},
        ),
        (LabelCodec(None), 3.5, None, 3.5, None),
    ],
)
def test_scores_show_classes_as_declared(
    codec: LabelCodec, target: Any, proba: Any, prediction: Any, keys: Any
) -> None:
    renderer = ScoreRenderer("survey", 3, {"survey.records.v1:0": 10}, codec)
    _, raw = renderer.render("r1", "all", target, proba, NOW.isoformat(), 1.0)
    score = Score.model_validate_json(raw)
    assert score.prediction == prediction and type(score.prediction) is type(prediction)
    assert (set(score.probabilities) if score.probabilities else None) == keys
    assert codec.probabilities_in(score.probabilities) == proba


# -- records ---------------------------------------------------------------------------------

Survey = record_type("survey", COLUMNS)


def record(values: dict[str, Any], **kw: Any) -> Any:
    body = {"event_id": "r1", "event_time": "2026-05-01T10:30:00Z", "values": values, **kw}
    return Survey.model_validate_json(json.dumps(body))


def test_a_record_carries_exactly_its_present_values() -> None:
    r = record({"depth_m": 2.5, "habitat": None})
    assert r.to_features() == {"depth_m": 2.5}
    assert r.subject == "all" and r.key == "all"
    check_features(record({"depth_m": 1.0, "habitat": "reed bed"}).to_features())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"depth": 1.0}, "'depth' is not a column of survey"),
        ({"depth_m": "NA"}, "'depth_m' is numeric"),
        ({"habitat": 3}, "'habitat' is categorical"),
        ({"depth_m": float("nan")}, "finite"),
    ],
)
def test_a_record_that_breaks_its_columns_is_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        record(values)


def test_time_features_come_only_when_asked_for() -> None:
    timed = record_type("timed", COLUMNS, True)
    r = timed(event_id="r1", event_time=NOW, values={"depth_m": 1.0})
    assert set(r.to_features()) == {"depth_m", "hour_sin", "hour_cos", "season_sin", "season_cos"}
    assert set(record({"depth_m": 1.0}).to_features()) == {"depth_m"}


def test_column_kinds_are_part_of_the_fingerprint() -> None:
    other = tabular_contract("survey", (Column("depth_m", "categorical"), COLUMNS[1]), "regression")
    assert other.fingerprint != survey("regression").fingerprint
    assert survey("regression").fingerprint == survey("regression").fingerprint


def test_a_records_topic_pickles_to_the_same_record_class() -> None:
    topic = survey().inputs[0]
    assert pickle.loads(pickle.dumps(topic)).event is topic.event


@pytest.mark.parametrize(
    ("model", "columns", "message"),
    [
        ("Survey", COLUMNS, "model name"),
        ("s", (), "no feature columns"),
        ("s", (COLUMNS[0], COLUMNS[0]), "listed twice"),
        ("s", (Column("subject", "numeric"),), "name of a record field"),
    ],
)
def test_bad_record_declarations_are_refused(model: str, columns: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        record_type(model, columns)


def test_a_segment_field_can_name_a_categorical_column() -> None:
    rows = RowMaker.for_spec(survey(segment_fields=("habitat",)))
    assert rows.features(record({"depth_m": 1.0, "habitat": "reed"}))[-1] == ("reed",)


# -- replay of records -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "classes", "expected"),
    [
        ("-1", (-1, 1), -1),
        ("1.0", (-1, 1), 1),
        ("yes", (False, True), True),
        ("0", (False, True), False),
        (True, (False, True), True),
        ("Adelie", ("Adelie", "Gentoo", "Chinstrap"), "Adelie"),
        ("2", (0, 1, 2), 2),
        ("12.5", None, 12.5),
        (3, None, 3.0),
        ("maybe", (False, True), "maybe"),
        ("heavy", None, "heavy"),
        ("inf", None, "inf"),
    ],
)
def test_a_label_cell_is_typed_as_the_model_declares(
    cell: Any, classes: Any, expected: Any
) -> None:
    got = typed_label(cell, classes)
    assert got == expected and type(got) is type(expected)


def test_keys_become_subject_ids() -> None:
    assert (subject_of("Site 12"), subject_of(""), subject_of(7)) == ("Site_12", "all", "7")


def test_a_row_becomes_a_record_and_a_typed_outcome() -> None:
    layout = RecordLayout(label_column="occupied", key_column="site", na_values=("", "NA"))
    replayer = RecordReplayer(survey(), layout, "abc")
    row = {"depth_m": "NA", "habitat": "reed bed", "occupied": "present", "site": "S 1", "x": "9"}
    out = replayer.convert(2, row, b"", NOW)
    assert out.error is None and out.reading is not None and out.outcome is not None
    assert out.reading.to_features() == {"habitat": "reed bed"}  # type: ignore[attr-defined]
    assert out.reading.key == "S_1"
    assert out.outcome.label == "present" and out.outcome.event_ref == out.reading.event_id
    unlabelled = replayer.convert(3, {**row, "occupied": "NA"}, b"", NOW)
    assert unlabelled.outcome is None and unlabelled.reading is not None


def test_a_cell_that_is_no_number_is_the_rows_error() -> None:
    replayer = RecordReplayer(survey(), RecordLayout(label_column="occupied"), "abc")
    out = replayer.convert(5, {"depth_m": "deep", "occupied": "present"}, b"raw", NOW)
    assert out.reading is None and out.error == "column 'depth_m': 'deep' is not a number"


def test_replay_refuses_a_model_that_does_not_read_records() -> None:
    with pytest.raises(ConfigError, match="does not read records"):
        RecordReplayer(HABITAT, RecordLayout(), "abc")


def test_replay_names_a_column_the_file_lacks() -> None:
    replayer = RecordReplayer(survey(), RecordLayout(label_column="occupied"), "abc")
    with pytest.raises(ConfigError, match="column 'habitat' of model 'survey' is not in"):
        replayer.check_columns(["depth_m", "occupied"])


def test_boolean_classes_default_to_true_as_the_positive_class_in_any_order() -> None:
    flipped = dataclasses.replace(HABITAT, classes=(True, False))
    assert flipped.labels.positive is True and flipped.labels.target(True) is True


def test_the_declared_labels_are_part_of_a_records_models_fingerprint() -> None:
    """A snapshot learned with one positive class or set of classes is never served or
    resumed under another (scorers and trainers compare fingerprints)."""
    base = survey()
    flipped = survey(positive="absent")
    more = survey("multiclass", classes=("absent", "present", "unknown"))
    assert len({base.fingerprint, flipped.fingerprint, more.fingerprint}) == 3
    assert HABITAT.fingerprint == dataclasses.replace(HABITAT, description="x").fingerprint


@pytest.mark.parametrize("name", ["key", "json", "a.b", "copy"])
def test_a_segment_field_reads_the_column_whatever_its_name(name: str) -> None:
    columns = (Column(name, "categorical"), Column("depth_m", "numeric"))
    contract = tabular_contract("odd", columns, "regression", segment_fields=(name, "subject"))
    event = contract.inputs[0].decode(
        json.dumps({"event_id": "r1", "event_time": "2026-05-01T10:30:00Z", "values": {name: "v"}})
    )
    assert RowMaker.for_spec(contract).features(event)[-1] == ("v", "all")


def test_a_column_name_with_control_characters_is_refused() -> None:
    with pytest.raises(ConfigError, match="control characters"):
        Column("\x1edepth", "numeric")


def test_a_label_that_is_no_class_is_sent_but_named_so_strict_can_stop() -> None:
    replayer = RecordReplayer(survey(), RecordLayout(label_column="occupied"), "abc")
    out = replayer.convert(4, {"depth_m": "1", "occupied": "owl"}, b"", NOW)
    assert out.outcome is not None and out.outcome.label == "owl"  # the trainer dead-letters it
    assert out.label_problem == (
        "label 'owl' is not a class of survey (classes: 'absent', 'present')"
    )
    good = replayer.convert(5, {"depth_m": "1", "occupied": "present"}, b"", NOW)
    assert good.label_problem is None


def test_a_bad_time_names_its_column() -> None:
    layout = RecordLayout(label_column="occupied", time_column="when")
    out = RecordReplayer(survey(), layout, "abc").convert(6, {"when": "01/03/2025"}, b"", NOW)
    assert out.reading is None and out.error is not None
    assert out.error.startswith("column 'when': '01/03/2025' is not a time")
