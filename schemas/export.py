"""JSON Schema export, one file per event, for consumers in other languages."""

from __future__ import annotations

import json
from pathlib import Path

from lazarus.schemas.topics import ALL_TOPICS


def export_json_schemas(directory: Path) -> list[Path]:
    """Write `<Event>.v<N>.schema.json` for every declared event, older shapes a topic still
    holds included (`Topic.also`); returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: set[type] = set()
    for topic in ALL_TOPICS:
        for event in (topic.event, *topic.also):
            if event in seen:
                continue
            seen.add(event)
            version = event.model_fields["schema_version"].default
            schema = event.model_json_schema(mode="serialization")
            schema["$id"] = f"urn:lazarus:{event.__name__}:v{version}"
            schema["x-topics"] = [t.name for t in ALL_TOPICS if event in (t.event, *t.also)]
            schema["x-key-field"] = event.KEY_FIELD
            path = directory / f"{event.__name__}.v{version}.schema.json"
            path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
            written.append(path)
    return written
