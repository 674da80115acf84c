"""The quality monitor's shell: read a model's served scores and the trainer's prequential
records, join them (`core`), and keep the per-version and overall report in Redis
(`quality_store`).

It reads both topics from the beginning on every start (no group commits): the report is
recomputed from what the topics retain, so a restart never leaves a partial report behind.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from lazarus.errors import ConfigError
from lazarus.groups import group_name
from lazarus.kafka.config import consumer_config
from lazarus.kafka.consumer import assigned_consumer
from lazarus.metric_factories import metric_factory
from lazarus.metrics import RoleMetrics, Sample
from lazarus.quality.core import Judged, QualityJoin, Served
from lazarus.quality_store import Report, write_quality
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.prequential import InputPosition
from lazarus.schemas.topics import PREQUENTIAL
from lazarus.settings import Settings

log = logging.getLogger(__name__)

WRITE_EVERY_S = 2.0
_SERVED_DOC = "served metric on the scores version N served before learning their event"
_PREQ_DOC = "the trainer's prequential metric on exactly those events"
_JUDGED_DOC = (
    "scores of version N paired with a label, by verdict: honest (judged), "
    "learned_before_served or position_unknown (not judged)"
)


class QualityApp:
    def __init__(self, settings: Settings, spec: ModelContract, client: redis.Redis) -> None:
        if spec.scores is None:
            raise ConfigError(
                f"model spec {spec.name!r} names no scores topic: set ModelSpec.scores"
            )
        self.settings = settings
        self.spec = spec
        self._redis = client
        prefix = settings.topic_prefix
        self._scores = spec.scores.full(prefix)
        self._prequential = PREQUENTIAL.full(prefix)
        self.join = QualityJoin(tuple(metric_factory(m) for m in spec.metrics))
        self.role = f"quality:{spec.name}"
        self.metrics = RoleMetrics(self.role)
        self.metrics.collect_with(self._samples)
        self._consumer: Consumer | None = None
        self._written = 0.0
        self._through: dict[int, dict[str, int]] = {}
        """Each version's trained offsets, shared by all of its waiting scores."""
        self.events_in = 0
        self.unreadable = 0

    def start(self) -> None:
        conf = consumer_config(
            self.settings,
            group_name(self.settings.topic_prefix, "quality", self.spec.name),
            **{"enable.auto.commit": False},
        )
        consumer = assigned_consumer(conf)
        md = consumer.list_topics(timeout=10).topics
        tps = [
            TopicPartition(t, p, OFFSET_BEGINNING)
            for t in (self._scores, self._prequential)
            if t in md
            for p in md[t].partitions
        ]
        if not tps:
            raise ConfigError(
                f"neither {self._scores} nor {self._prequential} exists: run `lazarus topics create`"
            )
        consumer.assign(tps)
        self._consumer = consumer
        log.info(
            "judging the scores of %s on %s against %s",
            self.spec.name,
            self._scores,
            self._prequential,
        )

    def _trained_through(self, version: int, score: dict[str, Any]) -> dict[str, int]:
        """A version's trained offsets, read from its first score and shared by all of them."""
        through = self._through.get(version)
        if through is None:
            through = self._through[version] = {
                str(k): int(v) for k, v in score["trained_through"].items()
            }
        return through

    def step(self) -> int:
        assert self._consumer is not None
        messages = self._consumer.consume(1000, 0.2)
        labels = self.spec.labels  # as declared in JSON -> targets, as metrics judge them
        for msg in messages:
            if msg.error() is not None:
                continue
            self.events_in += 1
            try:
                data: dict[str, Any] = json.loads(msg.value() or b"")
                if msg.topic() == self._scores:
                    version = int(data["model_version"])
                    self.join.add_served(
                        data["input_event_id"],
                        Served(
                            version,
                            labels.target_of_label(data["prediction"]),
                            labels.probabilities_in(data["probabilities"]),
                            self._trained_through(version, data),
                        ),
                    )
                elif data.get("model") == self.spec.name:
                    self.join.add_judged(
                        data["input_event_id"],
                        Judged(
                            labels.target_of_label(data["label"]),
                            labels.target_of_label(data["prediction"]),
                            labels.probabilities_in(data["probabilities"]),
                            data.get("segment") or {},
                            _position(data),
                        ),
                    )
            except (ValueError, KeyError, TypeError):
                self.unreadable += 1  # the scorers and trainers validate what they publish
        now = time.monotonic()
        if now - self._written >= WRITE_EVERY_S:
            self.flush()
        return len(messages)

    def flush(self) -> None:
        self._written = time.monotonic()
        now = time.time()
        rows, overall = self.join.rows(now), self.join.summary(now)
        try:
            write_quality(
                self._redis, self.settings.redis_key_prefix, self.spec.name, rows, overall
            )
        except (redis.RedisError, OSError) as exc:
            log.warning("cannot write the quality report to Redis (%s); retrying", exc)

    def stop(self) -> None:
        self.flush()
        if self._consumer is not None:
            self._consumer.close()

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
        return out

    def stats(self) -> dict[str, object]:
        return {
            "events_in": self.events_in,
            "judged": self.join.overall.judged,
            "honest": self.join.overall.pair.n,
            "waiting_scores": len(self.join.served),
            "waiting_labels": len(self.join.judged),
            "duplicates": self.join.duplicates,
        }


def _position(record: dict[str, Any]) -> InputPosition | None:
    """A prequential record's input position; None from a trainer that did not record it."""
    topic, offset = record.get("input_topic"), record.get("input_offset")
    if topic is None or offset is None:
        return None
    return str(topic), int(record["input_partition"]), int(offset)
