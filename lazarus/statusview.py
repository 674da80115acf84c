"""The live status table of `lazarus up`: events/s per role, consumer lag, model version."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import redis
from rich.table import Table

from lazarus.heartbeat import read_heartbeats
from lazarus.kafka.config import KafkaConfig
from lazarus.lag import group_lag, total_lag
from lazarus.supervisor import Child

log = logging.getLogger(__name__)

LAG_EVERY_S = 2.0


class StatusView:
    def __init__(
        self,
        children: Sequence[Child],
        client: redis.Redis,
        prefix: str,
        kafka: KafkaConfig,
        topic_prefix: str,
    ) -> None:
        self._children = children
        self._redis = client
        self._prefix = prefix
        self._kafka = kafka
        self._topic_prefix = topic_prefix
        self._last: dict[int, tuple[float, float]] = {}
        self._lag: dict[str, int] = {}
        self._lag_at = 0.0

    def _rates(self, beats: dict[int, dict[str, str]]) -> dict[int, float]:
        rates: dict[int, float] = {}
        now = time.monotonic()
        for pid, beat in beats.items():
            count = float(beat.get("events_out") or beat.get("events_in") or 0)
            prev = self._last.get(pid)
            if prev is not None and now > prev[0]:
                rates[pid] = max(0.0, (count - prev[1]) / (now - prev[0]))
            self._last[pid] = (now, count)
        return rates

    def _refresh_lag(self) -> None:
        if time.monotonic() - self._lag_at < LAG_EVERY_S:
            return
        self._lag_at = time.monotonic()
        for child in self._children:
            group = child.spec.group
            if group and child.spec.topics:
                try:
                    self._lag[group] = total_lag(
                        group_lag(self._kafka, group, list(child.spec.topics))
                    )
                except Exception as exc:  # a lag probe must never stop the supervisor
                    log.debug("lag of %s unavailable: %s", group, exc)

    def render(self, elapsed: float) -> Table:
        try:
            beats = {
                int(b["pid"]): b for b in read_heartbeats(self._redis, self._prefix) if b.get("pid")
            }
        except (redis.RedisError, OSError, ValueError):
            beats = {}
        rates = self._rates(beats)
        self._refresh_lag()
        table = Table(title=f"Lazarus — up {elapsed:,.0f}s (Ctrl-C stops everything)")
        for col in ("role", "pid", "state", "events/s", "events", "lag", "model version"):
            table.add_column(
                col, justify="right" if col in ("events/s", "events", "lag", "pid") else "left"
            )
        for child in self._children:
            pid = child.proc.pid
            beat = beats.get(pid, {})
            events = beat.get("events_out") or beat.get("events_in") or "-"
            rate = rates.get(pid)
            lag = self._lag.get(child.spec.group or "", None)
            state = child.state if child.state != "running" else beat.get("state", "starting")
            table.add_row(
                child.spec.name,
                str(pid),
                state,
                f"{rate:,.0f}" if rate is not None else "-",
                events,
                f"{lag:,}" if lag is not None else "-",
                beat.get("model_version") or "-",
            )
        return table
