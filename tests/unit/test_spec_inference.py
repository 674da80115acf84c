"""`lazarus spec init`'s pure core: column kinds, NA markers, the task, typed classes, the
positive class, the columns dropped and why, and the text it writes reading back."""

from __future__ import annotations

from typing import Any

import pytest

from lazarus.errors import ConfigError
from lazarus.schemas.specfile import parse_spec
from lazarus.spec_inference import ID_MIN_ROWS, Inference, infer
from lazarus.spec_text import Source, spec_text
from lazarus.trainer import catalogue
from lazarus.trainer.specfile import spec_from


def rows_with(labels: list[Any], **columns: list[Any]) -> list[dict[str, Any]]:
    """Rows of a `y` label column and the given feature columns (one cell per label)."""
    out = []
    for i, label in enumerate(labels):
        row = {name: cells[i % len(cells)] for name, cells in columns.items()}
        row["y"] = label
        out.append(row)
    return out


def found(labels: list[Any], task: str = "auto", **columns: list[Any]) -> Inference:
    columns = columns or {"x": ["1.5", "2", "3.25"]}
    return infer(rows_with(labels, **columns), label_column="y", name="m", task=task)


# -- columns --------------------------------------------------------------------------------


def test_numeric_means_every_present_cell_is_a_finite_number() -> None:
    f = found(
        ["a", "b"] * 3,
        depth=["1.5", "-2e3", " 7 "],
        habitat=["reed", "bog", "12"],
        flag=["1", "inf", "2"],
    )
    assert f.numeric == ("depth",)
    assert f.categorical == ("habitat", "flag")  # "inf" is not a finite number


def test_na_markers_found_in_the_sample_are_missing_cells_and_listed() -> None:
    f = found(
        ["a", "b"] * 4,
        depth=["1.5", "NA", "2", "?"],
        ph=["7", "", "n/a", "6.5"],
    )
    assert f.numeric == ("depth", "ph")
    assert f.na_values == ("", "NA", "n/a", "?")  # in NA_MARKERS' order; "" always


def test_a_json_null_is_missing_and_json_values_keep_their_kind() -> None:
    rows: list[dict[str, Any]] = [
        {"depth": 1.5, "wet": True, "y": "a"},
        {"depth": None, "wet": False, "y": "b"},
        {"depth": 3, "wet": True, "y": "a"},
    ]
    f = infer(rows, label_column="y", name="m")
    assert f.numeric == ("depth",) and f.categorical == ("wet",) and f.na_values == ("",)


def test_useless_columns_are_dropped_with_the_reason() -> None:
    n = ID_MIN_ROWS + 10
    f = found(
        ["a", "b"] * (n // 2),
        row_id=[str(i) for i in range(1, n + 1)],
        note=[f"note {i}" for i in range(n)],
        const=["x"],
        empty=["NA"],
        depth=["1", "2", "2"],
        site=[f"S{i % 7}" for i in range(n)],
    )
    why = dict(f.dropped)
    assert set(why) == {"row_id", "note", "const", "empty"}
    assert "row number" in why["row_id"] and "identifier" in why["note"]
    assert "same value ('x')" in why["const"] and "missing" in why["empty"]
    assert f.numeric == ("depth",) and f.categorical == ("site",)


def test_a_column_named_like_a_record_field_is_dropped_saying_so() -> None:
    f = found(["a", "b"], subject=["s1", "s2"], depth=["1", "2"])
    assert dict(f.dropped)["subject"].startswith("named like a record field")


def test_label_key_time_and_dropped_columns_are_not_features() -> None:
    rows = rows_with(
        ["a", "b"] * 2, site=["s1", "s2", "s1"], t=["1", "2"], depth=["1", "3"], notes=["u", "v"]
    )
    f = infer(rows, label_column="y", name="m", key_column="site", time_column="t", drop=["notes"])
    assert f.numeric == ("depth",) and f.categorical == () and f.dropped == (("notes", "--drop"),)


# -- the task and its classes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "task", "classes", "positive"),
    [
        (["absent", "present"], "binary", ("absent", "present"), "present"),
        (["-1", "1"], "binary", (-1, 1), 1),
        (["0", "1"], "binary", (0, 1), 1),
        (["TRUE", "false"], "binary", (False, True), True),
        (["No", "Yes"], "binary", ("No", "Yes"), "Yes"),
        (["cat", "dog"], "binary", ("cat", "dog"), "dog"),
        (["2.0", "3.0"], "binary", (2, 3), 3),
        (["oak", "ash", "elm"], "multiclass", ("ash", "elm", "oak"), None),
        (["0", "1", "2"], "multiclass", (0, 1, 2), None),
        (["1.5", "2.25", "3"], "regression", None, None),
        ([str(i) for i in range(30)], "regression", None, None),
    ],
)
def test_task_classes_and_positive_class_from_the_labels(
    labels: list[str], task: str, classes: tuple[Any, ...] | None, positive: Any
) -> None:
    f = found(labels * 2)
    assert (f.task, f.classes, f.positive) == (task, classes, positive)
    if classes is not None:
        assert [type(c) for c in f.classes or ()] == [type(c) for c in classes]
        assert sum(n for _, n in f.label_counts) == 2 * len(labels)


