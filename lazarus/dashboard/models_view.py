"""Models as the dashboard shows them: pointers, staleness, who serves which version, the
timeline of moves of `current` (and of the lifecycle's: promotions, rollbacks, drifts, with
their evidence), and per version the trainer's prequential metrics beside the served ones (on
honest scores only: `lazarus.quality_store`), with the model's served quality over all
versions, and the model's lifecycle (`lazarus.lifecycle_view`). Pure: the sampler in `state`
reads the registry, the lineup and the quality store."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lazarus.dashboard.roles_view import integer
from lazarus.lifecycle_text import evidence_text
from lazarus.metric_text import learned
from lazarus.rates import number
from lazarus.schemas.per_key import split_shard

if TYPE_CHECKING:
    from lazarus.schemas.manifest import SnapshotManifest

TIMELINE_EVENTS = 20
"""Moves of `current` shown per model."""
NO_QUALITY = "no served outcomes yet"


@dataclass(frozen=True)
class VersionInfo:
    """What the dashboard needs from a version's manifest."""

    version: int
    created_at: float
    n_learned: int
    metrics: dict[str, float | None]
    rolling_metrics: dict[str, float | None]


def version_info(manifest: SnapshotManifest) -> VersionInfo:
    """The summary of one manifest (`created_at` as epoch s)."""
    return VersionInfo(
        manifest.version,
        manifest.created_at.timestamp(),
        manifest.n_learned,
        dict(manifest.metrics),
        dict(manifest.rolling_metrics),
    )


def timeline_entry(entry: Mapping[str, str]) -> dict[str, Any]:
    """An audit-stream entry as the page shows it: a move of `current` (publish, promote,
    rollback), or the lifecycle's (`line`: the line promoted, rolled back to or drifted;
    `previous_line`: the champion line before; `evidence`: what an automatic action rests on, in
    one line; None for the others)."""
    previous = entry.get("previous") or ""
    return {
        "at": number(entry.get("at")),
        "action": entry.get("action", "?"),
        "version": integer(entry.get("version")),
        "previous": integer(previous) or None,
        "reason": entry.get("reason", ""),
        "actor": entry.get("actor", ""),
        "line": entry.get("line") or None,
        "previous_line": previous if previous and integer(previous) is None else None,
        "evidence": _evidence(entry.get("evidence")),
    }


def _evidence(text: str | None) -> str | None:
    """An audit entry's evidence (JSON text) in one line; None when it has none."""
    try:
        evidence = json.loads(text) if text else None
    except ValueError:
        return None
    return evidence_text(evidence) if isinstance(evidence, dict) and evidence else None


@dataclass(frozen=True)
class Pointers:
    """A model's registry pointers: `current` served, `latest` published, `pinned` by an operator."""

    current: int | None
    latest: int
    pinned: int | None


def version_row(
    v: int,
    pointers: Pointers,
    stored: bool,
    info: VersionInfo | None,
    quality: Mapping[str, Any] | None,
    scorers: int,
) -> dict[str, Any]:
    """One version's row: its manifest summary, the quality monitor's row (`n` honest scores,
    `served`, `prequential`, `served_worse_by`, and the scores not judged; None when not
    measured) and how many scorers serve it."""
    q = quality or {}
    return {
        "version": v,
        "stored": stored,
        "current": v == pointers.current,
        "latest": v == pointers.latest,
        "pinned": v == pointers.pinned,
        "created_at": info.created_at if info else None,
        "n_learned": info.n_learned if info else None,
        # nothing learned: nothing measured (null, "–" on the page), not river's 0.0
        "prequential": learned(info.metrics, info.n_learned) if info else {},
        "rolling": learned(info.rolling_metrics, info.n_learned) if info else {},
        "served_n": int(q.get("n") or 0),
        "served": dict(q.get("served") or {}),
        "served_prequential": dict(q.get("prequential") or {}),
        "served_worse_by": dict(q.get("served_worse_by") or {}),
        "learned_before_served": int(q.get("learned_before_served") or 0),
        "position_unknown": int(q.get("position_unknown") or 0),
        "scorers": scorers,
    }


def scorers_of(model: str, roles: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The scorers serving registry name `model`, each with the version it serves of it: a
    model's own scorers, or for a per-key model's shard `M.shardP` the scorers of M that serve
    partition P (`served_shards`)."""
    shard = split_shard(model)
    if shard is None:
        return [r for r in roles if r["role"] == f"scorer:{model}"]
    base, partition = shard
    return [
        {**r, "model_version": r.get("served_shards", {}).get(partition)}
        for r in roles
        if r["role"] == f"scorer:{base}" and partition in r.get("served_shards", {})
    ]


def model_view(
    model: str,
    *,
    current: int | None,
    latest: int,
    pinned: int | None,
    versions: Sequence[int],
    infos: Mapping[int, VersionInfo | None],
    history: Sequence[Mapping[str, str]],
    quality: Sequence[Mapping[str, Any]],
    roles: Sequence[Mapping[str, Any]],
    now: float,
    overall: Mapping[str, Any] | None = None,
    line_of: str | None = None,
    lifecycle: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One model: its pointers, staleness, who serves what, the timeline of moves of `current`
    (newest first), per version (newest first) the trainer's prequential metrics beside the
    served metrics and how much worse they are, and `overall`, the quality monitor's figure over
    all versions (`lazarus.quality_store.ModelQuality`), when it has measured them; `line_of`:
    the model this registry name is a line of, else `lifecycle`, its lifecycle
    (`lazarus.lifecycle_view.lifecycle`)."""
    pointers = Pointers(current, latest, pinned)
    scorers = scorers_of(model, roles)
    serving = Counter(r["model_version"] for r in scorers if r["model_version"] is not None)
    by_version = {int(q["version"]): q for q in quality}
    shown = set(versions) | set(by_version) | ({current} if current else set())
    rows = [
        version_row(v, pointers, v in versions, infos.get(v), by_version.get(v), serving.get(v, 0))
        for v in sorted(shown, reverse=True)
    ]
    names = {name for row in rows for name in (*row["prequential"], *row["served"])}
    info = infos.get(current) if current else None
    return {
        "model": model,
        "current": current,
        "latest": latest,
        "pinned": pinned,
        "created_at": info.created_at if info else None,
        "staleness_s": max(0.0, now - info.created_at) if info else None,
        "served_by": [
            {"instance": r["instance"], "version": r["model_version"], "state": r["state"]}
            for r in scorers
        ],
        "timeline": [timeline_entry(h) for h in history[:TIMELINE_EVENTS]],
        "metrics": sorted(names),
        "versions": rows,
        "served_overall": dict(overall) if overall else None,
        "quality_note": None if by_version else NO_QUALITY,
        "line_of": line_of,
        "lifecycle": dict(lifecycle) if lifecycle else None,
    }
