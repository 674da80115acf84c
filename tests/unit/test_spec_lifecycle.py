"""The `[lifecycle]` table of a model spec file: what it reads into, one line naming the file,
line and key for each thing wrong in it, a challenger's contract over its champion's data, and
`lazarus spec check` comparing a challenger with its champion."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lazarus.cli.main import main
from lazarus.schemas.lifecycle import DriftPolicy, GuardPolicy, Lifecycle, PromotionPolicy
from lazarus.schemas.specfile import SpecFileError, parse_spec, read_spec_file
from lazarus.spec_inference import infer
from lazarus.spec_text import Source, spec_text
from lazarus.trainer.spec_champion import check_champion, find_champion
from lazarus.trainer.specfile import spec_from
from tests.unit.test_spec_file import SURVEY

DOCS = Path(__file__).parents[2] / "docs" / "model-specs.md"

TREE = (
    SURVEY.replace('name = "survey"', 'name = "survey_tree"')
    .replace('estimator = "LogisticRegression"', 'estimator = "HoeffdingTreeClassifier"')
    .replace("l2 = 0.001", "grace_period = 50")
)
"""The survey model's challenger: the same columns and classes, another estimator."""
FULL = """\

[lifecycle]
challenger_of = "survey"

[lifecycle.promotion]
min_events = 800
margin = 0.01
confidence = 0.9

[lifecycle.guard]
min_events = 200
margin = 0.05
confidence = 0.99
max_events = 2000

[lifecycle.drift]
detector = "PageHinkley"
delta = 0.01
threshold = 20
feature_window = 500
feature_alpha = 0.01
action = "challenger"
"""
"""Every key set, none to its default; appended to TREE, its lines are 32 to 53."""


def tree(*changes: tuple[str, str], lifecycle: str = FULL) -> str:
    """TREE with `lifecycle` appended and whole lines of it replaced (line numbers kept)."""
    lines = (TREE + lifecycle).splitlines()
    for old, new in changes:
        assert old in lines, old
        lines[lines.index(old)] = new
    return "\n".join(lines) + "\n"


def test_a_full_lifecycle_table_reads_into_the_contracts_lifecycle() -> None:
    life = parse_spec(tree(), "survey_tree.toml").contract.lifecycle
    assert life == Lifecycle(
        challenger_of="survey",
        promotion=PromotionPolicy(min_events=800, margin=0.01, confidence=0.9),
        guard=GuardPolicy(min_events=200, margin=0.05, confidence=0.99, max_events=2000),
        drift=DriftPolicy(
            detector="PageHinkley",
            delta=0.01,
            threshold=20.0,
            feature_window=500,
            feature_alpha=0.01,
            action="challenger",
        ),
    )
    assert isinstance(life.drift.threshold, float)  # `threshold = 20` is read as a number


def test_without_a_lifecycle_table_every_default_applies() -> None:
    assert parse_spec(SURVEY, "survey.toml").contract.lifecycle == Lifecycle()


def test_false_turns_promotion_and_the_guard_off_and_true_keeps_the_defaults() -> None:
    off = "\n[lifecycle]\npromotion = false\nguard = false\n"
    life = parse_spec(TREE + off, "t.toml").contract.lifecycle
    assert life.promotion is None and life.guard is None and life.drift == DriftPolicy()
    on = "\n[lifecycle]\npromotion = true\nguard = true\n"
    assert parse_spec(TREE + on, "t.toml").contract.lifecycle == Lifecycle()


def test_an_inline_table_reads_as_a_sub_table_and_errors_name_its_line() -> None:
    inline = '\n[lifecycle]\nguard = { margin = 0.05 }\ndrift = { action = "reset" }\n'
    life = parse_spec(TREE + inline, "t.toml").contract.lifecycle
    assert life.guard == GuardPolicy(margin=0.05) and life.drift.action == "reset"
    with pytest.raises(SpecFileError) as caught:
        parse_spec(TREE + inline.replace("0.05", "-1"), "t.toml")
    assert str(caught.value) == "t.toml:34: [lifecycle.guard] margin: must not be negative"


