"""How `lazarus models list|show|history` draw for people (rich tables); `--json` skips this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table

from lazarus.cli.reach_render import reach_cell
from lazarus.metric_text import learned, metric_text

if TYPE_CHECKING:
    from rich.console import Console

    from lazarus.quality_store import ModelQuality, Report, VersionQuality
    from lazarus.schemas.manifest import SnapshotManifest


def fmt(value: float | None) -> str:
    """A metric value to four decimals, `–` when unknown (`lazarus.metric_text`)."""
    return metric_text(value)


def models_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """`models list` rows (`model`, `current`, `latest`, `kept`, `oldest_kept`,
    `oldest_kept_age_s`, `n_learned`, `created_at`)."""
    table = Table("model", "current", "latest", "kept", "reach", "learned", "created")
    for r in rows:
        table.add_row(
            r["model"],
            "none yet" if r["current"] is None else str(r["current"]),
            str(r["latest"]),
            str(r["kept"]),
            reach_cell(r),
            str(r["n_learned"]),
            str(r["created_at"]),
        )
    return table


def print_manifest(
    c: Console,
    m: SnapshotManifest,
    model: str,
    current: int | None,
    served: VersionQuality | None,
    overall: ModelQuality | None = None,
) -> None:
    """`models show`: the manifest `m`, whether scorers serve it (`current` is the served
    version, None before any), its metrics, the served quality of this version and of the
    model over all versions (None: not judged yet), and the per-segment metrics."""
    c.print(
        f"[bold]{m.model} v{m.version}[/bold]  created {m.created_at.isoformat()}  "
        f"learned {m.n_learned:,}  pipeline {m.pipeline}",
        highlight=False,
    )
    if current is None:
        c.print(
            f"not served: no version of {model} is current yet (none has learned the model's "
            "min_learned events); scorers wait",
            highlight=False,
        )
    elif m.version != current:
        c.print(f"not served: scorers serve v{current}", highlight=False)
    c.print(f"trained through: {m.trained_through}", highlight=False)
    c.print(f"join: {m.join.model_dump()}", highlight=False)
    c.print(
        f"schema {m.schema_fingerprint[:16]}…  environment {m.environment}  signer {m.signer}",
        highlight=False,
    )
    table = Table("metric", "prequential", "rolling")
    rolling = learned(m.rolling_metrics, m.n_learned)
    for name, value in learned(m.metrics, m.n_learned).items():
        table.add_row(name, fmt(value), fmt(rolling.get(name)))
    c.print(table)
    _print_served(c, m.version, served, overall)
    for field, groups in m.segment_metrics.items():
        seg = Table(field, *next(iter(groups.values()), {}).keys())
        for segment, metrics_ in sorted(groups.items()):
            seg.add_row(segment, *(fmt(v) for v in learned(metrics_, m.n_learned).values()))
        c.print(seg)


HONEST = (
    "honest: scored before its version had learned the event, the only scores judged; "
    "unknown position: the trainer's record (from an older trainer) does not say where the event was"
)
WORSE_BY = (
    "served worse by: how much worse the served scores are than the trainer's own predictions "
    "on the same events; positive when serving a snapshot loses (prequential - served where "
    "bigger is better, served - prequential where smaller is)"
)


def judged_line(scope: str, r: Report) -> str:
    """How many scores `r` judged (honest) and how many it could not, after `scope`."""
    return (
        f"{scope}: {r['n']:,} honest scores; not judged: {r['learned_before_served']:,} "
        f"learned before served, {r['position_unknown']:,} of unknown position"
    )


def _print_served(
    c: Console, version: int, served: VersionQuality | None, overall: ModelQuality | None
) -> None:
    """This version's served quality (`n`, `served`, `prequential`, `served_worse_by`), beside
    the model's over all versions."""
    if served is None:
        c.print(
            f"served quality: no scores of v{version} have been judged yet "
            "(needs scorers, labels, and `lazarus quality` running)",
            highlight=False,
        )
    else:
        c.print(judged_line(f"served quality of v{version}", served), highlight=False)
    if overall is not None:
        versions = ", ".join(f"v{v}" for v in overall["versions"])
        c.print(judged_line(f"over all versions ({versions})", overall), highlight=False)
    shown = served if served is not None else overall
    if shown is None:
        return
    columns = ["metric"]
    if served is not None:
        columns += [f"served by v{version}", "prequential, same events", "served worse by"]
    if overall is not None:
        columns += ["served, all versions", "worse by, all versions"]
    q = Table(*columns, caption=f"{HONEST}.\n{WORSE_BY}.")
    for name in shown["served"]:
        cells = [name]
        if served is not None:
            cells += [
                fmt(served["served"].get(name)),
                fmt(served["prequential"].get(name)),
                signed(served["served_worse_by"].get(name)),
            ]
        if overall is not None:
            cells += [
                fmt(overall["served"].get(name)),
                signed(overall["served_worse_by"].get(name)),
            ]
        q.add_row(*cells)
    c.print(q)


def signed(value: float | None) -> str:
    """A difference to four decimals with its sign, `–` when unknown."""
    return metric_text(value, signed=True)


def history_table(rows: Sequence[Mapping[str, str]]) -> Table:
    """Audit-stream entries (`at` epoch s, `action`, `version`, `previous`, `reason`, `actor`)."""
    table = Table("at", "action", "version", "previous", "reason", "by")
    for r in rows:
        at = datetime.fromtimestamp(float(r.get("at") or 0), UTC).isoformat(timespec="seconds")
        table.add_row(
            at,
            r.get("action", ""),
            r.get("version", ""),
            r.get("previous", ""),
            r.get("reason", ""),
            r.get("actor", ""),
        )
    return table
