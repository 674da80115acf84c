"""Score one consumed batch: decode, featurize, predict, render, publish; the rest dead-lettered.

Every input message of the batch gets exactly one output, its score or its dead letter, and
each output reports to the ledger batch's `ack`, so the input's offset is stored only once all
of them are acknowledged (`lazarus.kafka.consumer.GroupConsumer`). Then, if the model has
challengers or a baseline, their shadow scores of the inputs the champion scored
(`scorer.shadow`), published after the champion's and acknowledged to the same batch: the
input's offset waits for them too (at least once for them as well; in exactly-once mode they
are in the batch's transaction).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message

from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.inputchecks import InputRejected, checked_features
from lazarus.kafka.decoding import decode_batch, rejection_of
from lazarus.kafka.ledger import TP, PendingBatch
from lazarus.kafka.outage import OutageLog
from lazarus.kafka.producer import Publisher
from lazarus.registry.lineup_follow import Shadow
from lazarus.schemas.base import Event, Features
from lazarus.schemas.topics import Topic
from lazarus.scorer.predictors import Prediction, predict_checked
from lazarus.scorer.render import source_of
from lazarus.scorer.serving import ServingModel
from lazarus.scorer.shadow import Output, ShadowInput, ShadowScorer


class OutputRefused(InputRejected):
    """The broker refused an input's score for good inside a transaction (exactly-once):
    the input is dead-lettered with the broker's reason instead."""


