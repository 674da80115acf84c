"""The quality monitor's shell: read a model's served scores and the trainer's prequential
records, join them (`core`), and keep the per-version report in Redis (`quality_store`).

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
from lazarus.quality.core import Judged, QualityJoin, Served, classes
from lazarus.quality_store import write_quality
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.topics import PREQUENTIAL
from lazarus.settings import Settings

log = logging.getLogger(__name__)

WRITE_EVERY_S = 2.0


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

    def step(self) -> int:
        assert self._consumer is not None
        messages = self._consumer.consume(1000, 0.2)
        for msg in messages:
            if msg.error() is not None:
                continue
            self.events_in += 1
            try:
                data: dict[str, Any] = json.loads(msg.value() or b"")
                if msg.topic() == self._scores:
                    self.join.add_served(
                        data["input_event_id"],
                        Served(
                            int(data["model_version"]),
                            data["prediction"],
                            classes(data["probabilities"]),
                        ),
                    )
                elif data.get("model") == self.spec.name:
                    self.join.add_judged(
                        data["input_event_id"],
                        Judged(
                            data["label"],
                            data["prediction"],
                            classes(data["probabilities"]),
                            data.get("segment") or {},
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
        rows = [{**r, "updated_at": time.time()} for r in self.join.rows()]
        try:
            write_quality(self._redis, self.settings.redis_key_prefix, self.spec.name, rows)
        except (redis.RedisError, OSError) as exc:
            log.warning("cannot write the quality report to Redis (%s); retrying", exc)

    def stop(self) -> None:
        self.flush()
        if self._consumer is not None:
            self._consumer.close()

    def _samples(self) -> list[Sample]:
        out = []
        for row in self.join.rows():
            for kind in ("served", "prequential"):
                for metric, value in row[kind].items():
                    if value is not None:
                        out.append(
                            Sample(
                                f"{kind}_on_served_metric"
                                if kind == "prequential"
                                else "served_metric",
                                "gauge",
                                f"{kind} metric on the events version N served and that have a label",
                                {
                                    "model": self.spec.name,
                                    "version": str(row["version"]),
                                    "metric": metric,
                                },
                                value,
                            )
                        )
        return out

    def stats(self) -> dict[str, object]:
        return {
            "events_in": self.events_in,
            "judged": sum(p.n for p in self.join.by_version.values()),
            "waiting_scores": len(self.join.served),
            "waiting_labels": len(self.join.judged),
            "duplicates": self.join.duplicates,
        }
