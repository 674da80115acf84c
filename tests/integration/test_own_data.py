"""Bring your own data: a CSV written here, `lazarus spec init` -> replay -> train -> score, as a
user runs them (real broker, real Redis, subprocesses). Per task, the classes and values come
back as declared, and every row is scored or dead-lettered with its reason.
"""

from __future__ import annotations

import csv
import json
import random
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lazarus.schemas.deadletter import DeadLetter
from lazarus.schemas.scores import Score
from lazarus.schemas.specfile import read_spec_file
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus, lazarus_bg
from tests.integration.kafkatools import prequential_entries, read_all, value_of
from tests.integration.trainerkit import store_of, with_keys

ROWS = 240
START = datetime(2025, 3, 1, tzinfo=UTC)
HABITATS = ("reed bed", "open water", "carr woodland")


@dataclass(frozen=True)
class Case:
    task: str
    classes: tuple[Any, ...] | None
    label: Callable[[float, str], str]
    """The label cell of a row from its depth and habitat."""
    bad_label: str


CASES = {
    "binary": Case(
        "binary",
        ("absent", "present"),
        lambda depth, habitat: "present" if depth > 1.0 or habitat == "reed bed" else "absent",
        "maybe",
    ),
    "multiclass": Case(
        "multiclass", (0, 1, 2), lambda depth, habitat: str(min(2, int(depth))), "7"
    ),
    "regression": Case(
        "regression", None, lambda depth, habitat: f"{3.0 * depth + 0.5:.3f}", "heavy"
    ),
}


def day(i: int) -> str:
    """Row `i`'s survey date: the rows span ROWS * 0.7 days (168), in order, as a programme's
    recording of half a year does."""
    return (START + timedelta(days=0.7 * i)).date().isoformat()


def write_csv(sample: Path, stream: Path, case: Case) -> tuple[int, int]:
    """`sample`: ROWS rows of depth (numeric, some "NA"), habitat (categorical), site (key) and
    label, what `spec init` reads; `stream`: the same rows, then one whose depth is no number,
    one whose label is no class and one without a label, what is replayed. Returns (rows
    replayed, labelled rows whose label is valid)."""
    rnd = random.Random(7)
    rows = [["site", "date", "depth_m", "habitat", "label"]]
    for i in range(ROWS):
        depth = rnd.uniform(0.0, 3.0)
        habitat = HABITATS[i % 3]
        cell = "NA" if i % 17 == 5 else f"{depth:.3f}"
        rows.append([f"site {i % 4}", day(i), cell, habitat, case.label(depth, habitat)])
    bad = [
        ["site 0", day(ROWS), "deep", HABITATS[0], case.label(1.0, HABITATS[0])],
        ["site 1", day(ROWS), "1.5", HABITATS[1], case.bad_label],
        ["site 2", day(ROWS), "2.5", HABITATS[2], "NA"],  # unlabelled: scored, never learned
    ]
    for path, content in ((sample, rows), (stream, rows + bad)):
        with path.open("w", newline="") as f:
            csv.writer(f).writerows(content)
    return ROWS + 3, ROWS


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    running: list[subprocess.Popen[str]] = []
    yield running
    for p in running:
        if p.poll() is None:
            p.kill()
        p.wait(10)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, out


@pytest.mark.parametrize("name", list(CASES))
def test_spec_init_train_score_keeps_classes_and_values_as_declared(
    name: str, settings: Settings, tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    case = CASES[name]
    s = with_keys(settings)
    env = cli_env(s)
    sample, data = tmp_path / "sample.csv", tmp_path / f"{name}.csv"
    rows, learnable = write_csv(sample, data, case)
    spec_path = tmp_path / "survey.toml"

    made = lazarus(
        "spec", "init", str(sample), "--label-column", "label", "--key-column", "site",
        "--time-column", "date", "--name", "survey", "--out", str(spec_path), env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    spec = read_spec_file(spec_path)
    assert spec.contract.task == ("regression" if case.task == "regression" else "classification")
    assert spec.contract.label_classes == case.classes
    assert {c.name: c.kind for c in spec.data.columns} == {
        "depth_m": "numeric",
        "habitat": "categorical",
    }
    # snapshots often, so the test need not wait the default 10 s for the first
    text = re.sub(r"(?m)^snapshot_seconds = .*$", "snapshot_seconds = 0.2", spec_path.read_text())
    spec_path.write_text(text)

    # all at once, labels a second later: a recording of months, replayed in a second, loses
    # no label (spec init made rows wait longer than the dates span: label_wait_days)
    assert spec.data.time_column == "date" and spec.recipe.label_wait_days > 0.7 * (ROWS - 1)
    sent = lazarus(
        "produce", "replay", str(data), "--model", str(spec_path), "--label-delay", "1", env=env
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr

    trainer = lazarus_bg("train", str(spec_path), env=env)
    procs.append(trainer)
    store = store_of(s)

    def learned_all() -> bool:
        version = store.latest("survey")
        if not version:
            return False
        manifest = store.manifest("survey", version)
        return manifest is not None and manifest.n_learned == learnable

    wait_for(f"the trainer to learn {learnable} rows", learned_all)
    scorer = lazarus_bg("score", str(spec_path), env=env)
    procs.append(scorer)
    scores_topic = f"{s.topic_prefix}survey.scores.v1"
    scored = wait_for(
        f"{rows - 1} scores",
        lambda: (m := read_all(s, scores_topic, expect=rows - 1, timeout=10)) and len(m) >= rows - 1 and m,
    )  # fmt: skip
    for proc in (scorer, trainer):
        code, out = stop(proc)
        assert code == 0, out

    values = [Score.model_validate_json(value_of(m)) for m in scored]
    assert len({v.input_event_id for v in values}) == rows - 1  # every record but the bad one
    predicted = {(type(v.prediction), v.prediction) for v in values}
    assert len(predicted) >= 2, predicted  # the model learned something: not one constant
    for score in values:
        if case.classes is None:
            assert type(score.prediction) is float and score.probabilities is None
        else:
            assert any(
                type(score.prediction) is type(c) and score.prediction == c for c in case.classes
            ), score.prediction
            assert score.probabilities is not None
            assert set(score.probabilities) <= {str(c) for c in case.classes}
    raw = json.loads(value_of(scored[0]))
    if case.classes is not None:  # on the wire, as declared: "present", 2
        assert raw["prediction"] in case.classes
    # the trainer's prequential records carry labels as declared too
    records = prequential_entries(s, expect=learnable)
    assert len(records) == learnable
    if case.classes is None:
        assert all(type(r["label"]) is float for r in records)
    else:
        declared = {(type(c), c) for c in case.classes}
        assert {(type(r["label"]), r["label"]) for r in records} == declared

    letters = [
        DeadLetter.model_validate_json(value_of(m))
        for m in read_all(s, f"{s.topic_prefix}lazarus.dead_letters.v1", expect=2, timeout=20)
    ]
    reasons = sorted(letter.reason for letter in letters)
    assert len(letters) == 2, reasons
    assert any("'deep' is not a number" in r for r in reasons), reasons
    assert any(case.bad_label in r for r in reasons), reasons
    # rows in = records scored + rows dead-lettered at replay
    assert rows == len({v.input_event_id for v in values}) + 1
