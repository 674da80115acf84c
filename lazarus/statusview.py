"""The live status table of `lazarus up`: events/s per role, consumer lag, model version.

Lag is sampled beside the display (`lazarus.lag_poller`, every `LAG_EVERY_S`), so drawing the
table never waits on the broker; a figure older than `STALE_AFTER_S` shows its age
(`4,030 · 37 s old`), and a group that never committed says its lag is the whole log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import redis
from rich.table import Table

from lazarus.heartbeat import read_heartbeats
from lazarus.kafka.config import KafkaConfig
from lazarus.lag import LagSample, lag_exact, total_lag
from lazarus.lag_poller import LAG_EVERY_S, LagPoller
from lazarus.lag_text import group_note, lag_cell
from lazarus.rates import RateTracker, key_of
from lazarus.supervisor import Child

log = logging.getLogger(__name__)

__all__ = ["LAG_EVERY_S", "StatusView", "lag_text_of"]


class StatusView:
    def __init__(
        self,
        children: Sequence[Child],
        client: redis.Redis,
        prefix: str,
        kafka: KafkaConfig,
        topic_prefix: str,
        *,
        lag_every: float = LAG_EVERY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._children = children
        self._redis = client
        self._prefix = prefix
        self._kafka = kafka
        self._topic_prefix = topic_prefix
        self._rates = RateTracker()
        self._clock = clock
        groups = {c.spec.group: c.spec.topics for c in children if c.spec.group and c.spec.topics}
        self.lag = LagPoller(kafka, groups, every=lag_every)
        self.lag.start()

    def close(self) -> None:
        self.lag.stop()

    def render(self, elapsed: float) -> Table:
        try:
            beats = {
                int(b["pid"]): b for b in read_heartbeats(self._redis, self._prefix) if b.get("pid")
            }
        except (redis.RedisError, OSError, ValueError):
            beats = {}
        rates = self._rates.update(beats.values())
        table = Table(title=f"Lazarus — up {elapsed:,.0f}s (Ctrl-C stops everything)")
        # Role names are never cut: `scorer:habitat#1` and `#2` must stay apart when narrow.
        names = max((len(c.spec.name) for c in self._children), default=0)
        for col in ("role", "pid", "state", "events/s", "events", "lag", "model version"):
            table.add_column(
                col,
                justify="right" if col in ("events/s", "events", "lag", "pid") else "left",
                no_wrap=col == "role",
                min_width=names if col == "role" else None,
            )
        for child in self._children:
            pid = child.proc.pid
            beat = beats.get(pid, {})
            events = _events(beat) or "-"
            rate = rates.get(key_of(beat)) if beat else None
            state = child.state if child.state != "running" else beat.get("state", "starting")
            table.add_row(
                child.spec.name,
                str(pid),
                state,
                f"{rate:,.0f}" if rate is not None else "-",
                events,
                lag_text_of(self.lag.latest(), child.spec.group, self._clock()),
                beat.get("model_version") or _shards(beat) or "-",
            )
        return table


def lag_text_of(sample: LagSample | None, group: str | None, now: float) -> str:
    """The `lag` cell of a role: its group's total lag in `sample`, stale or not, `≥N` when a
    lower bound (`-`: no group, or no sample of it yet)."""
    rows = sample.groups.get(group) if sample is not None and group else None
    if rows is None or sample is None:
        return "-"
    lag = total_lag(rows)
    note = group_note(any(r.committed is not None for r in rows), lag, len(rows))
    return lag_cell(lag, note, sample.sampled_at, now, lag_exact(rows))


def _shards(beat: dict[str, str]) -> str | None:
    """A per-key model's trainer: the shards it owns; its scorer: partition:version served."""
    owned, served = beat.get("owned"), beat.get("served_shards")
    return f"shards {owned}" if owned else f"shards {served}" if served else None


def _events(beat: dict[str, str]) -> str | None:
    """What a role counts as its work: events out (producers, scorers) or in (trainers)."""
    for name in ("events_out", "events_in"):
        if beat.get(name) not in (None, "", "0"):
            return beat[name]
    return beat.get("events_out") or beat.get("events_in")