def test_rows_per_class_and_unlabelled_rows_are_counted() -> None:
    f = found(["a", "a", "b", "NA", ""], x=["1", "2"])
    assert f.label_counts == (("a", 2), ("b", 1)) and f.unlabelled == 2


def test_a_given_task_is_checked_against_the_labels() -> None:
    assert found(["1", "2", "3"], task="regression").task == "regression"
    assert found(["0", "1", "2"] * 10 + [str(i) for i in range(25)], task="multiclass").classes
    with pytest.raises(
        ConfigError, match="label 'absent' in column 'y' is not a number: not a regression"
    ):
        found(["absent", "present"], task="regression")
    with pytest.raises(ConfigError, match=r"has 3 distinct value.*a binary task has two"):
        found(["a", "b", "c"], task="binary")
    with pytest.raises(ConfigError, match=r"that is a binary task \(--task binary\)"):
        found(["a", "b"], task="multiclass")
    with pytest.raises(ConfigError, match=r"1 distinct value.*nothing to learn"):
        found(["a", "a", "NA"])
    with pytest.raises(ConfigError, match="too many classes"):
        found([f"c{i}" for i in range(300)])


def test_bad_arguments_name_the_option() -> None:
    rows = rows_with(["a", "b"], x=["1", "2"])
    with pytest.raises(ConfigError, match="--label-column 'z' is not a column of the data"):
        infer(rows, label_column="z", name="m")
    with pytest.raises(ConfigError, match="--key-column 'site' is not a column"):
        infer(rows, label_column="y", name="m", key_column="site")
    with pytest.raises(ConfigError, match="--drop 'q' is not a column"):
        infer(rows, label_column="y", name="m", drop=["q"])
    with pytest.raises(ConfigError, match="model name 'My Model'"):
        infer(rows, label_column="y", name="My Model")
    with pytest.raises(ConfigError, match="no feature column is left"):
        infer(rows, label_column="y", name="m", drop=["x"])
    with pytest.raises(ConfigError, match="no readable data rows"):
        infer([], label_column="y", name="m")


# -- the text, read back ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels", [["absent", "present"], ["0", "1", "2"], ["1.5", "2.5", "4"], ["-1", "1"]]
)
def test_the_written_spec_reads_back_to_what_was_found(labels: list[str]) -> None:
    n = ID_MIN_ROWS + 2
    rows = rows_with(
        labels * n,
        depth=["1.5", "NA", "3"],
        habitat=["reed", "bog", 'fen "quoted" \\ back'],
        note=[f"n{i}" for i in range(n * len(labels))],
    )
    f = infer(rows, label_column="y", name="survey")
    choices = [(e.name, e.about) for e in catalogue.entries(f.task)]
    text = spec_text(f, Source("survey.csv", len(rows), 3), catalogue.DEFAULT[f.task], choices)
    spec = parse_spec(text, "survey.toml")
    assert spec.task == f.task and spec.contract.classes == f.classes
    assert spec.contract.positive == f.positive
    assert spec.data.na_values == f.na_values and spec.data.dropped == ("note",)
    assert [c.name for c in spec.data.columns] == ["depth", "habitat"]
    assert spec_from(spec).pipeline() is not None  # the trainer takes it
    assert "3 sampled rows could not be read" in text and "#   note: an identifier" in text
    for name, _ in choices:
        assert f"#   {name}" in text


def test_a_time_column_spanning_long_makes_rows_wait_longer_for_their_labels() -> None:
    """A recording replayed out of time order: the join gives up on rows older than
    `label_wait_days` behind the newest, so the wait covers the sample's span."""
    dates = ["2025-01-01", "2025-07-20T12:00:00Z", "NA", "2025-03-01"]
    rows = rows_with(["a", "b"] * 2, depth=["1", "2", "3", "4"], when=dates)
    f = infer(rows, label_column="y", name="survey", time_column="when")
    assert f.time_span_days is not None and round(f.time_span_days, 1) == 200.5
    assert f.label_wait_days == 202.0
    text = spec_text(f, Source("survey.csv", len(rows), 0), "LogisticRegression", [])
    spec = spec_from(parse_spec(text, "survey.toml"))
    assert spec.pending_ttl_s == 202.0 * 86400
    assert "spans 200 days" in text
    short = infer(rows_with(["a", "b"], depth=["1", "2"]), label_column="y", name="survey")
    assert short.time_span_days is None and short.label_wait_days == 14.0
