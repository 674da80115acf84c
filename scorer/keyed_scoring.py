"""Score one consumed batch of a per-key model: each input with its partition's shard, by key.

As `scorer.scoring.BatchScorer` (decode, featurize, predict, render, publish; every failure
dead-lettered; each output acknowledged to the batch's ledger entry), with two differences:

- an input of partition p is predicted by the estimator that shard p's served version routes
  its key to (`scorer.keyed_serving.predict_routed`), and its score names the shard, the key
  and the route;
- the inputs of a partition whose shard has no served version yet are *held*: neither scored
  nor dead-lettered nor counted, their offsets left out of the batch, and the partition handed
  to `hold` with its first offset (the consumer pauses it and rewinds it there), so they are
  read again, in order, once the shard has a version. None is lost, none scored by another
  shard.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message

from lazarus.inputchecks import checked_features
from lazarus.kafka.decoding import decode_batch
from lazarus.kafka.ledger import TP, PendingBatch
from lazarus.schemas.base import Event, Features
from lazarus.scorer.keyed_serving import ServingShard, predict_routed
from lazarus.scorer.render import source_of
from lazarus.scorer.scoring import BatchScorer
from lazarus.scorer.shadow import Output

Hold = Callable[[dict[TP, int]], None]
"""Pause these (topic, partition)s and rewind each to its offset."""


def without_held(
    messages: list[Message], served: Mapping[int, object]
) -> tuple[list[Message], dict[TP, int]]:
    """`messages` but those of a partition with no shard in `served`, and the first offset
    of each (topic, partition) left out. A message carrying an error is kept (it is logged)."""
    keep: list[Message] = []
    held: dict[TP, int] = {}
    for msg in messages:
        partition = msg.partition() or 0
        if msg.error() is not None or partition in served:
            keep.append(msg)
        else:
            held.setdefault((msg.topic() or "", partition), msg.offset() or 0)
    return keep, held


class KeyedBatchScorer(BatchScorer):
    """`score_keyed(shards, messages, open_batch, hold)` per consumed batch."""

    def score_keyed(
        self,
        shards: Mapping[int, ServingShard],
        messages: list[Message],
        open_batch: Callable[[dict[TP, int], int], PendingBatch],
        hold: Hold,
    ) -> int:
        """Score `messages` with the shard of each one's partition (`shards`: partition ->
        served version), holding the partitions that have none (`hold`); returns how many
        scores were published. `open_batch(offsets, expected)` opens the ledger batch."""
        started = time.perf_counter()
        messages, held = without_held(messages, shards)
        if held:
            hold(held)
        by_topic, offsets = self._by_topic(messages)
        n = sum(len(batch) for batch in by_topic.values())
        if not n:
            return 0
        batch = open_batch(offsets, n)  # first: an exactly-once transaction keeps the counts
        for topic, msgs in by_topic.items():
            self.in_by_topic[topic] = self.in_by_topic.get(topic, 0) + len(msgs)
        out: list[Output] = []
        for topic, msgs in by_topic.items():
            self._score_keyed_topic(shards, topic, msgs, batch.ack, started, out)
        self._publisher.publish_many(out, on_delivery=batch.ack)
        self.observe_seconds(time.perf_counter() - started)
        return len(out)

    def _score_keyed_topic(
        self,
        shards: Mapping[int, ServingShard],
        topic: str,
        msgs: list[Message],
        ack: Callable[[Any, Any], None],
        started: float,
        out: list[Output],
    ) -> None:
        """Decode, featurize, route, predict and render one topic's messages into `out`;
        every failure is dead-lettered with `ack`."""
        if self.refused_reason is not None:
            msgs = self._without_refused(msgs, ack)
        events, rejections = decode_batch(self._inputs[topic], msgs, stage="scorer")
        for rejection in rejections:
            self.dead_letters.send(rejection, on_delivery=ack)
        keep: list[tuple[Message, Event, ServingShard, str]] = []
        items: list[tuple[ServingShard, str, Features]] = []
        for msg, event in events:
            shard = shards[msg.partition() or 0]
            try:  # the trainer's check: finite numbers; the key as the trainer reads it
                x = checked_features(event)
                key = event.field_text(shard.key_field)
            except Exception as exc:  # the shared feature code must not stop a worker
                self._dead_letter(msg, exc, ack)
                continue
            keep.append((msg, event, shard, key))
            items.append((shard, key, x))
        results = predict_routed(items)
        scored_at = datetime.now(UTC).isoformat()
        latency_ms = (time.perf_counter() - started) * 1000
        key_field = self._inputs[topic].key_field
        sourced = source_of(self._inputs[topic].event)
        for (msg, event, shard, key), (result, route) in zip(keep, results, strict=True):
            subject = getattr(event, key_field)
            try:
                if isinstance(result, Exception):
                    raise result
                _, value = shard.renderer.render(
                    event.event_id,
                    subject,
                    result[0],
                    result[1],
                    scored_at,
                    latency_ms,
                    model_key=key,
                    route=route,
                    source_sha256=None if sourced is None else sourced(event),
                )
            except Exception as exc:  # the model's failure, or JSON cannot carry it
                self._dead_letter(msg, exc, ack)
                continue
            out.append((self.scores_topic, subject, value))
