"""`lazarus spec init|check`, and one way to name a model in every command: help that teaches,
a spec file that `train` takes, exit 2 with one line for every bad argument."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from lazarus.cli.main import cli, main
from lazarus.cli.model_arg import given_contract, resolve_model
from lazarus.schemas.specfile import read_spec_file
from lazarus.trainer.specs import load_spec


def write_survey(path: Path, rows: int = 120) -> Path:
    rng = random.Random(4)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["row_id", "site", "depth_m", "habitat", "notes", "occupied", "birds"])
        for i in range(rows):
            depth = rng.gauss(2, 1)
            out.writerow(
                [
                    i + 1,
                    f"S{i % 5}",
                    f"{depth:.2f}" if i % 9 else "NA",
                    rng.choice(["reed", "bog", "fen"]),
                    f"seen at {rng.random():.6f}",
                    "present" if depth > 2 else "absent",
                    rng.randint(0, 80),
                ]
            )
    return path


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_init_writes_a_spec_that_check_and_train_accept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_survey(tmp_path / "Site Survey.csv")
    out = tmp_path / "Site Survey.toml"  # the model is named after the spec file
    code, said, _ = run_main(
        ["spec", "init", str(data), "--label-column", "occupied", "--key-column", "site",
         "--out", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0 and said.startswith(f"wrote {out}: binary task (absent, present; positive")
    spec = read_spec_file(out)
    assert spec.contract.name == "site_survey" and spec.data.key_column == "site"
    assert [c.name for c in spec.data.columns] == ["depth_m", "birds", "habitat"]
    assert spec.data.na_values == ("", "NA") and set(spec.data.dropped) == {"row_id", "notes"}
    assert load_spec(str(out)).contract == spec.contract
    code, said, _ = run_main(["spec", "check", str(out)], capsys)
    assert code == 0 and said.startswith(f"{out}: ok: model site_survey, binary task")


def test_init_picks_the_task_and_the_estimator_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_survey(tmp_path / "survey.csv")
    out = tmp_path / "birds.toml"
    args = ["spec", "init", str(data), "--label-column", "birds", "--name", "birds"]
    code, said, _ = run_main(
        [*args, "--estimator", "BayesianLinearRegression", "--out", str(out)], capsys
    )
    assert code == 0 and "regression task" in said
    assert read_spec_file(out).recipe.estimator == "BayesianLinearRegression"
    code, _, _ = run_main([*args, "--task", "multiclass", "--out", str(out), "--force"], capsys)
    assert code == 0 and read_spec_file(out).task == "multiclass"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label-column", "nope"], "--label-column 'nope' is not a column of the data"),
        (["--label-column", "occupied", "--drop", "x"], "--drop 'x' is not a column"),
        (["--label-column", "occupied", "--estimator", "SoftmaxRegression"],
         "--estimator 'SoftmaxRegression' is not in the catalogue for a binary task"),
        (["--label-column", "occupied", "--task", "regression"], "is not a number: not a regression"),
        (["--label-column", "occupied", "--encoding", "rot13"], "--encoding: 'rot13' is not a text encoding"),
        (["--label-column", "occupied", "--name", "Bad Name"], "model name 'Bad Name'"),
    ],
)  # fmt: skip
def test_a_bad_argument_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    data = write_survey(tmp_path / "survey.csv", rows=30)
    out = tmp_path / "s.toml"
    code, _, err = run_main(["spec", "init", str(data), *args, "--out", str(out)], capsys)
    assert code == 2 and message in err, err
    assert err.strip().count("\n") == 0 and not out.exists()


def test_files_the_command_cannot_use_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_survey(tmp_path / "survey.csv", rows=30)
    taken = tmp_path / "taken.toml"
    taken.write_text("# mine\n")
    cases = [
        (["spec", "init", str(tmp_path / "none.csv"), "--label-column", "a", "--out", str(taken)],
         "none.csv: no such file"),
        (["spec", "init", str(data), "--label-column", "occupied", "--out", str(taken)],
         "taken.toml exists: pass --force to overwrite it"),
        (["spec", "init", str(data), "--label-column", "occupied", "--out", str(tmp_path / "s.txt")],
         "a spec file's name ends in .toml"),
    ]  # fmt: skip
    for argv, message in cases:
        code, _, err = run_main(argv, capsys)
        assert code == 2 and message in err and err.strip().count("\n") == 0, err
    assert taken.read_text() == "# mine\n"


def test_a_bad_spec_file_is_one_line_naming_its_line_in_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "bad"\ntask = "binary"\nclases = [0, 1]\n')
    for argv in (
        ["spec", "check", str(bad)],
        ["train", str(bad)],
        ["score", str(bad)],
        ["quality", str(bad)],
        ["models", "show", str(bad)],
        ["models", "history", str(bad)],
    ):
        code, _, err = run_main(argv, capsys)
        assert code == 2, (argv, err)
        assert f"{bad}:4: [model] clases: unknown key: did you mean 'classes'?" in err, err
        assert err.strip().count("\n") == 0


def test_models_commands_resolve_a_spec_file_or_import_path_to_the_model_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_survey(tmp_path / "survey.csv", rows=30)
    out = tmp_path / "survey.toml"
    run_main(["spec", "init", str(data), "--label-column", "occupied", "--out", str(out)], capsys)
    out.write_text(out.read_text().replace("min_learned = 1", "min_learned = 7"))

    @click.command()
    @click.argument("model", callback=resolve_model)
    def show(model: str) -> None:
        contract = given_contract()
        click.echo(f"{model} {contract.min_learned if contract else '-'}")

    runner = CliRunner()
    assert runner.invoke(show, [str(out)]).output == "survey 7\n"
    assert runner.invoke(show, ["lazarus.trainer.specs:viability"]).output == "viability 1\n"
    assert runner.invoke(show, ["anything_stored"]).output == "anything_stored -\n"


def test_help_teaches_with_examples() -> None:
    runner = CliRunner()
    for args, example in (
        (["spec", "init", "--help"], "lazarus spec init survey.csv --label-column occupied"),
        (["spec", "check", "--help"], "lazarus spec check survey.toml"),
        (["train", "--help"], "lazarus train survey.toml"),
        (["score", "--help"], "lazarus score survey.toml"),
        (["quality", "--help"], "lazarus quality survey.toml"),
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0 and example in result.output, result.output
    listing = runner.invoke(cli, ["--help"]).output
    assert "  spec " in listing


def test_the_installed_command_exits_2_with_one_line(tmp_path: Path) -> None:
    data = write_survey(tmp_path / "survey.csv", rows=20)
    result = subprocess.run(
        [sys.executable, "-m", "lazarus", "spec", "init", str(data), "--label-column", "nope",
         "--out", str(tmp_path / "s.toml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "--label-column 'nope'" in result.stderr
