"""The runtime file of `lazarus up`, and the settings a command takes from it: a stale file is
ignored, a variable the user set wins, stacks are never mixed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from lazarus import runtime_file
from lazarus.attach import attach, fills
from lazarus.registry.signing import DEV_PRIVATE, DEV_PUBLIC, generate, missing_key_hint
from lazarus.runtime_file import UpStack
from lazarus.settings import Settings, load_settings


@pytest.fixture
def listener() -> Iterator[str]:
    """A port that accepts connections, as a running broker's does."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is neither this one nor its parent, standing for `up`."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait(10)


@pytest.fixture
def key_files(tmp_path: Path) -> tuple[Path, Path]:
    private, public = generate()
    paths = (tmp_path / DEV_PRIVATE, tmp_path / DEV_PUBLIC)
    paths[0].write_text(private)
    paths[1].write_text(public)
    return paths


REDIS = "redis://127.0.0.1:6379/0"
"""What a user exports for a stack whose Redis URL holds a password (`up_stack` has none)."""


def up_stack(pid: int, bootstrap: str, keys: tuple[Path, Path] | None = None) -> UpStack:
    """What `up` (process `pid`) writes; no Redis URL: there is no Redis to ask in a unit test."""
    return UpStack(
        pid=pid,
        pid_started=runtime_file.process_started(pid),
        started_at="2025-03-01T09:00:00Z",
        kafka_bootstrap_servers=bootstrap,
        redis_url=None,
        redis_key_prefix="lazarus:embedded",
        topic_prefix="",
        signing_private_key_file=str(keys[0]) if keys else None,
        signing_public_key_file=str(keys[1]) if keys else None,
    )


