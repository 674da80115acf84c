"""The runtime file of `lazarus up`: where its stack runs, for commands in other terminals.

`up` writes it once its broker and Redis answer and removes it when it exits. A command in
another terminal of the same user reads it (`lazarus.attach`) and fills in the settings its
user did not set. After a `kill -9` of `up` the file stays behind: a reader uses it only while
`up`'s process lives (the same process, not a reused pid) and its broker and Redis answer.

Where: ``$XDG_RUNTIME_DIR/lazarus/up.json``, else ``$XDG_CONFIG_HOME/lazarus/up.json``
(``~/.config/lazarus/up.json``). A reader looks in both places, so a terminal without
``XDG_RUNTIME_DIR`` (after ``su``, over ``ssh``, in some ``tmux``) finds an `up` started in one
with it: there it takes ``/run/user/<uid>``, the directory systemd sets it to. Mode 0600. It never holds a secret: a Redis URL with a
password is left out, and the signing keys are named by their files. The shape (JSON)::

    {"format": 1, "pid": 4242, "pid_started": 9137565, "started_at": "2025-03-01T09:00:00Z",
     "kafka_bootstrap_servers": "127.0.0.1:9092", "redis_url": "redis://127.0.0.1:6379/0",
     "redis_key_prefix": "lazarus:embedded", "topic_prefix": "",
     "signing_private_key_file": "/home/ana/.config/lazarus/dev-signing.key",
     "signing_public_key_file": "/home/ana/.config/lazarus/dev-signing.pub"}

`pid_started` is the process's start time in clock ticks since boot (Linux ``/proc``; null
elsewhere); the two key files are null when `up` signs with keys set in the environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from lazarus import redisconn
from lazarus.settings import Settings, env_name, redact_url

FORMAT = 1
FILE_NAME = "up.json"
PROBE_TIMEOUT_S = 0.5
"""How long a reader waits for the broker's port and Redis's PING before it calls them gone."""


@dataclass(frozen=True)
class UpStack:
    """What one running `lazarus up` uses: the contents of its runtime file."""

    pid: int
    pid_started: int | None
    started_at: str
    kafka_bootstrap_servers: str
    redis_url: str | None
    """None when the URL holds a password (a secret is never written)."""
    redis_key_prefix: str
    topic_prefix: str
    signing_private_key_file: str | None
    signing_public_key_file: str | None

    @classmethod
    def of(cls, settings: Settings, pid: int, key_files: tuple[Path, Path] | None) -> UpStack:
        """The stack `settings` point at, run by process `pid`, signing with `key_files`
        (private, public) or with keys set in the environment (None)."""
        url = settings.redis_url_value
        return cls(
            pid=pid,
            pid_started=process_started(pid),
            started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
            redis_url=None if redact_url(url) != url else url,
            redis_key_prefix=settings.redis_key_prefix,
            topic_prefix=settings.topic_prefix,
            signing_private_key_file=str(key_files[0]) if key_files else None,
            signing_public_key_file=str(key_files[1]) if key_files else None,
        )

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> UpStack | None:
        """The stack a file describes, or None for a file of another format or garbled.

        >>> UpStack.from_json('{"format": 1, "pid": "x"}') is None
        True
        """
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.pop("format", None) != FORMAT:
                return None
            stack = cls(**{f.name: data[f.name] for f in fields(cls)})
        except (ValueError, KeyError, TypeError):
            return None
        return stack if isinstance(stack.pid, int) and stack.pid > 0 else None

    def exports(self) -> list[str]:
        """Shell lines that point other tools at this stack (key files read by `cat`)."""
        lines = [f"export {env_name('kafka_bootstrap_servers')}={self.kafka_bootstrap_servers}"]
        if self.redis_url is not None:
            lines.append(f"export {env_name('redis_url')}={shlex.quote(self.redis_url)}")
        lines.append(f"export {env_name('redis_key_prefix')}={shlex.quote(self.redis_key_prefix)}")
        if self.topic_prefix:
            lines.append(f"export {env_name('topic_prefix')}={shlex.quote(self.topic_prefix)}")
        for field, path in (
            ("signing_public_key", self.signing_public_key_file),
            ("signing_private_key", self.signing_private_key_file),
        ):
            if path is not None:
                lines.append(f'export {env_name(field)}="$(cat {shlex.quote(path)})"')
        return lines


def runtime_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where `up` writes its runtime file for this user.

    >>> runtime_path({"XDG_RUNTIME_DIR": "/run/user/1000"})
    PosixPath('/run/user/1000/lazarus/up.json')
    >>> runtime_path({"XDG_CONFIG_HOME": "/home/ana/.config"})
    PosixPath('/home/ana/.config/lazarus/up.json')
    """
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "lazarus" / FILE_NAME
    config = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "lazarus" / FILE_NAME


