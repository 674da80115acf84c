"""What a trainer reports: its Prometheus samples and its heartbeat fields."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lazarus.metrics import Sample, counted
from lazarus.trainer.join import unjoined

if TYPE_CHECKING:
    from lazarus.trainer.app import TrainerApp
    from lazarus.trainer.join import PendingJoin


def samples(app: TrainerApp) -> list[Sample]:
    """The trainer's metrics, read at scrape time (counters are totals since start)."""
    role = app.role
    return [
        *app.drifts.samples(),
        *counted("events_in", "messages consumed", role, app.in_by_topic),
        *counted(
            "events_out",
            "messages published",
            role,
            {app.dead_letters.topic: app.dead_letters.count},
        ),
        *counted(
            "dead_letters", "inputs dead-lettered, by origin", role, app.dead_letters.by_origin
        ),
        Sample(
            "dead_letters_lost",
            "counter",
            "dead letters never acknowledged (refused even shrunk, or timed out); logged at ERROR",
            {"role": role},
            app.dead_letters.lost,
        ),
        *app.kafka_stats.samples(),
        *_learning(app),
        *_snapshots(app),
    ]


def _learning(app: TrainerApp) -> list[Sample]:
    """Learning, the label join, model health, snapshot publishing and label latency, in the
    order the exposition lists them."""
    s = app.learner.state
    ids = {"role": app.role, "model": app.spec.name}
    return [
        Sample("learned", "counter", "labelled events learned from", ids, s.n_learned),
        *_join_samples(s.join, ids),
        Sample(
            "model_repairs",
            "counter",
            "times the model was found non-finite and rebuilt from its last checkpoint",
            ids,
            app.learner.repairs,
        ),
        Sample(
            "outcomes_joined_early",
            "counter",
            "outcomes that came before their features and were joined when they came",
            ids,
            s.join.counters.early_joined,
        ),
        Sample(
            "model_failures",
            "counter",
            "events left out: the model raised on them or they made it non-finite",
            ids,
            s.model_failures,
        ),
        *_publishing_samples(app, ids),
        *_latency_samples(s.join, ids),
    ]


def _join_samples(join: PendingJoin, ids: dict[str, str]) -> list[Sample]:
    """What the label join holds now and what never joined (by why)."""
    return [
        Sample(
            "pending_joins",
            "gauge",
            "features waiting for their outcome",
            ids,
            len(join.entries),
        ),
        Sample(
            "waiting_outcomes",
            "gauge",
            "outcomes that came before their features, waiting for them",
            ids,
            join.waiting_outcomes,
        ),
        *(
            Sample("unjoined", "counter", "what never joined, by why", {**ids, "why": why}, n)
            for why, n in unjoined(join.counters).items()
            if why != "features_gone"  # a part of `unmatched`: summing `why` must not double
        ),
        Sample(
            "outcomes_features_gone",
            "counter",
            "of unmatched outcomes: those whose features had expired, been evicted or dead-lettered",
            ids,
            join.counters.features_gone,
        ),
    ]


def _publishing_samples(app: TrainerApp, ids: dict[str, str]) -> list[Sample]:
    """Snapshots stored and publishes that failed, since start."""
    stats = app.snapshots.stats
    return [
        Sample("snapshots_published", "counter", "snapshots stored", ids, stats.published),
        Sample(
            "snapshot_failures",
            "counter",
            "snapshot publishes that failed (retried)",
            ids,
            stats.failures,
        ),
    ]


def _latency_samples(join: PendingJoin, ids: dict[str, str]) -> list[Sample]:
    """Label latency (outcome time minus feature time, seconds): mean and max, once known."""
    stats = (("mean", join.label_latency_mean_s), ("max", join.counters.latency_max_s))
    return [
        Sample(
            "label_latency_seconds",
            "gauge",
            "outcome time minus feature time",
            {**ids, "stat": stat},
            value,
        )
        for stat, value in stats
        if value is not None
    ]


def _snapshots(app: TrainerApp) -> list[Sample]:
    ids = {"role": app.role, "model": app.spec.name}
    out: list[Sample] = []
    m = app.snapshots.last_manifest
    if m is not None:
        out.append(Sample("model_version", "gauge", "the last version published", ids, m.version))
        out.append(
            Sample(
                "snapshot_age_seconds",
                "gauge",
                "seconds since the last snapshot was created",
                ids,
                max(0.0, time.time() - m.created_at.timestamp()),
            )
        )
        for metric, value in m.metrics.items():
            if value is not None:
                out.append(
                    Sample(
                        "prequential_metric",
                        "gauge",
                        "the trainer's test-then-train metric, as of each published version",
                        {**ids, "version": str(m.version), "metric": metric},
                        value,
                    )
                )
    return out


class LastGrowth:
    """When a counter last grew (epoch s), as seen at each heartbeat; None until it grows past
    the first value seen (a restored trainer's `n_learned` starts at its snapshot's).

    >>> g = LastGrowth()
    >>> g.see(5, 10.0), g.see(5, 11.0), g.see(7, 12.0), g.see(7, 13.0)
    (None, None, 12.0, 12.0)
    """

    def __init__(self) -> None:
        self._count: int | None = None
        self.at: float | None = None

    def see(self, count: int, now: float) -> float | None:
        if self._count is not None and count > self._count:
            self.at = now
        self._count = count
        return self.at


def heartbeat(app: TrainerApp) -> dict[str, object]:
    """The fields of the trainer's heartbeat (`lazarus status`). `last_learned_at` and
    `last_read_at`: when `n_learned` and `events_in` last grew (epoch s, None: not since the
    trainer started), for health's "learned nothing for 15 min while reading"."""
    s = app.learner.state
    now = time.time()
    return {
        "events_in": app.events_in,
        "n_learned": s.n_learned,
        "last_learned_at": app.learned_growth.see(s.n_learned, now),
        "last_read_at": app.read_growth.see(app.events_in, now),
        "pending": len(s.join.entries),
        "waiting_outcomes": s.join.waiting_outcomes,
        **{f"unjoined_{why}": n for why, n in unjoined(s.join.counters).items()},
        "model_failures": s.model_failures,
        "dead_lettered": app.dead_letters.count,
        "model_version": app.snapshots.current_version or "",
        "group": app.group,
    }