class BatchScorer:
    """`score(model, messages, open_batch)` per consumed batch; counts inputs by topic."""

    def __init__(
        self,
        inputs: dict[str, Topic[Any]],
        scores_topic: str,
        publisher: Publisher,
        dead_letters: DeadLetterSink,
        observe_seconds: Callable[[float], None],
        *,
        shadow_topic: str,
    ) -> None:
        """`inputs` maps full topic names to their topics; scores go to `scores_topic`, shadow
        scores to `shadow_topic`; `observe_seconds(s)` gets each batch's consume-to-score time
        of the champion's scores, in seconds."""
        self._inputs = inputs
        self.scores_topic = scores_topic
        self.shadow = ShadowScorer(shadow_topic)
        self._publisher = publisher
        self.dead_letters = dead_letters
        self.observe_seconds = observe_seconds
        """Replaceable (a bench records each batch's)."""
        self._outage = OutageLog()
        self.in_by_topic: dict[str, int] = {}
        self.refused_reason: Callable[[Message], tuple[str, int] | None] | None = None
        """Exactly-once only: why an input's score was refused for good in an aborted
        transaction (it is dead-lettered instead of scored again), or None."""

    def score(
        self,
        model: ServingModel,
        messages: list[Message],
        open_batch: Callable[[dict[TP, int], int], PendingBatch],
        shadows: Sequence[Shadow[ServingModel]] = (),
    ) -> int:
        """Score `messages` with `model`, then with each of `shadows`; returns how many
        (champion's) scores were published. `open_batch(offsets, expected)` opens the ledger
        batch the outputs acknowledge."""
        started = time.perf_counter()
        by_topic, offsets = self._by_topic(messages)
        n = sum(len(batch) for batch in by_topic.values())
        if not n:
            return 0
        batch = open_batch(offsets, n)  # first: an exactly-once transaction keeps the counts
        for topic, msgs in by_topic.items():
            self.in_by_topic[topic] = self.in_by_topic.get(topic, 0) + len(msgs)
        out: list[Output] = []
        pairs: list[ShadowInput] | None = [] if shadows else None
        for topic, msgs in by_topic.items():
            self._score_topic(model, topic, msgs, batch.ack, started, out, pairs)
        self._publisher.publish_many(out, on_delivery=batch.ack)
        self.observe_seconds(time.perf_counter() - started)
        if pairs:
            self._score_shadows(model, shadows, pairs, batch, started)
        return len(out)

    def _score_shadows(
        self,
        model: ServingModel,
        shadows: Sequence[Shadow[ServingModel]],
        pairs: list[ShadowInput],
        batch: PendingBatch,
        started: float,
    ) -> None:
        """Publish the shadow scores of `pairs`, each acknowledged to `batch`."""
        scored_at = datetime.now(UTC).isoformat()
        latency_ms = (time.perf_counter() - started) * 1000
        out = self.shadow.score(shadows, (model.line, model.version), pairs, scored_at, latency_ms)
        if out:
            # The batch expects one ack per input; these are more outputs to wait for. Nothing
            # reads `done` before the next checkpoint, on this thread, after this.
            batch.left += len(out)
            self._publisher.publish_many(out, on_delivery=batch.ack)

    def _by_topic(self, messages: list[Message]) -> tuple[dict[str, list[Message]], dict[TP, int]]:
        """The batch's messages grouped by topic, and the next offset to read per partition;
        a message that carries an error is logged as an outage and dropped."""
        by_topic: dict[str, list[Message]] = {}
        offsets: dict[TP, int] = {}
        for msg in messages:
            err = msg.error()
            if err is None:
                topic = msg.topic() or ""
                by_topic.setdefault(topic, []).append(msg)
                offsets[(topic, msg.partition() or 0)] = (msg.offset() or 0) + 1
            else:
                self._outage((err,))
        return by_topic, offsets

    def _score_topic(
        self,
        model: ServingModel,
        topic: str,
        msgs: list[Message],
        ack: Callable[[Any, Any], None],
        started: float,
        out: list[Output],
        pairs: list[ShadowInput] | None = None,
    ) -> None:
        """Decode, featurize, predict and render one topic's messages, appending the
        (topic, key, value) of each score to `out`; every failure is dead-lettered with `ack`.
        `started` is the batch's `time.perf_counter()`, for the scores' latency_ms. `pairs`,
        when given, gets (input id, subject, features) of each input scored, for the shadows."""
        if self.refused_reason is not None:
            msgs = self._without_refused(msgs, ack)
        events, rejections = decode_batch(self._inputs[topic], msgs, stage="scorer")
        for rejection in rejections:
            self.dead_letters.send(rejection, on_delivery=ack)
        keep: list[tuple[Message, Event]] = []
        feats: list[Features] = []
        features_of = checked_features
        for msg, event in events:
            try:  # the trainer's check: finite numbers
                feats.append(features_of(event))
            except Exception as exc:  # the shared feature code must not stop a worker
                self._dead_letter(msg, exc, ack)
                continue
            keep.append((msg, event))
        predictions = self._predict(model, feats, keep, ack)
        scored_at = datetime.now(UTC).isoformat()
        latency_ms = (time.perf_counter() - started) * 1000
        render = model.renderer.render
        topic_out = self.scores_topic
        subject_of = operator.attrgetter(self._inputs[topic].key_field)
        sourced = source_of(self._inputs[topic].event)
        unrendered: list[Message] = []
        for (msg, event), pred in zip(keep, predictions, strict=True):
            if pred is None:
                continue  # dead-lettered by _predict
            subject = subject_of(event)
            source = None if sourced is None else sourced(event)  # a genomic sample's VCF
            try:
                _, value = render(
                    event.event_id,
                    subject,
                    pred[0],
                    pred[1],
                    scored_at,
                    latency_ms,
                    source_sha256=source,
                )
            except ValueError as exc:  # JSON cannot carry it: checked before, so defence
                self._dead_letter(msg, exc, ack)
                unrendered.append(msg)
                continue
            out.append((topic_out, subject, value))
        if pairs is not None:
            pairs.extend(
                (event.event_id, subject_of(event), x)
                for (msg, event), x, pred in zip(keep, feats, predictions, strict=True)
                if pred is not None and msg not in unrendered
            )

    def _without_refused(
        self, msgs: list[Message], ack: Callable[[Any, Any], None]
    ) -> list[Message]:
        """`msgs` but those whose score the broker refused for good: dead-lettered."""
        assert self.refused_reason is not None
        keep = []
        for msg in msgs:
            refused = self.refused_reason(msg)
            if refused is None:
                keep.append(msg)
            else:  # refused again: the full letter itself is refused, send it shrunk
                why, times = refused
                rejection = rejection_of(msg, OutputRefused(why), stage="scorer")
                self.dead_letters.send(rejection, on_delivery=ack, shrunk=times > 1)
        return keep

    def _predict(
        self,
        model: ServingModel,
        feats: list[Features],
        keep: list[tuple[Message, Event]],
        ack: Callable[[Any, Any], None],
    ) -> list[Prediction | None]:
        """The batch's checked predictions, whatever the path (folded or river); an input whose
        prediction raises or is not finite is dead-lettered with the reason, and gets None."""
        out: list[Prediction | None] = []
        for result, (msg, _) in zip(predict_checked(model.predict, feats), keep, strict=True):
            if isinstance(result, Exception):
                self._dead_letter(msg, result, ack)
                out.append(None)
            else:
                out.append(result)
        return out

    def _dead_letter(
        self, msg: Message, exc: BaseException, ack: Callable[[Any, Any], None]
    ) -> None:
        self.dead_letters.send(rejection_of(msg, exc, stage="scorer"), on_delivery=ack)
