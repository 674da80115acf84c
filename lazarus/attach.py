"""Commands find a running `lazarus up`: its stack fills the settings their user did not set.

While `up` runs, its runtime file (`lazarus.runtime_file`) says where its broker and Redis
are, which Redis key and topic prefixes it uses and which development key files it signs
with. A command in another terminal takes from it what the environment and ``.env`` leave
unset; a variable that is set always wins. Two exceptions keep stacks from being mixed:

- a user who set ``LAZARUS_KAFKA_BOOTSTRAP_SERVERS`` or ``LAZARUS_REDIS_URL`` to somewhere
  else means another stack: nothing is taken;
- the signing pair is taken whole, and only when neither key is set;
- when `up`'s Redis URL holds a password (its file leaves the URL out), nothing is taken
  unless the user set ``LAZARUS_REDIS_URL``: a command would otherwise use `up`'s key
  prefix on the default Redis. It says, in one line, which setting to export.

`up` itself and its children never read the file (they are the stack).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from lazarus import runtime_file
from lazarus.runtime_file import UpStack
from lazarus.settings import Settings, env_name

LOCATION = ("kafka_bootstrap_servers", "redis_url")
"""Settings that say which stack a command talks to."""
KEY_FILES = {
    "signing_private_key": "signing_private_key_file",
    "signing_public_key": "signing_public_key_file",
}
"""Each signing key setting, and the field of the runtime file that names its file."""


def _same_servers(a: str, b: str) -> bool:
    return sorted(s.strip() for s in a.split(",")) == sorted(s.strip() for s in b.split(","))


def _stack_value(stack: UpStack, field: str) -> str | None:
    value = getattr(stack, field)
    return value if isinstance(value, str) else None


def points_elsewhere(settings: Settings, stack: UpStack) -> bool:
    """True when the user set Kafka or Redis to somewhere other than the stack's."""
    set_here = settings.model_fields_set
    if "kafka_bootstrap_servers" in set_here and not _same_servers(
        settings.kafka_bootstrap_servers, stack.kafka_bootstrap_servers
    ):
        return True
    return (
        "redis_url" in set_here
        and stack.redis_url is not None
        and settings.redis_url_value != stack.redis_url
    )


def needs_redis_url(settings: Settings, stack: UpStack) -> bool:
    """True when the stack's Redis URL was left out of its file (it holds a password) and the
    user did not set one: without it a command would reach the default Redis."""
    return stack.redis_url is None and "redis_url" not in settings.model_fields_set


def fills(settings: Settings, stack: UpStack) -> dict[str, str]:
    """Setting -> value the stack gives, for each setting the user left unset (empty when the
    user points elsewhere, or must give the stack's Redis URL: `needs_redis_url`). The signing
    keys map to their files' paths, not their contents.
    """
    if points_elsewhere(settings, stack) or needs_redis_url(settings, stack):
        return {}
    set_here = settings.model_fields_set
    found: dict[str, str] = {}
    for field in (*LOCATION, "redis_key_prefix", "topic_prefix"):
        value = _stack_value(stack, field)
        if field not in set_here and value is not None:
            found[field] = value
    if not set_here & KEY_FILES.keys():
        for field, file_field in KEY_FILES.items():
            path = _stack_value(stack, file_field)
            if path is not None:
                found[field] = path
    return found


def _with_key_contents(found: dict[str, str]) -> dict[str, str]:
    """`found` with each key file's path replaced by its text; a key file that cannot be read
    drops both keys (a pair is taken whole)."""
    keys = {f: found[f] for f in KEY_FILES if f in found}
    rest = {f: v for f, v in found.items() if f not in KEY_FILES}
    try:
        return {**rest, **{f: Path(path).read_text() for f, path in keys.items()}}
    except OSError:
        return rest


def attach(
    settings: Settings,
    path: Path | None = None,
    *,
    own: tuple[int, ...] | None = None,
    say: Callable[[str], None] | None = None,
) -> tuple[Settings, UpStack | None]:
    """`settings` completed from the running `up` (and that stack), or unchanged and None: no
    `up` runs, it no longer answers, nothing was left unset, it is one of the processes `own`
    (default: this one and its parent, so `up` and its children never attach), or its Redis
    URL is needed (`needs_redis_url`: then `say` gets the one-line hint `redis_url_hint`).

    `settings` must come straight from `load_settings` (which settings are set is read from
    it); `path` defaults to each of `runtime_file.reader_paths()`. Raises ConfigError when
    what the stack gives is invalid.
    """
    stack = runtime_file.running(path)
    if stack is None or stack.pid in (own or (os.getpid(), os.getppid())):
        return settings, None
    if say is not None and needs_redis_url(settings, stack):
        if not points_elsewhere(settings, stack):
            say(redis_url_hint(stack))
        return settings, None
    found = _with_key_contents(fills(settings, stack))
    if not found:
        return settings, None
    return settings.with_overrides(**found), stack


def redis_url_hint(stack: UpStack) -> str:
    """The one line a command prints when it cannot use `stack` for want of its Redis URL."""
    return (
        f"`lazarus up` (pid {stack.pid}) runs, but its Redis URL holds a password, which its "
        f"runtime file leaves out: export {env_name('redis_url')} to use its stack"
    )


def describe(stack: UpStack) -> str:
    """The one line a command prints when it uses `stack`."""
    return (
        f"using the stack of `lazarus up` (pid {stack.pid}): Kafka {stack.kafka_bootstrap_servers}, "
        f"Redis keys {stack.redis_key_prefix}:*"
    )
