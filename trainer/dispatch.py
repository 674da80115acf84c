"""Hand each released item to the learner: hold features, learn from labels, dead-letter the rest.

Items come from the feed in the merge's order (`trainer.decoding.Released`: positional tuples
tagged FEATURES, LABEL or a rejection); this is the one place that unpacks them. Each prediction
test-then-train makes is published to the prequential topic, for served-quality monitoring: as
an entry of a `PrequentialBatch`, closed at the end of every `learn()`, so no batch spans a
snapshot (the trainer snapshots between steps).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from lazarus.dead_letters.sink import DeadLetterSink, Rejection
from lazarus.kafka.producer import Publisher
from lazarus.schemas.prequential import InputPosition
from lazarus.trainer.decoding import FEATURES, LABEL, Released
from lazarus.trainer.join import Joined, pack_origin, unpack_origin
from lazarus.trainer.learner import Learner, ModelFailure
from lazarus.trainer.prequential import PrequentialBatcher
from lazarus.trainer.specs import ModelSpec

log = logging.getLogger("lazarus.trainer.app")


_OFFSET_MASK = (1 << 40) - 1
"""The offset bits of a packed origin (`lazarus.trainer.join.pack_origin`)."""


class Dispatcher:
    """`learn(items)` per released batch; `reject_failures()` after a model check."""

    def __init__(
        self,
        spec: ModelSpec,
        learner: Learner,
        inputs: list[str],
        dead_letters: DeadLetterSink,
        publisher: Publisher,
        prequential_topic: str,
        *,
        record_as: str | None = None,
    ) -> None:
        """`inputs` are the full input topic names, in the spec's order (an origin's source).
        `record_as`: the model prequential records name (a shard's: its model's), else the spec's."""
        self.learner = learner
        self._inputs = inputs
        self._source = {topic: i for i, topic in enumerate(inputs)}
        self.dead_letters = dead_letters
        self._publisher = publisher
        self._prequential_topic = prequential_topic
        per_key = spec.per_key
        fields = (*spec.segment_fields, per_key.field) if per_key else spec.segment_fields
        self._model = record_as or spec.name
        self._batcher = PrequentialBatcher(self._model, fields)
        self._prequential_add = self._batcher.add
        self._labels = spec.contract.labels
        """Targets (what river learned and predicted) back to labels as declared."""
        self.prequential_unrenderable = 0

    def learn(self, items: list[Released]) -> None:
        """Items in the merge's order: hold features, learn from labels, dead-letter the rest."""
        learner = self.learner
        hold, label, advance = learner.hold, learner.label, learner.advance
        source = self._source
        self._batcher.open(datetime.now(UTC).isoformat())  # when these predictions were made
        for item in items:
            if item[0] == FEATURES:
                _, topic, partition, offset, join_key, subject, at_ms, x, segment = item
                early = hold(
                    join_key,
                    subject,
                    at_ms,
                    x,
                    segment,
                    pack_origin(source[topic], partition, offset),
                )
                if early is not None and isinstance(early[0], Joined):
                    self._prequential(early[0], early[1])
            elif item[0] == LABEL:
                _, topic, partition, offset, kind, ref, subject, at_ms, y = item
                result = label(kind, ref, subject, at_ms, y)
                if isinstance(result, Joined):
                    self._prequential(result, y)
            else:
                learner.state.invalid_events += 1
                _, topic, partition, offset, rejection, ref = item
                if ref is not None:
                    learner.state.join.forget(ref)
                self.dead_letters.send(rejection)
            advance(topic, partition, offset)
        self._publish_batch(self._batcher.close())
        self.reject_failures()

    def reject_failures(self) -> None:
        """Dead-letter the events the model left out (it raised, or went non-finite on them)."""
        for failure in self.learner.failures:
            self._reject_features(failure)
        self.learner.failures.clear()

    def _prequential(self, joined: Joined, label: Any) -> None:
        """Publish the prediction test-then-train just made, for served-quality monitoring."""
        pred, proba = self.learner.last_prediction
        labels = self._labels
        if not labels.identity:
            label, pred, proba = (
                labels.label(label),
                labels.label(pred),
                labels.probabilities_out(proba),
            )
        try:
            done = self._prequential_add(
                joined.event_id,
                self.learner.state.n_learned - 1,
                label,
                pred,
                proba,
                joined.segment,
                self._position(joined.origin),
            )
        except ValueError as exc:  # JSON cannot carry it (the learner checks, so never yet)
            self.prequential_unrenderable += 1
            log.error("no prequential record for %s: %s", joined.event_id, exc)
            return
        if done is not None:
            self._publish_batch(done)

    def _publish_batch(self, batch: bytes | None) -> None:
        if batch is not None:
            self._publisher.publish(self._prequential_topic, self._model, batch)

    def _position(self, origin: int) -> InputPosition:
        """A packed origin as the input event's (full topic name, partition, offset):
        `unpack_origin`, inlined (this runs per learned event)."""
        return self._inputs[origin >> 56], (origin >> 40) & 0xFFFF, origin & _OFFSET_MASK

    def _reject_features(self, failure: ModelFailure) -> None:
        source, partition, offset = unpack_origin(failure.joined.origin)
        payload = json.dumps(
            {"event_id": failure.joined.event_id, "features": failure.joined.x}
        ).encode()
        self.dead_letters.send(
            Rejection.of(
                failure.error,
                stage="trainer",
                raw=payload,
                topic=self._inputs[source],
                partition=partition,
                offset=offset,
            )
        )
