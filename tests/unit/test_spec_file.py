"""Model spec files: what they read into, and one line naming the file, line and key for each
thing that can be wrong in them (the reader's own checks and the catalogue's)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from lazarus.errors import ConfigError
from lazarus.schemas.models import load_contract
from lazarus.schemas.records import Column
from lazarus.schemas.specfile import (
    SpecFileError,
    is_spec_file,
    parse_spec,
    read_spec_file,
)
from lazarus.trainer.specfile import spec_from
from lazarus.trainer.specs import load_spec

SURVEY = """\
[model]
name = "survey"
task = "binary"
classes = ["absent", "present"]
positive = "present"
segment_fields = ["subject", "habitat"]
min_learned = 1

[data]
label_column = "occupied"
key_column = "site"
time_column = "date"
na_values = ["", "NA"]
time_features = false

[features]
numeric = ["depth_m", "ph"]
categorical = ["habitat"]
drop = ["notes"]

[pipeline]
estimator = "LogisticRegression"
scale = true

[pipeline.params]
l2 = 0.001

[training]
snapshot_every = 5000
snapshot_seconds = 10.0
metrics = ["Accuracy", "LogLoss"]
"""


def edited(*changes: tuple[str, str]) -> str:
    """SURVEY with whole lines replaced (line numbers kept: a removed line becomes a comment)."""
    lines = SURVEY.splitlines()
    for old, new in changes:
        assert old in lines, old
        lines[lines.index(old)] = new
    return "\n".join(lines) + "\n"


def test_a_spec_file_reads_into_its_contract_data_layout_and_recipe() -> None:
    spec = parse_spec(SURVEY, "survey.toml")
    contract = spec.contract
    assert spec.task == "binary"
    assert [t.name for t in (*contract.inputs, contract.outcomes)] == [
        "survey.records.v1",
        "survey.outcomes.v1",
    ]
    assert contract.scores is not None and contract.scores.name == "survey.scores.v1"
    assert contract.classes == ("absent", "present") and contract.positive == "present"
    assert contract.segment_fields == ("subject", "habitat")
    assert spec.data.columns == (
        Column("depth_m", "numeric"),
        Column("ph", "numeric"),
        Column("habitat", "categorical"),
    )
    assert (spec.data.label_column, spec.data.key_column, spec.data.time_column) == (
        "occupied",
        "site",
        "date",
    )
    assert spec.data.na_values == ("", "NA") and spec.data.dropped == ("notes",)
    assert spec.recipe.estimator == "LogisticRegression" and spec.recipe.params == {"l2": 0.001}
    assert spec.recipe.metrics == contract.metrics == ("Accuracy", "LogLoss")


def test_defaults_fill_what_a_short_spec_leaves_out() -> None:
    short = """\
