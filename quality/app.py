"""The quality monitor's shell: read a model's served scores, its lines' shadow scores and the
trainer's prequential records; join served scores with records (`core`) for the per-version and
overall report in Redis (`quality_store`), and scores with shadow scores and records
(`lineup_join`) for the lifecycle, acted on every cycle by the `controller` (promotions,
rollbacks, served drift).

It reads the topics from the beginning on every start (no group commits): the report and the
pairs are recomputed from what the topics retain, so a restart never leaves a partial report.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

import redis
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from lazarus.errors import ConfigError
from lazarus.groups import group_name
from lazarus.kafka.config import consumer_config, producer_config
from lazarus.kafka.consumer import assigned_consumer
from lazarus.kafka.producer import Publisher
from lazarus.metric_factories import metric_factory
from lazarus.metrics import RoleMetrics, Sample
from lazarus.quality.controller import Controller, DriftSink
from lazarus.quality.core import QualityJoin
from lazarus.quality.lineup_join import LineupJoin
from lazarus.quality.lineup_view import LineupPort
from lazarus.quality.paired import judged_metric
from lazarus.quality.records import Reader, entries
from lazarus.quality.served_drift import DETECTOR
from lazarus.quality_store import Report, write_quality
from lazarus.registry.lineup import Lineup
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.drift import DriftEvent
from lazarus.schemas.topics import DRIFT, PREQUENTIAL, SHADOW_SCORES
from lazarus.settings import Settings

log = logging.getLogger(__name__)

WRITE_EVERY_S = 2.0
UNREADABLE = (
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)
"""What reading one record may raise on bad content (`1e400` as an offset: OverflowError; JSON
nested beyond Python's limit: RecursionError): the record is counted unreadable, never fatal."""
UNREADABLE_LOG_EVERY_S = 60.0
_SERVED_DOC = "served metric on the scores version N served before learning their event"
_PREQ_DOC = "the trainer's prequential metric on exactly those events"
_JUDGED_DOC = (
    "scores of version N paired with a label, by verdict: honest (judged), "
    "learned_before_served or position_unknown (not judged)"
)
_ACTIONS_DOC = "automatic promotions and rollbacks of the model by the quality monitor"
_DRIFT_DOC = "drifts detected, by source (served: the served error, by the quality monitor)"


def _is_batch(data: object) -> bool:
    """A version-2 prequential message (a batch of entries) rather than a version-1 record."""
    return isinstance(data, dict) and data.get("schema_version") == 2


class QualityApp:
    """The monitor of `spec`'s served quality and lifecycle. `lineup` (default: the Redis
    lineup of `client`) and `drift` (default: a publisher to the drift topic, made in `start`)
    are the controller's collaborators."""

    def __init__(
        self,
        settings: Settings,
        spec: ModelContract,
        client: redis.Redis,
        *,
        lineup: LineupPort | None = None,
        drift: DriftSink | None = None,
    ) -> None:
        if spec.scores is None:
            raise ConfigError(
                f"model spec {spec.name!r} names no scores topic: set ModelSpec.scores"
            )
        self.settings = settings
        self.spec = spec
        self._redis = client
        prefix = settings.topic_prefix
        self._scores = spec.scores.full(prefix)
        self._shadows = SHADOW_SCORES.full(prefix)
        self._prequential = PREQUENTIAL.full(prefix)
        self.join = QualityJoin(tuple(metric_factory(m) for m in spec.metrics))
        error = "Accuracy" if spec.task == "classification" else "MAE"
        self.pairs = LineupJoin(judged_metric(spec.metrics), served_error=error)
        self._publisher: Publisher | None = None
        self._own_drift = drift is None
        self.controller = Controller(
            spec,
            lineup or Lineup(client, settings.redis_key_prefix),
            self.pairs,
            drift or self._publish_drift,
        )
        self.reader = Reader(spec.labels)
        self.role = f"quality:{spec.name}"
        self.metrics = RoleMetrics(self.role)
        self.metrics.collect_with(self._samples)
        self._consumer: Consumer | None = None
        self._written = 0.0
        self.events_in = 0
        self.unreadable = 0
        """Records (a batch's entries one by one) and scores that could not be read."""
        self.unreadable_why = ""
        self._logged: dict[str, float] = {}  # kind of error -> when last logged (monotonic s)
        """Why the last one could not be read."""

    def start(self) -> None:
        """Assign every partition of the topics from the beginning; learn the lineup."""
        conf = consumer_config(
            self.settings,
            group_name(self.settings.topic_prefix, "quality", self.spec.name),
            **{"enable.auto.commit": False},
        )
        consumer = assigned_consumer(conf)
        md = consumer.list_topics(timeout=10).topics
        tps = [
            TopicPartition(t, p, OFFSET_BEGINNING)
            for t in (self._scores, self._shadows, self._prequential)
            if t in md
            for p in md[t].partitions
        ]
        if not tps:
            raise ConfigError(
                f"neither {self._scores} nor {self._prequential} exists: run `lazarus topics create`"
            )
        consumer.assign(tps)
        self._consumer = consumer
        if self._own_drift:
            self._publisher = Publisher(producer_config(self.settings)).start(10)
        self.controller.prime()
        log.info(
            "judging the scores of %s on %s against %s",
            self.spec.name,
            self._scores,
            self._prequential,
        )

    def step(self) -> int:
        """Read what arrived (at most 1000 records, 0.2 s), and every WRITE_EVERY_S write the
        report and run a lifecycle cycle; returns the records read."""
        assert self._consumer is not None
        messages = self._consumer.consume(1000, 0.2)
        for msg in messages:
            if msg.error() is not None:
                continue
            self.events_in += 1
            try:
                data = json.loads(msg.value() or b"")
                if msg.topic() == self._prequential and _is_batch(data):
                    self._take_batch(data)
                else:
                    self._take(msg.topic(), data)
            except UNREADABLE as exc:
                self._unreadable(msg.topic(), exc)  # scorers and trainers check what they publish
        now = time.monotonic()
        if now - self._written >= WRITE_EVERY_S:
            self.flush()
        return len(messages)

    def _take(self, topic: str | None, data: dict[str, Any]) -> None:
        input_id = data["input_event_id"]
        if topic == self._scores:
            served = self.reader.served(data)
            self.join.add_served(input_id, served)
            self.pairs.add_main(input_id, served, data.get("line") or self.spec.name)
        elif topic == self._shadows:
            role = data.get("role")
            if data.get("shadow_of") == self.spec.name and role in ("challenger", "baseline"):
                self.pairs.add_shadow(input_id, role, data["model"], self.reader.served(data))
        elif data.get("model") == self.spec.name:
            judged = self.reader.judged(data)
            self.join.add_judged(input_id, judged)
            self.pairs.add_label(input_id, judged)

    def _take_batch(self, batch: dict[str, Any]) -> None:
        """A trainer's batch of prequential entries: each entry as a record, alone (a bad one
        is counted unreadable, the others read); `events_in` counts every entry."""
        topics, items = entries(batch)
        self.events_in += len(items) - 1
        if batch["model"] != self.spec.name:
            return
        reader, join, pairs = self.reader, self.join, self.pairs
        for entry in items:
            try:
                input_id = entry["input_event_id"]
                judged = reader.judged(entry, topics)
            except UNREADABLE as exc:
                self._unreadable(self._prequential, exc)
                continue
            join.add_judged(input_id, judged)
            pairs.add_label(input_id, judged)

    def _unreadable(self, topic: str | None, exc: Exception) -> None:
        """Count it and keep its reason; log at most one per kind of error per minute, so a run
        of bad entries cannot flood the log."""
        self.unreadable += 1
        self.unreadable_why = f"{type(exc).__name__}: {exc}"
        kind, now = type(exc).__name__, time.monotonic()
        if now - self._logged.get(kind, -math.inf) >= UNREADABLE_LOG_EVERY_S:
            self._logged[kind] = now
            log.warning(
                "an unreadable record on %s: %s (%d unreadable so far)",
                topic, self.unreadable_why, self.unreadable,
            )  # fmt: skip

    def _publish_drift(self, event: DriftEvent) -> None:
        assert self._publisher is not None, "start() makes the drift topic's publisher"
        self._publisher.publish(
            DRIFT.full(self.settings.topic_prefix), event.key, DRIFT.encode(event)
        )
        self._publisher.poll(0)

    def flush(self) -> None:
        """Write the served-quality report, then run one lifecycle cycle."""
        self._written = time.monotonic()
        now = time.time()
        rows, overall = self.join.rows(now), self.join.summary(now)
        try:
            write_quality(
                self._redis, self.settings.redis_key_prefix, self.spec.name, rows, overall
            )
        except (redis.RedisError, OSError) as exc:
            log.warning("cannot write the quality report to Redis (%s); retrying", exc)
        self.controller.cycle()

    def stop(self) -> None:
        self.flush()
        if self._consumer is not None:
            self._consumer.close()
        if self._publisher is not None:
            self._publisher.close(5)

    def _samples(self) -> list[Sample]:
        """Per version (and `version="all"` over every version): the served and prequential
        metrics on the honest scores, and the judged scores by verdict."""
        rows: list[tuple[str, Report]] = [(str(r["version"]), r) for r in self.join.rows()]
        rows.append(("all", self.join.summary()))
        out = []
        for version, row in rows:
            labels = {"model": self.spec.name, "version": version}
            for name, doc, values in (
                ("served_metric", _SERVED_DOC, row["served"]),
                ("prequential_on_served_metric", _PREQ_DOC, row["prequential"]),
            ):
                out += [
                    Sample(name, "gauge", doc, {**labels, "metric": metric}, value)
                    for metric, value in values.items()
                    if value is not None
                ]
            for verdict, n in (
                ("honest", row["n"]),
                ("learned_before_served", row["learned_before_served"]),
                ("position_unknown", row["position_unknown"]),
            ):
                out.append(
                    Sample("served_judged", "gauge", _JUDGED_DOC, {**labels, "verdict": verdict}, n)
                )
        return out + self._lifecycle_samples()

    def _lifecycle_samples(self) -> list[Sample]:
        """Automatic actions by kind, and the served drifts detected: counters."""
        model, actions = self.spec.name, self.controller.actions
        out = [
            Sample("lifecycle_actions", "counter", _ACTIONS_DOC, {"model": model, "action": a}, n)
            for a, n in (("promote", actions["promote"]), ("rollback", actions["rollback"]))
        ]
        drift = {"model": model, "source": "served", "detector": DETECTOR}
        return [*out, Sample("drift", "counter", _DRIFT_DOC, drift, self.controller.drifts)]

    def stats(self) -> dict[str, object]:
        return {
            "events_in": self.events_in,
            "unreadable": self.unreadable,
            "judged": self.join.overall.judged,
            "honest": self.join.overall.pair.n,
            "waiting_scores": len(self.join.served),
            "waiting_labels": len(self.join.judged),
            "duplicates": self.join.duplicates,
            "pairs_waiting": self.pairs.waiting,
            "promotions": self.controller.actions["promote"],
            "rollbacks": self.controller.actions["rollback"],
            "served_drifts": self.controller.drifts,
        }
