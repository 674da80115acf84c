"""Find processes by a marker in their command line or environment (Linux /proc)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def pids_with(marker: str) -> list[int]:
    """Live processes whose command line or environment contains `marker` (zombies excluded)."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            blob = (entry / "cmdline").read_bytes() + b"\0" + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in blob:
            found.append(int(entry.name))
    return found


def wait_gone(marker: str, timeout: float = 10.0) -> list[int]:
    """Wait until no process carries `marker`; returns those still there at the deadline."""
    deadline = time.monotonic() + timeout
    left = pids_with(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = pids_with(marker)
    return left
