"""A spec-file model's trainer and scorers create its topics when they are missing (real broker)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lazarus.kafka.admin import list_topics
from lazarus.kafka.config import client_config
from lazarus.model_topics import ensure_model_topics, model_topics
from lazarus.schemas.specfile import read_spec_file
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus_bg
from tests.integration.trainerkit import with_keys

pytestmark = pytest.mark.integration

SPEC = """\
[model]
name = "survey"
task = "binary"
classes = ["absent", "present"]
positive = "present"
[data]
label_column = "occupied"
[features]
numeric = ["depth_m", "ph"]
[pipeline]
estimator = "LogisticRegression"
"""


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    path = tmp_path / "survey.toml"
    path.write_text(SPEC)
    return path


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def existing(settings: Settings) -> dict[str, int]:
    return {t.name: t.partitions for t in list_topics(client_config(settings, quiet=True))}


def wait_for_topics(settings: Settings, names: list[str], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not set(names) <= set(existing(settings)):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, f"{names} never appeared"
        time.sleep(0.2)


def test_ensure_model_topics_creates_the_missing_ones_once(
    settings: Settings, spec_path: Path
) -> None:
    contract = read_spec_file(spec_path).contract
    names = model_topics(contract, settings.topic_prefix)
    assert names[:3] == [
        f"{settings.topic_prefix}survey.records.v1",
        f"{settings.topic_prefix}survey.outcomes.v1",
        f"{settings.topic_prefix}survey.scores.v1",
    ]
    first = ensure_model_topics(settings, contract, timeout=30)
    assert first == dict.fromkeys(names, True)
    assert ensure_model_topics(settings, contract, timeout=30) == dict.fromkeys(names, False)
    found = existing(settings)
    assert all(found[n] == settings.topic_partitions for n in names)


@pytest.mark.parametrize("role", ["train", "score"])
def test_a_spec_file_models_roles_create_its_topics_at_start(
    settings: Settings, spec_path: Path, procs: list[subprocess.Popen[str]], role: str
) -> None:
    s = with_keys(settings)
    names = model_topics(read_spec_file(spec_path).contract, s.topic_prefix)
    assert not set(names) & set(existing(s))
    proc = lazarus_bg(role, str(spec_path), env=cli_env(s))
    procs.append(proc)
    wait_for_topics(s, names, proc)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    assert f"created topic {s.topic_prefix}survey.records.v1" in output
