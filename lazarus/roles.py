"""The roles `lazarus up` runs: every role whose package exists in this install."""

from __future__ import annotations

import importlib.util
import sys

from lazarus.groups import group_name
from lazarus.schemas.models import BUILTIN
from lazarus.supervisor import RoleSpec


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


SECRET = ("LAZARUS_SIGNING_PRIVATE_KEY",)


def demo_roles(
    *,
    scorers: int,
    rate: float,
    label_delay: float,
    seed: int,
    prefix: str = "",
    dashboard_port: int | None = None,
    lag_exporter: bool = True,
) -> list[RoleSpec]:
    """Producers for both feeds, one trainer per model, `scorers` scorer workers and a quality
    monitor per model, the lag exporter (Prometheus lag, unless `lag_exporter` is False) and
    the dashboard (unless `dashboard_port` is None)."""
    # -P: never import from the current directory (a folder named `schemas` there must not
    # shadow ours); `-m` then finds only the installed packages.
    py = (sys.executable, "-P", "-m")
    roles: list[RoleSpec] = []
    if _exists("lazarus.producers.__main__"):
        common = ("--rate", str(rate), "--label-delay", str(label_delay), "--seed", str(seed))
        roles.append(
            RoleSpec(
                "producer:sensors", (*py, "lazarus.producers", "sensors", *common), drop_env=SECRET
            )
        )
        roles.append(
            RoleSpec(
                "producer:genomes", (*py, "lazarus.producers", "genomes", *common), drop_env=SECRET
            )
        )
    if _exists("lazarus.trainer.__main__"):
        roles += [
            RoleSpec(
                f"trainer:{m}",
                (*py, "lazarus.trainer", m),
                group=group_name(prefix, "trainer", m),
                topics=tuple(t.full(prefix) for t in (*c.inputs, c.outcomes)),
            )
            for m, c in BUILTIN.items()
        ]
    if _exists("lazarus.scorer.__main__"):
        roles += [
            RoleSpec(
                f"scorer:{m}#{i}",
                (*py, "lazarus.scorer", m),
                group=group_name(prefix, "scorer", m),
                topics=tuple(t.full(prefix) for t in c.inputs),
                drop_env=SECRET,
            )
            for m, c in BUILTIN.items()
            for i in range(1, scorers + 1)
        ]
    if _exists("lazarus.scorer.__main__") and _exists("lazarus.trainer.__main__"):
        roles += [
            RoleSpec(f"quality:{m}", (*py, "lazarus", "quality", m), drop_env=SECRET)
            for m in BUILTIN
        ]
    if lag_exporter:
        roles.append(RoleSpec("lag-exporter", (*py, "lazarus", "lag-exporter"), drop_env=SECRET))
    if dashboard_port is not None:
        roles.append(
            RoleSpec(
                "dashboard",
                (*py, "lazarus", "dashboard", "--port", str(dashboard_port)),
                drop_env=SECRET,
            )
        )
    return roles
