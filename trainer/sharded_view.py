"""What a sharded trainer reports: Prometheus samples and heartbeat fields, over its shards.

Totals include the shards that moved away since the process started, so a counter never
falls at a rebalance."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lazarus.metrics import Sample, counted

if TYPE_CHECKING:
    from lazarus.trainer.shard import ShardTrainer
    from lazarus.trainer.sharded import ShardedTrainerApp


@dataclass
class ClosedTotals:
    """Consumed and learned by shards this process no longer owns."""

    in_by_topic: dict[str, int] = field(default_factory=dict)
    learned: int = 0
    published: int = 0

    def add(self, shard: ShardTrainer) -> None:
        for topic, n in shard.in_by_topic.items():
            self.in_by_topic[topic] = self.in_by_topic.get(topic, 0) + n
        self.learned += shard.learned_here
        self.published += shard.snapshots.stats.published


def in_by_topic(app: ShardedTrainerApp) -> dict[str, int]:
    totals = dict(app.closed_shards.in_by_topic)
    for shard in app.shards.values():
        for topic, n in shard.in_by_topic.items():
            totals[topic] = totals.get(topic, 0) + n
    return totals


def learned(app: ShardedTrainerApp) -> int:
    """Events learned by this process (not by the shards' earlier owners)."""
    return app.closed_shards.learned + sum(s.learned_here for s in app.shards.values())


def samples(app: ShardedTrainerApp) -> list[Sample]:
    role = app.role
    ids = {"role": role, "model": app.spec.name}
    published = app.closed_shards.published + sum(
        s.snapshots.stats.published for s in app.shards.values()
    )
    return [
        *counted("events_in", "messages consumed", role, in_by_topic(app)),
        *counted(
            "dead_letters", "inputs dead-lettered, by origin", role, app.dead_letters.by_origin
        ),
        Sample("learned", "counter", "labelled events learned from", ids, learned(app)),
        Sample(
            "shards_owned", "gauge", "shards (partitions) this trainer owns", ids, len(app.shards)
        ),
        Sample(
            "keys",
            "gauge",
            "keys with a model of their own in the owned shards",
            ids,
            sum(len(s.learner.state.model) for s in app.shards.values()),
        ),
        Sample("snapshots_published", "counter", "shard versions published", ids, published),
        Sample("rebalances", "counter", "partition assignments received", ids, app.rebalances),
    ]


def heartbeat(app: ShardedTrainerApp) -> dict[str, object]:
    """`lazarus status` fields. `owned`: the shard numbers, comma-separated; `shards` (JSON)
    maps each to its version, learned events, keys and (once known) the seconds it took from
    assignment to its first learned event."""
    shards = {
        str(p): {
            "version": s.snapshots.current_version or "",
            "n_learned": s.learner.state.n_learned,
            "keys": len(s.learner.state.model),
            "ready_after_s": s.ready_after_s,
        }
        for p, s in sorted(app.shards.items())
    }
    now = time.time()
    events_in, n_learned = sum(in_by_topic(app).values()), learned(app)
    states = [s.learner.state for s in app.shards.values()]
    return {
        "events_in": events_in,
        "n_learned": n_learned,
        "last_learned_at": app.learned_growth.see(n_learned, now),
        "last_read_at": app.read_growth.see(events_in, now),
        "pending": sum(len(st.join.entries) for st in states),
        "waiting_outcomes": sum(st.join.waiting_outcomes for st in states),
        "model_failures": sum(st.model_failures for st in states),
        "owned": ",".join(shards),
        "shards": json.dumps(shards, sort_keys=True),
        "partitions": app.partitions,
        "dead_lettered": app.dead_letters.count,
        "group": app.group,
    }
