"""The shapes of the CLI's `--json` outputs: typed values, valid schemas, the docs page in step.
Real outputs against the schemas: tests/integration/test_json_outputs.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from lazarus.cli.json_schemas import cli_schema, file_name, outputs, shapes_markdown
from lazarus.cli.json_shapes import HistoryEntry, RoleStatus, StatusReport
from lazarus.cli.main import cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli-json.md"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "lazarus", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full,
    )


@pytest.mark.parametrize("command", list(outputs()))
def test_every_schema_is_valid_draft_2020_12(command: str) -> None:
    schema = cli_schema(command)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == f"lazarus {command} --json"


def test_docs_page_is_generated_from_the_shapes() -> None:
    assert DOCS.read_text() == shapes_markdown(), (
        "docs/cli-json.md is stale: python -m lazarus.cli.json_schemas > docs/cli-json.md"
    )


def test_schemas_export_writes_the_cli_schemas_beside_the_events(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schemas", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert written == sorted(file_name(c) for c in outputs())
    status = json.loads((tmp_path / "cli" / file_name("status")).read_text())
    assert status == cli_schema("status")


def test_heartbeat_text_becomes_numbers_and_utc_times() -> None:
    beat = {
        "role": "scorer:habitat",
        "instance": "h-12",
        "state": "running",
        "model_version": "7",
        "events_in": "1149",
        "events_out": "",
        "outcomes_out": None,
        "scored": "1149.0",
        "dead_lettered": "0",
        "refused": "",
        "metrics_url": "",
        "updated_at": "1700000000.25",
        "unjoined_expired": None,
        "unjoined_evicted": None,
        "unjoined_unmatched": None,
        "waiting_outcomes": None,
    }
    shown = json.loads(RoleStatus.model_validate(beat).model_dump_json())
    assert shown["model_version"] == 7 and shown["events_in"] == 1149 and shown["scored"] == 1149
    assert shown["events_out"] is None and shown["metrics_url"] is None
    assert shown["updated_at"] == "2023-11-14T22:13:20.250000Z"
    with pytest.raises(ValidationError, match="unknown_field"):
        RoleStatus.model_validate({**beat, "unknown_field": "1"})
    with pytest.raises(ValidationError, match="events_in"):
        RoleStatus.model_validate({**beat, "events_in": "12.5"})


def test_an_audit_entry_has_integer_versions_and_no_previous_before_the_first() -> None:
    entry = {
        "id": "1-0",
        "action": "publish",
        "version": "1",
        "previous": "0",
        "reason": "trainer published",
        "actor": "trainer",
        "at": "1700000000",
    }
    shown = json.loads(HistoryEntry.of(entry).model_dump_json())
    assert (shown["version"], shown["previous"], shown["at"]) == (1, None, "2023-11-14T22:13:20Z")
    assert HistoryEntry.of({**entry, "previous": "3"}).previous == 3


def test_status_without_services_matches_its_schema() -> None:
    result = run(
        "status",
        "--json",
        env={
            "LAZARUS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "LAZARUS_REDIS_URL": "redis://127.0.0.1:1/0",
        },
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, cli_schema("status"))
    assert data["at"].endswith("Z") and data["dead_letters"] is None
    assert StatusReport.model_validate(data).ok is False


def test_config_show_json_keys_are_the_variables_typed_and_masked() -> None:
    result = run(
        "config",
        "show",
        "--json",
        env={
            "LAZARUS_KAFKA_SASL_PASSWORD": "hunter2",
            "LAZARUS_REDIS_URL": "redis://me:hunter3@db:6379/0",
            "LAZARUS_TOPIC_PARTITIONS": "6",
            "LAZARUS_EMBEDDED": "false",
            "LAZARUS_KAFKA_OPTIONS": '{"linger.ms": 5, "sasl.oauthbearer.client.secret": "s3"}',
        },
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(data, cli_schema("config show"))
    assert all(key.startswith("LAZARUS_") for key in data)
    assert data["LAZARUS_TOPIC_PARTITIONS"] == 6 and data["LAZARUS_EMBEDDED"] is False
    assert data["LAZARUS_KAFKA_SASL_PASSWORD"] == "**********"
    assert data["LAZARUS_REDIS_URL"] == "redis://me:***@db:6379/0"
    assert data["LAZARUS_KAFKA_OPTIONS"]["linger.ms"] == 5
    assert not any(secret in result.stdout for secret in ("hunter2", "hunter3", 's3"'))