[model]
name = "counts"
task = "regression"
[data]
label_column = "n"
[features]
numeric = ["depth_m"]
[pipeline]
estimator = "LinearRegression"
"""
    spec = parse_spec(short, "counts.toml")
    assert spec.data.key_column is None and spec.data.na_values == ("",)
    assert not spec.data.time_features
    assert (spec.recipe.scale, spec.recipe.snapshot_every, spec.recipe.snapshot_seconds) == (
        True,
        5000,
        10.0,
    )
    assert spec.recipe.metrics == ("MAE", "RMSE") and spec.contract.classes is None


def test_classes_keep_their_types_integers_and_booleans_included() -> None:
    ints = parse_spec(
        edited(
            ('classes = ["absent", "present"]', "classes = [-1, 1]"),
            ('positive = "present"', "positive = 1"),
        ),
        "coded.toml",
    )
    assert ints.contract.classes == (-1, 1) and type(ints.contract.positive) is int
    bools = parse_spec(
        edited(
            ('classes = ["absent", "present"]', "classes = [false, true]"),
            ('positive = "present"', "# none"),
        ),
        "b.toml",
    )
    assert bools.contract.classes == (False, True) and bools.contract.labels.identity


BAD = [
    (("task = \"binary\"", 'task = "binery"'), ':3: [model] task: \'binery\' is not one of'),
    (("name = \"survey\"", 'name = "Survey!"'), ":2: [model] name: 'Survey!': lower-case"),
    (('classes = ["absent", "present"]', 'classes = ["absent", "present", "gone"]'),
     ":4: [model] classes: a binary model has two classes, not 3"),
    (('classes = ["absent", "present"]', "classes = [0.5, 1.5]"),
     ":4: [model] classes: a class is a string, an integer or true/false"),
    (('classes = ["absent", "present"]', 'classes = ["absent", "absent"]'),
     ":4: [model] classes: 'absent' is listed twice"),
    (('positive = "present"', 'positive = "yes"'),
     ':5: [model] positive: "yes" is not one of the classes ["absent", "present"]'),
    (('task = "binary"', 'task = "regression"'),
     ":4: [model] classes: a regression has no classes: remove it"),
    (('task = "binary"', 'task = "multiclass"'), ":4: [model] classes: a multiclass model has three or more classes, not 2 (two make a binary task"),
    (('segment_fields = ["subject", "habitat"]', 'segment_fields = ["depth_m"]'),
     ":6: [model] segment_fields: 'depth_m' is neither \"subject\" nor a categorical column"),
    (("min_learned = 1", "min_learned = 0"), ":7: [model] min_learned: must be at least 1, not 0"),
    (('label_column = "occupied"', "# no label column"),
     ":9: [data] label_column: missing (the column holding the labels)"),
    (('key_column = "site"', 'key_column = "occupied"'),
     ":11: [data] key_column: 'occupied' is the label column"),
    (("time_features = false", "time_features = 1"),
     ":14: [data] time_features: must be true or false, not the integer 1"),
    (('numeric = ["depth_m", "ph"]', 'numeric = ["depth_m", "occupied"]'),
     ":17: [features] numeric: 'occupied' is the label column"),
    (('categorical = ["habitat"]', 'categorical = ["habitat", "ph"]'),
     ":18: [features] categorical: 'ph' is listed twice (also in numeric)"),
    (('drop = ["notes"]', 'drop = ["ph"]'), ":19: [features] drop: 'ph' is both a feature and dropped"),
    (('numeric = ["depth_m", "ph"]', 'numeric = "depth_m"'),
     ":17: [features] numeric: must be an array of strings, not the string 'depth_m'"),
    (("scale = true", 'scale = "yes"'),
     ":23: [pipeline] scale: must be true or false, not the string 'yes'"),
    (("scale = true", "scael = true"), ":23: [pipeline] scael: unknown key: did you mean 'scale'?"),
    (("[training]", "[trainning]"), ":28: [trainning]: unknown table: did you mean 'training'?"),
    (("snapshot_every = 5000", "snapshot_every = 2.5"),
     ":29: [training] snapshot_every: must be an integer, not the number 2.5"),
    (("snapshot_seconds = 10.0", "snapshot_seconds = 0"),
     ":30: [training] snapshot_seconds: must be a positive number, not 0"),
    (('metrics = ["Accuracy", "LogLoss"]', "metrics = []"),
     ":31: [training] metrics: name at least one metric"),
    (("scale = true", "scale = tru"), ":23: not valid TOML:"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"), BAD, ids=[m.split(":")[1] + m.split(":")[2][:30] for _, m in BAD]
)
def test_each_mistake_is_one_line_naming_the_file_the_line_and_the_key(
    change: tuple[str, str], message: str
) -> None:
    with pytest.raises(SpecFileError) as caught:
        parse_spec(edited(change), "survey.toml")
    text = str(caught.value)
    assert text.startswith("survey.toml" + message), text
    assert "\n" not in text


def test_time_features_need_a_time_column() -> None:
    text = edited(
        ('time_column = "date"', "# no time column"),
        ("time_features = false", "time_features = true"),
    )
    with pytest.raises(
        SpecFileError, match=r"^s.toml:14: \[data\] time_features: needs a time_column"
    ):
        parse_spec(text, "s.toml")


def test_a_multiclass_model_has_no_positive_class() -> None:
    text = edited(
        ('task = "binary"', 'task = "multiclass"'),
        ('classes = ["absent", "present"]', 'classes = ["bog", "fen", "reed"]'),
    )
    with pytest.raises(SpecFileError, match=r"^s.toml:5: \[model\] positive: only a binary model"):
        parse_spec(text, "s.toml")


CATALOGUE_BAD = [
    (('estimator = "LogisticRegression"', 'estimator = "LogisticRegresion"'),
     ":22: [pipeline] estimator: 'LogisticRegresion' is not in the catalogue for a binary task "
     "(try: LogisticRegression, ...)"),
    (("l2 = 0.001", 'l2 = "much"'), ':26: [pipeline.params] l2: must be a number, not the string "much"'),
    (("l2 = 0.001", "alpha = 1"), ":26: [pipeline.params] alpha: LogisticRegression takes no parameter 'alpha'"),
    (("l2 = 0.001", "learning_rate = 0"), ":26: [pipeline.params] learning_rate: must be positive, not 0"),
    (('metrics = ["Accuracy", "LogLoss"]', 'metrics = ["MAE"]'),
     ":31: [training] metrics: MAE does not judge a binary task (for instance: Accuracy, LogLoss)"),
    (('metrics = ["Accuracy", "LogLoss"]', 'metrics = ["Acuracy"]'),
     ":31: [training] metrics: 'Acuracy' is not a river metric"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"), CATALOGUE_BAD, ids=[m[:40] for _, m in CATALOGUE_BAD]
)
def test_the_trainer_names_the_line_of_a_bad_estimator_parameter_or_metric(
    change: tuple[str, str], message: str
) -> None:
    spec = parse_spec(edited(change), "survey.toml")  # the contract is fine: scorers read it
    with pytest.raises(SpecFileError) as caught:
        spec_from(spec)
    assert str(caught.value).startswith("survey.toml" + message), str(caught.value)


def test_a_multiclass_model_is_not_judged_by_a_binary_metric() -> None:
    text = edited(
        ('task = "binary"', 'task = "multiclass"'),
        ('classes = ["absent", "present"]', 'classes = ["bog", "fen", "reed"]'),
        ('positive = "present"', "# none"),
        ('metrics = ["Accuracy", "LogLoss"]', 'metrics = ["Accuracy", "LogLoss"]'),
    )
    with pytest.raises(SpecFileError, match="LogLoss does not judge a multiclass task"):
        spec_from(parse_spec(text, "s.toml"))


def test_a_missing_or_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match=r"nope\.toml: cannot read the model spec file"):
        read_spec_file(tmp_path / "nope.toml")
    (tmp_path / "latin.toml").write_bytes(b'[model]\nname = "caf\xe9"\n')
    with pytest.raises(SpecFileError, match="not UTF-8"):
        read_spec_file(tmp_path / "latin.toml")


def test_every_command_means_the_same_model_by_its_file(tmp_path: Path) -> None:
    path = tmp_path / "survey.toml"
    path.write_text(SURVEY)
    contract, spec = load_contract(str(path)), load_spec(str(path))
    assert contract == spec.contract and contract.fingerprint == spec.fingerprint
    assert load_contract(str(path)).fingerprint == contract.fingerprint  # read again: the same
    topic = pickle.loads(pickle.dumps(contract.inputs[0]))  # crosses to the feed process
    assert topic.event is contract.inputs[0].event
    assert spec.snapshot_every == 5000 and spec.name == "survey"


def test_a_spec_file_is_named_by_its_suffix() -> None:
    assert is_spec_file("survey.toml") and is_spec_file("dir/Survey.TOML")
    assert not is_spec_file("habitat") and not is_spec_file("pkg.mod:factory")
    with pytest.raises(ConfigError, match="or give a spec file"):
        load_contract("survey")