BAD = [
    (('challenger_of = "survey"', 'challenger_of = "survey_tree"'),
     ":34: [lifecycle] challenger_of: 'survey_tree' is this model: it cannot challenge itself"),
    (('challenger_of = "survey"', 'challenger_of = "survey.toml"'),
     ":34: [lifecycle] challenger_of: 'survey.toml' is not a model name"),
    (('challenger_of = "survey"', "challenger_of = 3"),
     ":34: [lifecycle] challenger_of: must be a non-empty string, not the integer 3"),
    (('challenger_of = "survey"', 'challengers_of = "survey"'),
     ":34: [lifecycle] challengers_of: unknown key: did you mean 'challenger_of'?"),
    (("[lifecycle.promotion]", "[lifecycle.promotoin]"),
     ":36: [lifecycle] promotoin: unknown key: did you mean 'promotion'?"),
    (("min_events = 800", "min_event = 800"),
     ":37: [lifecycle.promotion] min_event: unknown key: did you mean 'min_events'?"),
    (("min_events = 800", "min_events = 800.0"),
     ":37: [lifecycle.promotion] min_events: must be an integer, not the number 800.0"),
    (("min_events = 800", "min_events = 1"),
     ":37: [lifecycle.promotion] min_events: must be at least 2"),
    (("margin = 0.01", 'margin = "small"'),
     ":38: [lifecycle.promotion] margin: must be a number, not the string 'small'"),
    (("margin = 0.01", "margin = nan"),
     ":38: [lifecycle.promotion] margin: must be a finite number, not nan"),
    (("confidence = 0.9", "confidence = 1.0"),
     ":39: [lifecycle.promotion] confidence: must be at least 0.5 and below 1"),
    (("max_events = 2000", "max_events = 100"),
     ":45: [lifecycle.guard] max_events: max_events must be at least min_events"),
    (("min_events = 200", "min_events = 3000"),
     ":45: [lifecycle.guard] max_events: max_events must be at least min_events"),
    (('detector = "PageHinkley"', 'detector = "adwin"'),
     ":48: [lifecycle.drift] detector: 'adwin' is not one of ADWIN, PageHinkley"),
    (("delta = 0.01", "delta = 2"),
     ":49: [lifecycle.drift] delta: delta and feature_alpha must be between 0 and 1"),
    (("threshold = 20", "threshold = 0"),
     ":50: [lifecycle.drift] threshold: threshold must be positive and feature_window 20 or more"),
    (("feature_window = 500", "feature_window = 5"),
     ":51: [lifecycle.drift] feature_window: threshold must be positive and feature_window 20"),
    (("feature_alpha = 0.01", "feature_alpha = 0"),
     ":52: [lifecycle.drift] feature_alpha: delta and feature_alpha must be between 0 and 1"),
    (('action = "challenger"', 'action = "retrain"'),
     ":53: [lifecycle.drift] action: 'retrain' is not one of alert, challenger, reset"),
    (("[lifecycle.promotion]", 'promotion = "no"'),
     ":36: [lifecycle] promotion: must be a table or true/false, not the string 'no'"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m[:48] for _, m in BAD])
def test_each_mistake_is_one_line_naming_the_file_the_line_and_the_key(
    change: tuple[str, str], message: str
) -> None:
    text = tree(change)
    if change[1].startswith("promotion ="):  # its keys now belong to [lifecycle]: drop them
        text = text.replace("min_events = 800\nmargin = 0.01\nconfidence = 0.9\n", "#\n#\n#\n")
    with pytest.raises(SpecFileError) as caught:
        parse_spec(text, "survey_tree.toml")
    said = str(caught.value)
    assert said.startswith("survey_tree.toml" + message), said
    assert "\n" not in said


def test_a_rule_between_two_keys_names_the_line_of_the_one_written() -> None:
    only_min = "\n[lifecycle.guard]\nmin_events = 6000\n"  # above the default max_events
    with pytest.raises(SpecFileError) as caught:
        parse_spec(TREE + only_min, "t.toml")
    assert str(caught.value) == (
        "t.toml:34: [lifecycle.guard] min_events: max_events must be at least min_events"
    )


def test_keys_are_judged_together_not_each_against_the_defaults() -> None:
    both = "\n[lifecycle.guard]\nmin_events = 6000\nmax_events = 8000\n"
    guard = parse_spec(TREE + both, "t.toml").contract.lifecycle.guard
    assert guard == GuardPolicy(min_events=6000, max_events=8000)
    two = "\n[lifecycle.promotion]\nmin_events = 1\nconfidence = 2.0\n"
    with pytest.raises(SpecFileError) as caught:
        parse_spec(TREE + two, "t.toml")
    assert str(caught.value) == "t.toml:34: [lifecycle.promotion] min_events: must be at least 2"


def test_drift_cannot_be_turned_off_with_false() -> None:
    with pytest.raises(SpecFileError) as caught:
        parse_spec(TREE + "\n[lifecycle]\ndrift = false\n", "t.toml")
    assert str(caught.value) == (
        "t.toml:34: [lifecycle] drift: must be a table, not the boolean false"
    )


