"""One import name (issue #13): Lazarus installs only `lazarus`, and neither the CLI nor the
children of `lazarus up` import from the current directory, so folders named like the
source folders (`schemas`, `trainer`, ...) in the user's directory change nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lazarus.settings import Settings
from tests.integration.cli import cli_env
from tests.integration.test_up import _env

SHADOWS = ("schemas", "trainer", "scorer", "producers", "quality")


def test_only_lazarus_is_importable_from_the_install(tmp_path: Path) -> None:
    for name in SHADOWS[:4]:
        result = subprocess.run(
            [sys.executable, "-P", "-c", f"import {name}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 1 and "No module named" in result.stderr, result.stderr
    ok = subprocess.run(
        [sys.executable, "-P", "-c", "import lazarus.schemas, lazarus.trainer.specs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ok.returncode == 0, ok.stderr


def test_up_runs_beside_folders_named_like_ours(settings: Settings, tmp_path: Path) -> None:
    """`lazarus schemas export schemas && lazarus up` used to fail with an ImportError."""
    env, _, _ = _env(settings)
    export = subprocess.run(
        [sys.executable, "-m", "lazarus", "schemas", "export", "schemas"],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert export.returncode == 0, export.stderr
    assert (tmp_path / "schemas" / "SensorReading.v1.schema.json").exists()
    for name in SHADOWS[1:]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('a user folder')\n")
    (tmp_path / "schemas" / "__init__.py").write_text("raise ImportError('a user folder')\n")
    up = subprocess.run(
        [sys.executable, "-m", "lazarus", "up", "--duration", "6", "--rate", "50"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    out = up.stdout + up.stderr
    assert up.returncode == 0, out
    assert "ImportError" not in out and "a user folder" not in out
    assert "trainer:habitat" in out and "stopped everything" in out
