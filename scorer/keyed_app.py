"""The scorer worker of a per-key model: each input served by its partition's shard, by key.

A `KeyedScorerApp` is a `scorer.app.ScorerApp` (the same group, consumer, delivery guarantee,
checkpoint, dead letters, heartbeat and metrics) whose served model is one verified version
per shard line (`shard_line(M, p)`), followed by a `scorer.keyed_serving.ShardWatcher`
(pub/sub and polling; each shard swaps between batches, on its own), and whose batches are
scored by `scorer.keyed_scoring.KeyedBatchScorer`. Per-key models have no challengers (the
contract refuses them), so nothing is scored in shadow.

A shard with nothing to serve yet: the worker waits before it joins the group until some shard
of M has a servable version (as a whole model's scorer waits for M's). After that, a partition
whose shard has none is *held*: the consumer pauses it and rewinds it to its first unscored
input, which waits, unread, until the shard publishes a servable version; then the partition
is resumed and its inputs scored in order by that version. Other partitions go on scoring. A
rebalance hands partitions over unpaused, from their committed offsets: a held one is held
again if its shard still has nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from confluent_kafka import Message

from lazarus.errors import ConfigError
from lazarus.kafka.ledger import TP
from lazarus.metrics import Sample
from lazarus.registry.follower import Follower
from lazarus.registry.signing import Verifier
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.per_key import shard_line
from lazarus.scorer import metrics_view
from lazarus.scorer.app import ScorerApp
from lazarus.scorer.keyed_scoring import KeyedBatchScorer
from lazarus.scorer.keyed_serving import ServingShard, ShardWatcher, describe_shard_swap
from lazarus.settings import Settings

log = logging.getLogger("lazarus.scorer.app")


def scorer_app(
    settings: Settings, spec: ModelContract, verifier: Verifier, **kwargs: Any
) -> ScorerApp:
    """The scorer worker of `spec`: a `KeyedScorerApp` for a per-key model, else a
    `ScorerApp` (`kwargs` go to it)."""
    kind = KeyedScorerApp if spec.per_key is not None else ScorerApp
    return kind(settings, spec, verifier, **kwargs)


def served_text(app: ScorerApp) -> str:
    """What a worker serves, for the last line of a run: 'v12', 'M.shard0 v3, M.shard1 v2',
    or 'v-' for nothing."""
    if isinstance(app, KeyedScorerApp):
        return ", ".join(f"{s.line} v{s.version}" for _, s in sorted(app.served.items())) or "v-"
    return f"v{app.model.version}" if app.model is not None else "v-"


class KeyedScorerApp(ScorerApp):
    """`start()`, `wait_for_model()`, `subscribe()`, then `step()` until done, then `stop()`,
    as `ScorerApp`. `served`: partition -> the shard version served for its inputs; `held`:
    (topic, partition) -> the offset a held partition resumes from. `shards` is built from
    `settings` unless passed in."""

    batch_scorer = KeyedBatchScorer
    scoring: KeyedBatchScorer
    serves_shards = True

    def __init__(
        self,
        settings: Settings,
        spec: ModelContract,
        verifier: Verifier,
        *,
        shards: ShardWatcher | None = None,
        **kwargs: Any,
    ) -> None:
        if spec.per_key is None:
            raise ConfigError(f"{spec.name} is not a per-key model: score it with ScorerApp")
        super().__init__(settings, spec, verifier, **kwargs)
        notifications = kwargs.get("notifications")
        self.shards = shards or ShardWatcher(
            settings.redis_url_value,
            settings.redis_key_prefix,
            spec,
            verifier,
            settings.scorer_poll_seconds,
            notifications=settings.scorer_notifications if notifications is None else notifications,
            modules=settings.snapshot_modules,
        )
        self.served: dict[int, ServingShard] = {}
        self.held: dict[TP, int] = {}
        self._rebalances_seen = 0
        self.metrics.collect_with(lambda: shard_samples(self))

    @property
    def follower(self) -> Follower:
        return self.shards

    @property
    def followers(self) -> tuple[Follower, ...]:
        return (self.shards,)

    def _log_waiting(self) -> None:
        refused = {
            f"{line} v{v}": why for (line, v), why in self.shards.stats.refused_lines.items()
        }
        log.info(metrics_view.waiting(self.spec, refused, "version of a shard"))

    def _score(self, messages: list[Message]) -> int:
        self._forget_moved()
        return self.scoring.score_keyed(self.served, messages, self.consumer.open, self._hold)

    def _maybe_swap(self) -> bool:
        """Take each shard's new version, if any, and resume the partitions they were held
        for (True: a version was taken)."""
        taken = self.shards.take()
        for partition, (shard, why) in sorted(taken.items()):
            old = self.served.get(partition)
            self.served[partition] = shard
            self.swaps += 1
            log.info(describe_shard_swap(shard, old, why, self.shards.stats.last_load_ms))
        ready = [tp for tp in self.held if tp[1] in self.served]
        if ready:
            self.consumer.release(ready)
            for tp in ready:
                del self.held[tp]
            log.info("resumed %s: their shards have a version to serve", _listed(ready))
        return bool(taken)

    def _hold(self, positions: dict[TP, int]) -> None:
        """Pause these partitions at these offsets until their shards have a version."""
        # never ahead of where it was held: nothing between is lost if a message slips through
        at = {tp: min(offset, self.held.get(tp, offset)) for tp, offset in positions.items()}
        self.consumer.hold(at)
        new = sorted(tp for tp in at if tp not in self.held)
        self.held.update(at)
        if new:
            self.shards.want(p for _, p in new)
            log.warning(
                "holding %s: no servable version of %s yet (is its trainer running, with "
                "labels?); their inputs wait, unread, and are scored once one is published",
                _listed(new),
                ", ".join(sorted({shard_line(self.spec.name, p) for _, p in new})),
            )

    def _forget_moved(self) -> None:
        """After a rebalance, let go of what was held: a partition given back starts unpaused
        from its committed offset (held again if its shard still has nothing), one kept
        stays paused and is resumed here; one taken away is its next owner's."""
        assigned = self.consumer.assigned
        if self.consumer.rebalances != self._rebalances_seen:
            self._rebalances_seen = self.consumer.rebalances
            self.consumer.release(list(self.held))
            self.held.clear()
        for tp in [tp for tp in self.held if tp not in assigned]:
            del self.held[tp]

    def stats(self) -> dict[str, object]:
        """The heartbeat's fields, with the shards served and the partitions held."""
        beat = metrics_view.heartbeat(self)
        served = [s for _, s in sorted(self.served.items())]
        beat.update(
            serving="yes" if served else "waiting for a snapshot",
            model_version="",  # shards' versions are numbered apart: `served_shards` has them
            line=", ".join(f"{s.line} v{s.version}" for s in served),
            served_shards=",".join(f"{p}:v{s.version}" for p, s in sorted(self.served.items())),
            held=_listed(sorted(self.held)),
        )
        return beat


def shard_samples(app: KeyedScorerApp) -> list[Sample]:
    """Per shard served: its version and its staleness; and the partitions held."""
    role, name = app.role, app.spec.name
    held = "input partitions waiting for their shard's first version"
    out = [Sample("held_partitions", "gauge", held, {"role": role, "model": name}, len(app.held))]
    for shard in app.served.values():
        ids = {"role": role, "model": name, "line": shard.line}
        created = shard.manifest.created_at.timestamp()
        out.append(Sample("model_version", "gauge", "the version in use", ids, shard.version))
        out.append(
            Sample(
                "snapshot_age_seconds",
                "gauge",
                "staleness: seconds since the served version was created",
                ids,
                max(0.0, time.time() - created),
            )
        )
    return out


def _listed(tps: list[TP]) -> str:
    return ", ".join(f"{topic}[{partition}]" for topic, partition in tps)