def reader_paths(environ: Mapping[str, str] = os.environ, uid: int | None = None) -> list[Path]:
    """Where a reader looks for the runtime file, in order: the user's runtime directory
    (``$XDG_RUNTIME_DIR``, else ``/run/user/<uid>``), then the config directory. `up` writes
    to one of them (`runtime_path`), whichever its own terminal's environment chose.

    >>> reader_paths({"XDG_CONFIG_HOME": "/home/ana/.config"}, uid=1000)
    [PosixPath('/run/user/1000/lazarus/up.json'), PosixPath('/home/ana/.config/lazarus/up.json')]
    """
    runtime = environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid() if uid is None else uid}"
    config = runtime_path({k: v for k, v in environ.items() if k != "XDG_RUNTIME_DIR"})
    return [Path(runtime) / "lazarus" / FILE_NAME, config]


def write(stack: UpStack, path: Path | None = None) -> Path:
    """Write `stack` to `path` (default `runtime_path()`, mode 0600), atomically: a reader sees
    the old file or the new one. Returns the path."""
    path = path or runtime_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{stack.pid}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(stack.to_json())
    os.replace(temporary, path)
    return path


def read(path: Path) -> UpStack | None:
    """The stack `path` describes, or None (no file, unreadable, garbled)."""
    try:
        return UpStack.from_json(path.read_text())
    except (OSError, UnicodeDecodeError):
        return None


def remove(path: Path, pid: int) -> bool:
    """Remove `path` if process `pid` wrote it (another `up` may have written it since)."""
    stack = read(path)
    if stack is None or stack.pid != pid:
        return False
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return True


def start_ticks(stat: str) -> int | None:
    """A process's start time (clock ticks after boot) from its ``/proc/<pid>/stat`` line.

    The command name (field 2) may hold spaces and parentheses, so fields are counted from
    the last ``)``; the start time is field 22.

    >>> start_ticks("42 (lazarus (up)) S 1 42 42 0 -1 4194560 1 0 0 0 3 1 0 0 20 0 9 0 777 0")
    777
    >>> start_ticks("garbled") is None
    True
    """
    rest = stat.rpartition(")")[2].split()
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return None


def process_started(pid: int) -> int | None:
    """When process `pid` started (clock ticks after boot), or None where /proc has no answer."""
    try:
        return start_ticks(Path(f"/proc/{pid}/stat").read_text())
    except OSError:
        return None


def is_running(stack: UpStack) -> bool:
    """True while the process that wrote `stack` lives (a pid reused since does not count)."""
    try:
        os.kill(stack.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, but not ours to signal
    started = process_started(stack.pid)
    return stack.pid_started is None or started is None or started == stack.pid_started


def answers(stack: UpStack, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when the stack's broker accepts a connection and its Redis answers PING."""
    if stack.redis_url is not None and not redisconn.answers(stack.redis_url, timeout):
        return False
    return any(_accepts(server, timeout) for server in stack.kafka_bootstrap_servers.split(","))


def _accepts(server: str, timeout: float) -> bool:
    address = server.strip().split("://", 1)[-1]
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return False
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout):
            return True
    except OSError:
        return False


def running(path: Path | None = None) -> UpStack | None:
    """The stack of the `up` that wrote `path` (default: the first of `reader_paths()` whose
    `up` still runs and answers), if it still runs and answers; else None."""
    for candidate in [path] if path else reader_paths():
        stack = read(candidate)
        if stack is not None and is_running(stack) and answers(stack):
            return stack
    return None
