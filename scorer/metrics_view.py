"""What a scorer reports: its Prometheus samples and its heartbeat fields."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from lazarus.kafka.transactional import TransactionalConsumer
from lazarus.metrics import Sample, counted
from lazarus.schemas.contract import ModelContract
from lazarus.scorer.shadow import listed

if TYPE_CHECKING:
    from lazarus.scorer.app import ScorerApp


def samples(app: ScorerApp) -> list[Sample]:
    """The scorer's metrics, read at scrape time (counters are totals since start)."""
    role, name = app.role, app.spec.name
    ids = {"role": role, "model": name}
    letters = app.dead_letters
    shadow = app.scoring.shadow
    published = {app.scores_topic: app.scored, letters.topic: letters.count}
    if shadow.published:
        published[shadow.topic] = shadow.total
    out = [
        *counted("events_in", "messages consumed", role, app.in_by_topic),
        *counted("events_out", "messages published", role, published),
        *counted("dead_letters", "inputs dead-lettered, by origin", role, letters.by_origin),
        Sample(
            "dead_letters_lost",
            "counter",
            "dead letters never acknowledged (refused even shrunk); logged at ERROR",
            {"role": role},
            letters.lost,
        ),
        *app.kafka_stats.samples(),
        Sample(
            "snapshots_refused",
            "counter",
            "snapshots that failed verification",
            ids,
            app.follower.stats.refused,
        ),
        Sample("model_swaps", "counter", "model versions swapped in", ids, app.swaps),
        *shadow_samples(app),
    ]
    consumer = app.consumer
    if isinstance(consumer, TransactionalConsumer):  # exactly-once: one transaction per batch
        for outcome, n in (("committed", consumer.commits), ("aborted", consumer.aborts)):
            out.append(
                Sample(
                    "transactions",
                    "counter",
                    "scoring transactions, by outcome (exactly-once delivery)",
                    {"role": role, "outcome": outcome},
                    n,
                )
            )
    if app.model is not None:
        m = app.model.manifest
        out.append(Sample("model_version", "gauge", "the model version in use", ids, m.version))
        out.append(
            Sample(
                "snapshot_age_seconds",
                "gauge",
                "staleness: seconds since the served version was created",
                ids,
                max(0.0, time.time() - m.created_at.timestamp()),
            )
        )
    return out


def shadow_samples(app: ScorerApp) -> list[Sample]:
    """Shadow scoring's metrics: scores by line and role, failures, refusals, versions."""
    role, name = app.role, app.spec.name
    ids = {"role": role, "model": name}
    shadow = app.scoring.shadow
    out = [
        Sample(
            "shadow_scores",
            "counter",
            "shadow scores published, by line and role (challenger or baseline)",
            {**ids, "line": line, "shadow": as_},
            n,
        )
        for (line, as_), n in shadow.published.items()
    ]
    out.append(
        Sample(
            "shadow_failed",
            "counter",
            "shadow predictions that failed or were not finite, and shadow scores refused",
            ids,
            shadow.failed,
        )
    )
    out.append(
        Sample(
            "shadow_snapshots_refused",
            "counter",
            "challenger or baseline versions that failed verification",
            ids,
            app.shadow_watcher.stats.refused,
        )
    )
    out += [
        Sample(
            "shadow_model_version",
            "gauge",
            "the version scored in shadow, by line and role",
            {**ids, "line": s.line, "shadow": s.role},
            s.version,
        )
        for s in app.shadows
    ]
    return out


def waiting(spec: ModelContract, refused: Mapping[str, str], what: str = "snapshot") -> str:
    """The line a scorer logs while it waits for a version to serve: `refused` maps each
    version refused ('v3', or a line's 'M.shard1 v3') to why."""
    said = ", ".join(f"{v} ({r})" for v, r in refused.items())
    return (
        f"waiting for a verified {what} of {spec.name} that learned {spec.min_learned} or more "
        "events (is its trainer running, with labels? `lazarus models list` shows what is "
        f"published){'; refused: ' + said if said else ''}"
    )


def heartbeat(app: ScorerApp) -> dict[str, object]:
    """The fields of the scorer's heartbeat (`lazarus status`)."""
    w = app.follower.stats
    return {
        # not "state": the heartbeat's own field says whether the process runs
        "serving": "yes" if app.model is not None else "waiting for a snapshot",
        "events_in": app.events_in,
        "scored": app.scored,
        "dead_lettered": app.dead_letters.count,
        "model_version": app.model.version if app.model is not None else "",
        "line": app.model.line if app.model is not None else "",
        "shadows": listed(app.shadows),
        "shadow_scored": app.scoring.shadow.total,
        "shadow_failed": app.scoring.shadow.failed,
        "swaps": app.swaps,
        "refused": w.refused,
        "last_refused_at": w.last_refused_at,  # epoch s; "" when never (health: 10 min)
        "redis_up": int(w.redis_up),
        "unacknowledged": app.ledger.unacknowledged,
        "partitions": len(app.consumer.assigned),
        "group": app.group,
        "delivery": app.settings.scorer_delivery,
    }
