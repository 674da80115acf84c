"""What a scorer reports: its Prometheus samples and its heartbeat fields."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lazarus.kafka.transactional import TransactionalConsumer
from lazarus.metrics import Sample, counted

if TYPE_CHECKING:
    from lazarus.scorer.app import ScorerApp


def samples(app: ScorerApp) -> list[Sample]:
    """The scorer's metrics, read at scrape time (counters are totals since start)."""
    role, name = app.role, app.spec.name
    ids = {"role": role, "model": name}
    letters = app.dead_letters
    out = [
        *counted("events_in", "messages consumed", role, app.in_by_topic),
        *counted(
            "events_out",
            "messages published",
            role,
            {app.scores_topic: app.scored, letters.topic: letters.count},
        ),
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
            app.watcher.stats.refused,
        ),
        Sample("model_swaps", "counter", "model versions swapped in", ids, app.swaps),
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


def heartbeat(app: ScorerApp) -> dict[str, object]:
    """The fields of the scorer's heartbeat (`lazarus status`)."""
    w = app.watcher.stats
    return {
        # not "state": the heartbeat's own field says whether the process runs
        "serving": "yes" if app.model is not None else "waiting for a snapshot",
        "events_in": app.events_in,
        "scored": app.scored,
        "dead_lettered": app.dead_letters.count,
        "model_version": app.model.version if app.model is not None else "",
        "swaps": app.swaps,
        "refused": w.refused,
        "last_refused_at": w.last_refused_at,  # epoch s; "" when never (health: 10 min)
        "redis_up": int(w.redis_up),
        "unacknowledged": app.ledger.unacknowledged,
        "partitions": len(app.consumer.assigned),
        "group": app.group,
        "delivery": app.settings.scorer_delivery,
    }
