"""Every Redis key layout lives in `lazarus.registry.keys`: no other module spells one out."""

from __future__ import annotations

import re
from pathlib import Path

from lazarus.registry import keys
from lazarus.registry.redis_store import MOVE_LUA, PUBLISH_LUA

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("lazarus", "schemas", "trainer", "scorer", "producers", "quality")
LAYOUT = re.compile(r"""f["'][^"']*\}:(model|roles|quality|embedded)\b""")


def test_no_module_but_keys_builds_a_redis_key() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in SOURCES
        for path in sorted((ROOT / folder).rglob("*.py"))
        if not path.is_symlink() and path.resolve() != Path(keys.__file__).resolve()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if LAYOUT.search(line)
    ]
    assert offenders == []


def test_the_lua_scripts_use_only_the_declared_suffixes() -> None:
    used = set(re.findall(r"base \.\. '(:[a-z]+:?)'", PUBLISH_LUA + MOVE_LUA))
    assert used and used <= set(keys.SNAPSHOT_SUFFIXES)
