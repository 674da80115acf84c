"""Served-prediction quality per model version, as the quality monitor stores it in Redis.

Layout (`lazarus.registry.keys.quality_key`): hash ``{prefix}:quality:{model}``, field ``v{N}`` -> JSON:

    {"version": N, "n": events with a served score and a label,
     "served": {metric: value}, "prequential": {metric: value},
     "cost": {metric: served - prequential},
     "segments": {segment: {"n", "served", "prequential"}}, "updated_at": epoch seconds}

`served` is the metric of the scores actually published by version N; `prequential`
is the trainer's own test-then-train metric on exactly the same events; `cost`, their
difference, is the decoupling cost: what serving a snapshot (instead of the live
model) loses.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from lazarus.registry.keys import quality_key


def write_quality(client: redis.Redis, prefix: str, model: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        client.hset(
            quality_key(prefix, model),
            mapping={f"v{r['version']}": json.dumps(r, sort_keys=True) for r in rows},
        )


def read_quality(client: redis.Redis, prefix: str, model: str) -> list[dict[str, Any]]:
    """Every version's served-quality row, oldest version first ([] when none yet)."""
    raw = client.hgetall(quality_key(prefix, model))
    rows = [json.loads(v) for v in raw.values()]
    return sorted(rows, key=lambda r: int(r["version"]))