def test_a_challenger_reads_its_champions_data_under_its_own_name() -> None:
    champion = parse_spec(SURVEY, "survey.toml").contract
    spec = parse_spec(tree(), "survey_tree.toml")
    own = spec.contract
    assert own.name == "survey_tree" and own.lifecycle.challenger_of == "survey"
    assert [t.name for t in own.inputs] == [t.name for t in champion.inputs]
    assert own.inputs[0].event is champion.inputs[0].event  # one record class: same features
    assert own.outcomes.name == champion.outcomes.name == "survey.outcomes.v1"
    assert own.scores is not None and own.scores.name == "survey_tree.scores.v1"
    assert own.fingerprint == champion.fingerprint
    assert own.description == "survey_tree: challenger of survey: records -> binary"
    trainer = spec_from(spec)  # its own pipeline, built over the champion's records
    assert trainer.name == "survey_tree" and trainer.fingerprint == champion.fingerprint


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_spec_check_finds_the_champion_next_to_the_challenger_and_compares(
    tmp_path: Path,
) -> None:
    write(tmp_path, "a_broken.toml", "not toml at all [")  # passed over
    write(tmp_path, "site survey.toml", SURVEY)  # found by its [model] name, not its file name
    challenger = read_spec_file(write(tmp_path, "survey_tree.toml", tree()))
    found = find_champion(challenger)
    assert found is not None and found[0] == str(tmp_path / "site survey.toml")
    assert check_champion(challenger).endswith("same fingerprint")
    assert check_champion(read_spec_file(tmp_path / "site survey.toml")) == ""  # no challenger


def test_spec_check_refuses_a_challenger_whose_fingerprint_differs(tmp_path: Path) -> None:
    write(tmp_path, "survey.toml", SURVEY)
    fewer = tree(('numeric = ["depth_m", "ph"]', 'numeric = ["depth_m"]'))
    with pytest.raises(SpecFileError) as caught:
        check_champion(read_spec_file(write(tmp_path, "survey_tree.toml", fewer)))
    assert str(caught.value).startswith(
        f"{tmp_path / 'survey_tree.toml'}:34: [lifecycle] challenger_of: survey "
        f"({tmp_path / 'survey.toml'}): its features are [depth_m:numeric, ph:numeric, "
        "habitat:categorical], this file's [depth_m:numeric, habitat:categorical]"
    )
    other_positive = tree(('positive = "present"', 'positive = "absent"'))
    with pytest.raises(SpecFileError, match=r"its labels are classes \['absent', 'present'\]"):
        check_champion(read_spec_file(write(tmp_path, "survey_tree.toml", other_positive)))


def test_spec_check_of_a_challenger_exits_2_or_says_what_it_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "survey_tree.toml", tree())
    code, out, _ = run_main(["spec", "check", str(path)], capsys)
    assert code == 0 and "; challenger of survey, not found next to it" in out
    write(tmp_path, "survey.toml", SURVEY)
    code, out, _ = run_main(["spec", "check", str(path)], capsys)
    assert code == 0 and out.rstrip().endswith(
        f"; challenger of survey ({tmp_path / 'survey.toml'}), same fingerprint"
    )
    path.write_text(tree(('challenger_of = "survey"', 'challenger_of = "habitat"')))
    code, _, err = run_main(["spec", "check", str(path)], capsys)
    assert code == 2 and err.startswith(
        f"error: {path}:34: [lifecycle] challenger_of: habitat (built in): it reads "
        "habitat.sensor_readings.v1, this file habitat.records.v1"
    )
    assert len(err.strip().splitlines()) == 1


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), " ".join(out.split()), " ".join(err.split())


def test_spec_init_writes_the_lifecycle_defaults_commented_out() -> None:
    rows = [{"depth_m": str(i / 10), "seen": "present" if i % 3 else "absent"} for i in range(9)]
    found = infer(rows, label_column="seen", name="survey")
    text = spec_text(found, Source("s.csv", 9, 0), "LogisticRegression", [])
    assert parse_spec(text, "s.toml").contract.lifecycle == Lifecycle()
    start = text.index("# [lifecycle]")
    block = text[start:].replace("# challenger_of", "#- challenger_of")
    uncommented = re.sub(r"^# (?!\s)", "", block, flags=re.MULTILINE)  # keys, not notes
    assert "\n[lifecycle.drift]" in uncommented and "\naction = " in uncommented
    life = parse_spec(text[:start] + uncommented, "s.toml").contract.lifecycle
    assert life == Lifecycle()  # what the comments say are the defaults are the defaults


def toml_blocks(text: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)


def test_the_docs_lifecycle_table_lists_the_defaults_and_its_challenger_passes(
    tmp_path: Path,
) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    section = docs[docs.index("\n## Lifecycle") : docs.index("\n## The pipeline")]
    survey, (reference, challenger) = toml_blocks(docs)[0], toml_blocks(section)
    renamed = survey.replace('name = "survey"', 'name = "survey_other"')
    life = parse_spec(renamed + reference, "other.toml").contract.lifecycle
    assert life == Lifecycle(challenger_of="survey")
    write(tmp_path, "survey.toml", survey)
    spec = read_spec_file(write(tmp_path, "survey_tree.toml", challenger))
    assert check_champion(spec).endswith("same fingerprint")
    spec_from(spec)  # `lazarus train` takes it
    for line in re.findall(r"^\w+\.toml:\d+: (.*)$", section, flags=re.MULTILINE):
        assert any(line in m for _, m in BAD), f"docs error not produced by the tests: {line}"
