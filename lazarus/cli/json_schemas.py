"""JSON Schemas of the CLI's `--json` outputs, and the reference page generated from them.

`lazarus schemas export DIR` writes `DIR/cli/lazarus-<command>.schema.json` (draft 2020-12)
for every command of `OUTPUTS`; docs/cli-json.md is `shapes_markdown()`, regenerated with
`python -m lazarus.cli.json_schemas > docs/cli-json.md` (a unit test compares them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lazarus.cli import json_shapes as shapes
from lazarus.cli.json_gate import GateReport
from lazarus.cli.json_genomes import SummarizeReport

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def outputs() -> dict[str, type[BaseModel]]:
    """Command (as typed after `lazarus`) -> the shape of its `--json` output."""
    return {
        "status": shapes.StatusReport,
        "models list": shapes.ModelList,
        "models show": shapes.ModelDetail,
        "models history": shapes.History,
        "models verify": shapes.VerifyReport,
        "models gate": GateReport,
        "lag": shapes.LagReport,
        "dlq inspect": shapes.DeadLetterReport,
        "dlq replay": shapes.ReplayReport,
        "topics list": shapes.TopicList,
        "config show": shapes.config_shape(),
        "genomes summarize": SummarizeReport,
    }


def file_name(command: str) -> str:
    """The schema file of a command's output.

    >>> file_name("models history")
    'lazarus-models-history.schema.json'
    """
    return f"lazarus-{command.replace(' ', '-')}.schema.json"


def cli_schema(command: str) -> dict[str, Any]:
    """The JSON Schema of `lazarus COMMAND --json`. Validation mode: it describes the printed
    JSON as a reader checks it (the manifest's own serializer hides its fields otherwise)."""
    schema = outputs()[command].model_json_schema(mode="validation")
    return {
        "$schema": DRAFT,
        "$id": f"urn:lazarus:cli:{command.replace(' ', '-')}",
        **schema,
        "title": f"lazarus {command} --json",
    }


def export_cli_schemas(directory: Path) -> list[Path]:
    """Write one schema file per command into `directory`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for command in outputs():
        path = directory / file_name(command)
        path.write_text(json.dumps(cli_schema(command), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def type_text(node: dict[str, Any]) -> str:
    """A schema node as a reader would say it.

    >>> type_text({"anyOf": [{"type": "integer"}, {"type": "null"}]})
    'integer or null'
    >>> type_text({"type": "array", "items": {"$ref": "#/$defs/GroupLag"}})
    'array of GroupLag'
    >>> type_text({"type": "string", "format": "date-time"})
    'time (ISO 8601 UTC)'
    """
    if "$ref" in node:
        return str(node["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in node:
        return " or ".join(type_text(n) for n in node["anyOf"])
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    kind = node.get("type", "any")
    if kind == "array":
        return f"array of {type_text(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"object of {type_text(node['additionalProperties'])}"
    if node.get("format") == "date-time":
        return "time (ISO 8601 UTC)"
    return str(kind)


def _table(name: str, node: dict[str, Any]) -> list[str]:
    lines = [f"#### {name}", ""]
    if node.get("description"):
        lines += [" ".join(str(node["description"]).split()), ""]
    required = set(node.get("required", []))
    lines += ["| key | type | about |", "|---|---|---|"]
    for key, field in node.get("properties", {}).items():
        about = " ".join(str(field.get("description", "")).split()).replace("|", "\\|")
        kind = type_text(field) + ("" if key in required else ", optional")
        lines.append(f"| `{key}` | {kind} | {about} |")
    return [*lines, ""]


def shapes_markdown() -> str:
    """docs/cli-json.md: each command's output, then every object it holds, as tables."""
    lines = [
        "# JSON output of the CLI",
        "",
        "Generated from `lazarus/cli/json_shapes.py` by "
        "`python -m lazarus.cli.json_schemas > docs/cli-json.md`; do not edit by hand.",
        "Numbers are JSON numbers; times are ISO 8601 strings in UTC "
        "(`2026-05-01T12:00:00.250000Z`). `lazarus schemas export DIR` writes each shape's "
        "JSON Schema to `DIR/cli/`.",
        "",
    ]
    shown: dict[str, str] = {}
    for command in outputs():
        schema = cli_schema(command)
        lines += [f"## `lazarus {command} --json`", ""]
        if schema.get("type") == "array":
            about = " ".join(str(schema.get("description", "")).split())
            lines += [about, "", f"An {type_text(schema)}.", ""]
        else:
            lines += _table("top level", schema)
        for name, node in schema.get("$defs", {}).items():
            if name in shown:
                lines += [f"#### {name}", "", f"As in `lazarus {shown[name]} --json`.", ""]
                continue
            shown[name] = command
            lines += _table(name, node)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(shapes_markdown())