def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> None:
    for name in list(os.environ):
        if name.startswith("LAZARUS_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env


def test_the_file_round_trips_with_mode_0600_and_holds_no_secret(
    tmp_path: Path, key_files: tuple[Path, Path]
) -> None:
    s = Settings.model_construct(
        kafka_bootstrap_servers="127.0.0.1:9092",
        redis_url=SecretStr("redis://ana:hunter2@cache:6379/0"),
        redis_key_prefix="lazarus:embedded",
        topic_prefix="",
    )
    stack = UpStack.of(s, os.getpid(), key_files)
    path = runtime_file.write(stack, tmp_path / "lazarus" / "up.json")
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "hunter2" not in text and "BEGIN" not in text  # no password, no key: key FILES
    assert json.loads(text)["signing_private_key_file"] == str(key_files[0])
    assert runtime_file.read(path) == stack
    assert stack.redis_url is None


def test_a_garbled_or_foreign_file_is_no_stack(tmp_path: Path) -> None:
    path = tmp_path / "up.json"
    for text in ("{", "[]", '{"format": 99, "pid": 1}', '{"format": 1, "pid": 1}'):
        path.write_text(text)
        assert runtime_file.read(path) is None, text
    assert runtime_file.read(tmp_path / "absent.json") is None


def test_remove_takes_only_the_writers_file(tmp_path: Path) -> None:
    path = runtime_file.write(up_stack(4242, "127.0.0.1:9092"), tmp_path / "up.json")
    assert not runtime_file.remove(path, 4243) and path.exists()
    assert runtime_file.remove(path, 4242) and not path.exists()


def test_a_live_stack_is_found(
    tmp_path: Path, listener: str, other_process: subprocess.Popen[bytes]
) -> None:
    path = runtime_file.write(up_stack(other_process.pid, listener), tmp_path / "up.json")
    found = runtime_file.running(path)
    assert found is not None and found.pid == other_process.pid


def test_a_stale_file_is_ignored_when_up_died(
    tmp_path: Path, listener: str, other_process: subprocess.Popen[bytes]
) -> None:
    path = runtime_file.write(up_stack(other_process.pid, listener), tmp_path / "up.json")
    other_process.kill()
    other_process.wait(10)  # as after `kill -9` of up: the file stays behind
    assert path.exists() and runtime_file.running(path) is None


def test_a_stale_file_is_ignored_when_its_pid_was_reused(
    tmp_path: Path, listener: str, other_process: subprocess.Popen[bytes]
) -> None:
    stack = up_stack(other_process.pid, listener)
    assert stack.pid_started is not None  # Linux: /proc tells when a process started
    reused = replace(stack, pid_started=stack.pid_started - 1)
    assert runtime_file.running(runtime_file.write(reused, tmp_path / "up.json")) is None


def test_a_stale_file_is_ignored_when_the_broker_is_gone(
    tmp_path: Path, other_process: subprocess.Popen[bytes]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        gone = f"127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening: refused
        path = runtime_file.write(up_stack(other_process.pid, gone), tmp_path / "up.json")
        assert runtime_file.running(path) is None


def test_fills_only_what_the_user_left_unset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_files: tuple[Path, Path]
) -> None:
    stack = replace(up_stack(4242, "127.0.0.1:40123", key_files), redis_url="redis://h:1/0")
    clean_env(monkeypatch, tmp_path, LAZARUS_REDIS_KEY_PREFIX="mine")
    assert fills(load_settings(), stack) == {
        "kafka_bootstrap_servers": "127.0.0.1:40123",
        "redis_url": "redis://h:1/0",
        "topic_prefix": "",
        "signing_private_key": str(key_files[0]),
        "signing_public_key": str(key_files[1]),
    }  # the prefix the user set wins


def test_nothing_is_taken_when_the_user_points_at_another_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stack = replace(up_stack(4242, "127.0.0.1:40123"), redis_url="redis://h:1/0")
    clean_env(monkeypatch, tmp_path, LAZARUS_KAFKA_BOOTSTRAP_SERVERS="kafka-1:9092")
    assert fills(load_settings(), stack) == {}
    clean_env(monkeypatch, tmp_path, LAZARUS_REDIS_URL="redis://other:6379/0")
    assert fills(load_settings(), stack) == {}
    clean_env(monkeypatch, tmp_path, LAZARUS_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:40123")
    assert fills(load_settings(), stack)["redis_key_prefix"] == "lazarus:embedded"  # the same


def test_the_signing_pair_is_taken_whole_or_not_at_all(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_files: tuple[Path, Path]
) -> None:
    stack = replace(up_stack(4242, "127.0.0.1:40123", key_files), redis_url="redis://h:1/0")
    clean_env(monkeypatch, tmp_path, LAZARUS_SIGNING_PUBLIC_KEY=generate()[1])
    found = fills(load_settings(), stack)
    assert "signing_private_key" not in found and "signing_public_key" not in found


def test_attach_reads_the_key_files_and_the_env_wins(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    listener: str,
    other_process: subprocess.Popen[bytes],
    key_files: tuple[Path, Path],
) -> None:
    path = runtime_file.write(
        up_stack(other_process.pid, listener, key_files), tmp_path / "up.json"
    )
    clean_env(monkeypatch, tmp_path, LAZARUS_TOPIC_PREFIX="mine.", LAZARUS_REDIS_URL=REDIS)
    settings, stack = attach(load_settings(), path)
    assert stack is not None and stack.pid == other_process.pid
    assert settings.kafka_bootstrap_servers == listener
    assert settings.redis_key_prefix == "lazarus:embedded" and settings.topic_prefix == "mine."
    assert settings.signing_public_key == key_files[1].read_text()
    assert settings.signing_private_key is not None
    assert settings.signing_private_key.get_secret_value() == key_files[0].read_text()


def test_up_and_its_children_never_attach(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    listener: str,
    other_process: subprocess.Popen[bytes],
) -> None:
    path = runtime_file.write(up_stack(other_process.pid, listener), tmp_path / "up.json")
    clean_env(monkeypatch, tmp_path)
    plain = load_settings()
    assert attach(plain, path, own=(other_process.pid,)) == (plain, None)


def test_without_a_running_up_nothing_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env(monkeypatch, tmp_path)
    plain = load_settings()
    assert attach(plain, tmp_path / "up.json") == (plain, None)


def test_exports_name_the_key_files_never_the_keys(key_files: tuple[Path, Path]) -> None:
    lines = up_stack(4242, "127.0.0.1:40123", key_files).exports()
    assert lines[0] == "export LAZARUS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:40123"
    assert "export LAZARUS_REDIS_KEY_PREFIX=lazarus:embedded" in lines
    assert f'export LAZARUS_SIGNING_PRIVATE_KEY="$(cat {key_files[0]})"' in lines
    assert not any("BEGIN" in line for line in lines)


def test_a_missing_key_names_the_development_keys_file(key_files: tuple[Path, Path]) -> None:
    directory = key_files[0].parent
    assert str(key_files[1]) in missing_key_hint("signing_public_key", directory)
    assert str(key_files[0]) in missing_key_hint("signing_private_key", directory)
    assert "lazarus keys generate" in missing_key_hint("signing_public_key", directory / "none")


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_")}
    full.update(XDG_RUNTIME_DIR=str(tmp_path / "run"), **env)
    return subprocess.run(
        [sys.executable, "-m", "lazarus", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full,
        cwd=tmp_path,
    )


def test_a_command_says_it_uses_the_stack_on_stderr_only(
    tmp_path: Path, listener: str, other_process: subprocess.Popen[bytes]
) -> None:
    runtime_file.write(
        up_stack(other_process.pid, listener), tmp_path / "run" / "lazarus" / "up.json"
    )
    result = run_cli(
        tmp_path, "config", "show", "--json", LAZARUS_TOPIC_PREFIX="mine.", LAZARUS_REDIS_URL=REDIS
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)  # stdout stays JSON
    assert shown["LAZARUS_KAFKA_BOOTSTRAP_SERVERS"] == listener
    assert shown["LAZARUS_REDIS_KEY_PREFIX"] == "lazarus:embedded"
    assert shown["LAZARUS_TOPIC_PREFIX"] == "mine."  # set here: wins
    assert result.stderr.count("\n") == 1
    assert f"using the stack of `lazarus up` (pid {other_process.pid})" in result.stderr

    other_process.kill()
    other_process.wait(10)
    stale = run_cli(tmp_path, "config", "show", "--json")
    assert stale.returncode == 0 and "using the stack" not in stale.stderr
    assert json.loads(stale.stdout)["LAZARUS_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"


def test_a_reader_looks_in_the_runtime_and_the_config_directory(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    listener: str,
    other_process: subprocess.Popen[bytes],
) -> None:
    """`up` in a terminal without XDG_RUNTIME_DIR writes to ~/.config; one with it, there:
    a reader in the other kind of terminal finds it all the same."""
    run, config = tmp_path / "run", tmp_path / "config"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    assert runtime_file.reader_paths() == [run / "lazarus/up.json", config / "lazarus/up.json"]
    assert runtime_file.running() is None
    written = runtime_file.write(
        up_stack(other_process.pid, listener),
        runtime_file.runtime_path({"XDG_CONFIG_HOME": str(config)}),
    )
    assert written == config / "lazarus" / "up.json"
    found = runtime_file.running()  # this reader's runtime directory holds no file
    assert found is not None and found.pid == other_process.pid
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert runtime_file.reader_paths()[0] == Path(f"/run/user/{os.getuid()}/lazarus/up.json")


def test_without_its_redis_url_a_stack_is_not_used_and_the_hint_says_what_to_export(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    listener: str,
    other_process: subprocess.Popen[bytes],
) -> None:
    """`up`'s Redis URL holds a password, so its file has none: taking its Kafka and key prefix
    alone would send a command to the default Redis under `up`'s prefix."""
    path = runtime_file.write(up_stack(other_process.pid, listener), tmp_path / "up.json")
    clean_env(monkeypatch, tmp_path)
    plain, said = load_settings(), list[str]()
    assert attach(plain, path, say=said.append) == (plain, None)
    assert said == [
        f"`lazarus up` (pid {other_process.pid}) runs, but its Redis URL holds a password, "
        "which its runtime file leaves out: export LAZARUS_REDIS_URL to use its stack"
    ]
    clean_env(monkeypatch, tmp_path, LAZARUS_REDIS_URL=REDIS)
    settings, stack = attach(load_settings(), path, say=said.append)
    assert stack is not None and len(said) == 1
    assert (settings.kafka_bootstrap_servers, settings.redis_key_prefix) == (
        listener,
        "lazarus:embedded",
    )
    clean_env(monkeypatch, tmp_path, LAZARUS_KAFKA_BOOTSTRAP_SERVERS="kafka-1:9092")
    assert attach(load_settings(), path, say=said.append)[1] is None and len(said) == 1


def test_up_goes_on_with_a_warning_when_it_cannot_write_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from rich.console import Console

    from lazarus.cli.context import CliContext
    from lazarus.cli.stack_cmds import _publish

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # as a read-only home: the directory cannot be made
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(blocker))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    cli = CliContext(err=Console(record=True, width=500))
    assert _publish(cli, up_stack(os.getpid(), "127.0.0.1:9092")) is None
    lines = cli.err.export_text().splitlines()
    assert lines[0].startswith(f"warning: cannot write {blocker}") and "going on" in lines[0]
    assert lines[1] == "  export LAZARUS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092"
