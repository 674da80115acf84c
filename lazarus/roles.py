"""The roles `lazarus up` runs: every role whose package exists in this install."""

from __future__ import annotations

import importlib.util
import sys

from lazarus.supervisor import RoleSpec


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def demo_roles(*, scorers: int, rate: float, label_delay: float, seed: int) -> list[RoleSpec]:
    """Producers for both feeds, one trainer per model, and `scorers` scorer workers per model."""
    py = sys.executable
    roles: list[RoleSpec] = []
    if _exists("producers.__main__"):
        common = ("--rate", str(rate), "--label-delay", str(label_delay), "--seed", str(seed))
        roles.append(RoleSpec("producer:sensors", (py, "-m", "producers", "sensors", *common)))
        roles.append(RoleSpec("producer:genomes", (py, "-m", "producers", "genomes", *common)))
    models = ("habitat", "viability")
    if _exists("trainer.__main__"):
        roles += [RoleSpec(f"trainer:{m}", (py, "-m", "trainer", m)) for m in models]
    if _exists("scorer.__main__"):
        roles += [
            RoleSpec(f"scorer:{m}#{i}", (py, "-m", "scorer", m), group=f"lazarus.scorer.{m}")
            for m in models
            for i in range(1, scorers + 1)
        ]
    return roles
