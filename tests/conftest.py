"""Shared test helpers. Service fixtures live in tests/integration/conftest.py."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Commands use the stack of a running `lazarus up` of this user, found by its runtime file
# (lazarus/runtime_file.py): tests, and the commands they run, must never find one a developer
# runs, so they look for it in a directory of their own.
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="lazarus-tests-run-")
atexit.register(shutil.rmtree, os.environ["XDG_RUNTIME_DIR"], ignore_errors=True)
