"""The live status table of `lazarus up`: events/s per role, consumer lag, model version."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import redis
from rich.table import Table

from lazarus.heartbeat import read_heartbeats
from lazarus.kafka.config import KafkaConfig
from lazarus.lag import group_lag, total_lag
from lazarus.rates import RateTracker, key_of
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
        self._rates = RateTracker()
        self._lag: dict[str, int] = {}
        self._stop = threading.Event()
        # Reading offsets can take seconds (a slow broker, a group coordinator lookup):
        # it runs beside the display so the supervisor loop never waits on it.
        self._poller = threading.Thread(target=self._poll_lag, name="lag-poller", daemon=True)
        self._poller.start()

    def _poll_lag(self) -> None:
        while not self._stop.wait(LAG_EVERY_S):
            groups = {
                c.spec.group: c.spec.topics
                for c in self._children
                if c.spec.group and c.spec.topics
            }
            for group, topics in groups.items():
                if self._stop.is_set():
                    return
                try:
                    self._lag[group] = total_lag(group_lag(self._kafka, group, list(topics)))
                except Exception as exc:  # a lag probe must never stop the supervisor
                    log.debug("lag of %s unavailable: %s", group, exc)

    def close(self) -> None:
        self._stop.set()

    def render(self, elapsed: float) -> Table:
        try:
            beats = {
                int(b["pid"]): b for b in read_heartbeats(self._redis, self._prefix) if b.get("pid")
            }
        except (redis.RedisError, OSError, ValueError):
            beats = {}
        rates = self._rates.update(beats.values())
        table = Table(title=f"Lazarus — up {elapsed:,.0f}s (Ctrl-C stops everything)")
        for col in ("role", "pid", "state", "events/s", "events", "lag", "model version"):
            table.add_column(
                col, justify="right" if col in ("events/s", "events", "lag", "pid") else "left"
            )
        for child in self._children:
            pid = child.proc.pid
            beat = beats.get(pid, {})
            events = _events(beat) or "-"
            rate = rates.get(key_of(beat)) if beat else None
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


def _events(beat: dict[str, str]) -> str | None:
    """What a role counts as its work: events out (producers, scorers) or in (trainers)."""
    for name in ("events_out", "events_in"):
        if beat.get(name) not in (None, "", "0"):
            return beat[name]
    return beat.get("events_out") or beat.get("events_in")
