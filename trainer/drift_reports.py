"""The trainer's drift reports, out: a `DriftEvent` on the drift topic, a Prometheus counter,
the lineup's last-drift record and an audit entry (what the policy did).

Kafka and Redis failures are logged and never stop training: the event goes through the
producer's own retries, the Redis record is a convenience for `status` and the dashboard.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

import redis

from lazarus.kafka.producer import Publisher
from lazarus.metrics import Sample
from lazarus.registry.lineup import Lineup
from lazarus.schemas.drift import DriftEvent
from lazarus.schemas.lifecycle import fresh_line
from lazarus.trainer.lifecycle import DriftReport

log = logging.getLogger("lazarus.trainer.app")

_DOC = "drifts detected, by source (prequential error, features) and detector"


class DriftReporter:
    """`report(reports)` for each batch's drift reports of model `model` (its main line)."""

    def __init__(
        self,
        model: str,
        publisher: Publisher,
        topic: str,
        lineup: Lineup | None,
        role: str,
        detector: str = "ADWIN",
    ) -> None:
        """`detector`: the error detector the model's policy runs; its counter (and KS's) is
        exported at 0 from the start, so the first drift is a rise Prometheus sees."""
        self.model = model
        self._publisher = publisher
        self._topic = topic
        self._lineup = lineup
        self._role = role
        self.counts: dict[tuple[str, str], int] = {
            ("prequential", detector): 0,
            ("features", "KS"): 0,
        }
        self.last: DriftEvent | None = None

    def report(self, reports: list[DriftReport]) -> None:
        for r in reports:
            event = self.event_of(r)
            key = (event.source, event.detector)
            self.counts[key] = self.counts.get(key, 0) + 1
            self.last = event
            self._publisher.publish(self._topic, event.model, event.model_dump_json().encode())
            self._log(event, r)
            self._record(event, r)

    def event_of(self, r: DriftReport) -> DriftEvent:
        d = r.detection
        ident = f"{self.model}|{d.source}|{d.detector}|{d.feature}|{d.n_seen}|{r.n_learned}"
        return DriftEvent(
            event_id=hashlib.blake2b(ident.encode(), digest_size=16).hexdigest(),
            event_time=datetime.now(UTC),
            model=self.model,
            line=self.model,
            source=d.source,
            detector=d.detector,
            feature=d.feature,
            statistic=d.statistic,
            p_value=d.p_value,
            error_before=d.error_before,
            error_after=d.error_after,
            n_seen=d.n_seen,
            at_offsets=r.at_offsets,
            action=r.action,
            detected_at=datetime.now(UTC),
        )

    def _log(self, event: DriftEvent, r: DriftReport) -> None:
        what = (
            f"feature {event.feature} moved (KS statistic {event.statistic:.3f}, "
            f"p {event.p_value:.2g})"
            if event.source == "features"
            else f"the prequential error rose from {event.error_before:.3f} to "
            f"{event.error_after:.3f} ({event.detector})"
        )
        did = {
            None: "alert only",
            "main": f"{self.model} starts afresh from here",
            "fresh": f"a fresh challenger {fresh_line(self.model)} starts from here",
        }[r.acted_on]
        log.warning(
            "drift in %s after %d learned events: %s; %s", self.model, r.n_learned, what, did
        )

    def _record(self, event: DriftEvent, r: DriftReport) -> None:
        """The lineup's last drift and an audit entry, for drifts of the error only: the inputs
        of a live feed move with the day and the season (KS alerts are many, and never act);
        they go to the drift topic and the counter."""
        if self._lineup is None or event.source == "features":
            return
        body = event.model_dump(mode="json")
        try:
            self._lineup.write(self.model, "drift", body)
            action = {None: "drift", "main": "reset", "fresh": "challenger"}[r.acted_on]
            line = fresh_line(self.model) if r.acted_on == "fresh" else self.model
            reason = f"{event.source} drift ({event.detector}{' ' + event.feature if event.feature else ''})"
            self._lineup.audit(self.model, action, line, 0, reason, self._role, body)
            if r.acted_on is not None:
                self._lineup.new_generation(self.model, line)
                self._lineup.write(
                    self.model,
                    "action",
                    {
                        "kind": action,
                        "line": line,
                        "at": event.detected_at.isoformat(),
                        "evidence": body,
                    },
                )
        except (redis.RedisError, OSError) as exc:
            log.warning(
                "cannot record the drift of %s in Redis (%s); the drift topic has it",
                self.model,
                exc,
            )

    def samples(self) -> list[Sample]:
        return [
            Sample("drift", "counter", _DOC, {"model": self.model, "source": s, "detector": d}, n)
            for (s, d), n in sorted(self.counts.items())
        ]
