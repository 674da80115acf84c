"""Served-prediction quality, as the quality monitor stores it in Redis.

Layout (`lazarus.registry.keys.quality_key`): hash ``{prefix}:quality:{model}``, field ``v{N}``
-> one version's `VersionQuality` as JSON, and field ``all`` -> the model's `ModelQuality`,
over every version.

A served score counts toward served quality only if the version that served it had not yet
learned its input event: that version's `trained_through` (the next offset to read) on the
event's partition is at most the event's offset. The other scores are counted, not judged:

- `learned_before_served`: the version had already read the event, so its score is not a
  prediction (the backlog a scorer works through when it starts after the first snapshot);
- `position_unknown`: the trainer's record does not say where the event was (a trainer from
  before the records carried `input_offset`): it cannot be told honest, so it is not counted so.

`n` is the number of honest scores: every metric in `served` and `prequential` is over them.
`served` is the metric of the scores the version actually published, `prequential` the
trainer's own test-then-train metric on exactly those events, and `served_worse_by` the
decoupling cost: how much worse the served scores are than the always-current model, in the
metric's own unit, positive when serving a snapshot loses (for every metric: prequential -
served when a bigger value is better, as for Accuracy; served - prequential when a smaller one
is, as for LogLoss or MAE). None where a figure is not known (no honest score yet).

Rows written by a monitor from before this format (no `learned_before_served`) counted leaked
scores as served: `read_quality` leaves them out, and the monitor rewrites every version it
finds in the topics when it starts.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict, cast

import redis

from lazarus.registry.keys import quality_key

OVERALL_FIELD = "all"
"""The hash field of the model's figure over every version."""
_FORMAT_KEY = "learned_before_served"
"""A key only rows of this format have."""


class Figures(TypedDict):
    """Served against prequential on the same `n` honest scores; metric name -> value."""

    n: int
    served: dict[str, float | None]
    prequential: dict[str, float | None]
    served_worse_by: dict[str, float | None]


class Report(Figures):
    """Figures, with the scores that could not count toward them."""

    learned_before_served: int
    position_unknown: int
    updated_at: float
    """Epoch seconds."""


class VersionQuality(Report):
    """One served version; `segments`: "field=value" -> the figures of that segment."""

    version: int
    segments: dict[str, Figures]


class ModelQuality(Report):
    """The model over every version: one metric fed every honest score, so each version
    weighs by its number of honest scores. `versions`: those that served any."""

    versions: list[int]


def write_quality(
    client: redis.Redis,
    prefix: str,
    model: str,
    rows: list[VersionQuality],
    overall: ModelQuality | None = None,
) -> None:
    """Store each version's row (replacing that version's older row) and the model's figure."""
    mapping: dict[Any, str] = {f"v{r['version']}": json.dumps(r, sort_keys=True) for r in rows}
    if overall is not None:
        mapping[OVERALL_FIELD] = json.dumps(overall, sort_keys=True)
    if mapping:
        client.hset(quality_key(prefix, model), mapping=mapping)


def read_quality(client: redis.Redis, prefix: str, model: str) -> list[VersionQuality]:
    """Every version's served-quality row, oldest version first ([] when none yet)."""
    raw = client.hgetall(quality_key(prefix, model))
    rows = [_current(v) for k, v in raw.items() if _name(k) != OVERALL_FIELD]
    return sorted(
        (cast(VersionQuality, r) for r in rows if r is not None), key=lambda r: int(r["version"])
    )


def read_overall(client: redis.Redis, prefix: str, model: str) -> ModelQuality | None:
    """The model's served quality over every version (None when not measured yet)."""
    raw = client.hget(quality_key(prefix, model), OVERALL_FIELD)
    row = _current(raw) if raw is not None else None
    return cast(ModelQuality, row) if row is not None else None


def _name(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


def _current(raw: Any) -> dict[str, Any] | None:
    """A stored row of this format, or None for an older one."""
    row: dict[str, Any] = json.loads(raw)
    return row if _FORMAT_KEY in row else None
