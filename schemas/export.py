"""JSON Schema export, one file per event, for consumers in other languages."""

from __future__ import annotations

import json
from pathlib import Path

from lazarus.schemas.topics import ALL_TOPICS


def export_json_schemas(directory: Path) -> list[Path]:
    """Write `<Event>.v<N>.schema.json` for every declared event; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: set[type] = set()
    for topic in ALL_TOPICS:
        if topic.event in seen:
            continue
        seen.add(topic.event)
        schema = topic.event.model_json_schema(mode="serialization")
        schema["$id"] = (
            f"urn:lazarus:{topic.event.__name__}:v{topic.event.model_fields['schema_version'].default}"
        )
        schema["x-topics"] = [t.name for t in ALL_TOPICS if t.event is topic.event]
        schema["x-key-field"] = topic.key_field
        version = topic.event.model_fields["schema_version"].default
        path = directory / f"{topic.event.__name__}.v{version}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
