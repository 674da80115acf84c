"""What the dashboard shows, and the threads that sample it.

The pure parts (no I/O, unit-tested) live beside this module, each named after what it shapes:
`roles_view` (heartbeats -> role rows, events/s per role, dead letters), `lag_view` (a bounded
history of consumer lag) and `models_view` (manifests, the audit stream and served-quality rows
-> one view per model). They are re-exported here.

The I/O part: `Sampler` reads Redis (heartbeats, snapshots, lineups, quality) and Kafka (lag) in two
background threads every `interval` seconds, so a request never waits on a broker round trip:
`Sampler.state()` only assembles what the threads last saw into the `/api/state` JSON.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis

    from lazarus.settings import Settings

from lazarus.dashboard.health_view import dashboard_health
from lazarus.dashboard.health_window import CountWindows, with_health_facts
from lazarus.dashboard.lag_view import HISTORY_SAMPLES, GroupLag, LagHistory, carried
from lazarus.dashboard.models_view import (
    NO_QUALITY,
    TIMELINE_EVENTS,
    VersionInfo,
    model_view,
    timeline_entry,
    version_info,
)
from lazarus.dashboard.roles_view import (
    ROLE_DETAILS,
    dead_letters,
    display_state,
    integer,
    role_rows,
    throughput,
)
from lazarus.health_inputs import up_roles
from lazarus.lag_memo import LagMemo
from lazarus.lag_text import STALE_AFTER_S
from lazarus.lifecycle_view import read_lifecycles
from lazarus.rates import RateTracker

__all__ = [
    "HISTORY_SAMPLES",
    "NO_QUALITY",
    "ROLE_DETAILS",
    "TIMELINE_EVENTS",
    "GroupLag",
    "LagHistory",
    "Sampler",
    "VersionInfo",
    "dead_letters",
    "describe",
    "display_state",
    "integer",
    "jsonable",
    "model_view",
    "role_rows",
    "throughput",
    "timeline_entry",
    "version_info",
]

log = logging.getLogger(__name__)


def jsonable(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (strict JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# I/O: the sampler


class Sampler:
    """Samples Redis and Kafka in two daemon threads every `interval` seconds; `state()` is what
    `/api/state` returns. A service that fails is reported in the state, never raised."""

    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        interval: float = 2.0,
        *,
        history: int = HISTORY_SAMPLES,
    ) -> None:
        from lazarus.dashboard.sites_feed import SitesFeed
        from lazarus.groups import known_groups
        from lazarus.kafka.config import client_config
        from lazarus.registry.lineup import Lineup

        self.interval = interval
        self.lag = LagHistory(history)
        self._settings = settings
        self._redis = client
        self._prefix = settings.redis_key_prefix
        self._lineup = Lineup(client, self._prefix)
        self._store = self._lineup.store
        self._kafka = client_config(settings, quiet=True)
        self._groups = known_groups(settings.topic_prefix)
        self._expected: list[str] = []
        """Roles a running `lazarus up` of this stack should have alive (health)."""
        self._lag_memo = LagMemo()
        self._rates = RateTracker()
        self._windows = CountWindows()
        """Each role's inputs and dead letters over health's window."""
        self._infos: dict[tuple[str, int], VersionInfo | None] = {}
        self._seen: dict[str, Any] = {"roles": [], "models": []}
        self._at: dict[str, float | None] = {"redis": None, "kafka": None}
        self._errors: dict[str, str | None] = {"redis": None, "kafka": None}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.site_feed = SitesFeed(settings)
        """The site map's data (`/api/sites`), tailed from Kafka in a thread of its own."""

    # -- sampling (each runs in its own thread) --

    def sample_redis(self) -> None:
        from lazarus.heartbeat import read_heartbeats

        now = time.time()
        beats = read_heartbeats(self._redis, self._prefix)
        roles = role_rows(beats, self._rates.update(beats), now)
        with_health_facts(roles, beats, self._windows.update(beats))
        names = self._store.models()
        lives = read_lifecycles(self._lineup, names)
        models = [self._model(name, roles, now, lives[name]) for name in names]
        self._expected = up_roles(self._prefix, self._settings.topic_prefix)
        with self._lock:
            self._seen = {"roles": roles, "models": models}
            self._at["redis"] = now

    def _model(
        self, model: str, roles: list[dict[str, Any]], now: float, life: dict[str, Any]
    ) -> dict[str, Any]:
        """One model's view from the registry, the quality store and `life` (`line_of` and
        `lifecycle`: `lazarus.lifecycle_view.read_lifecycles`); forgets dropped versions."""
        from lazarus.quality_store import read_overall, read_quality

        current = self._store.current(model)
        versions = self._store.versions(model)
        wanted = set(versions) | ({current} if current else set())
        view = model_view(
            model,
            current=current,
            latest=self._store.latest(model),
            pinned=self._store.pinned(model),
            versions=versions,
            infos={v: self._info(model, v) for v in wanted},
            history=self._store.history(model, TIMELINE_EVENTS),
            quality=read_quality(self._redis, self._prefix, model),
            overall=read_overall(self._redis, self._prefix, model),
            roles=roles,
            now=now,
            line_of=life["line_of"],
            lifecycle=life["lifecycle"],
        )
        self._forget(model, wanted)
        return view

    def _info(self, model: str, version: int) -> VersionInfo | None:
        """A version's manifest summary, read once: stored versions never change."""
        key = (model, version)
        if key not in self._infos:
            info = None
            try:
                manifest = self._store.manifest(model, version)
                info = version_info(manifest) if manifest is not None else None
            except ValueError as exc:
                log.warning("%s v%d: unreadable manifest (%s)", model, version, exc)
            self._infos[key] = info
        return self._infos[key]

    def _forget(self, model: str, keep: set[int]) -> None:
        for key in [k for k in self._infos if k[0] == model and k[1] not in keep]:
            del self._infos[key]

    def sample_lag(self) -> None:
        """Every Lazarus group's lag in one sample (`lazarus.lag.sample_lag`): the built-in
        models' groups and any other `{prefix}lazarus.*` group with commits. A failure is shown
        (the table keeps the last figures with their age), never raised."""
        from lazarus.lag import sample_lag

        try:
            sample = sample_lag(
                self._kafka, self._groups, prefix=self._settings.topic_prefix, memo=self._lag_memo
            )
        except Exception as exc:  # any broker failure is shown, never raised
            failure = describe(exc)
            latest = self.lag.latest()
            shown = {g.group: g for g in latest[1]} if latest else {}
            self.lag.add(time.time(), carried(shown, [*self._groups, *shown], failure).values())
            self._set_error("kafka", failure)
            return
        out = [GroupLag.of(g, rows, sample.sampled_at) for g, rows in sample.groups.items()]
        self.lag.add(sample.sampled_at, out)
        with self._lock:
            self._at["kafka"] = sample.sampled_at
        self._set_error("kafka", None)

    # -- what the page gets --

    def state(self) -> dict[str, Any]:
        with self._lock:
            seen = dict(self._seen)
            at = dict(self._at)
            errors = dict(self._errors)
        latest = self.lag.latest()
        roles = seen["roles"]
        state: dict[str, Any] = jsonable(
            {
                "now": time.time(),
                "interval": self.interval,
                "stale_after_s": max(STALE_AFTER_S, 1.5 * self.interval),
                "redis_key_prefix": self._prefix,
                "topic_prefix": self._settings.topic_prefix,
                "sources": {
                    name: {"sampled_at": at[name], "error": errors[name]}
                    for name in ("redis", "kafka")
                },
                "roles": roles,
                "throughput": throughput(roles),
                "dead_letters": dead_letters(roles),
                "models": seen["models"],
                "lag": {
                    "series": self.lag.series(),
                    "groups": [asdict(g) for g in latest[1]] if latest else [],
                },
            }
        )
        state["health"] = dashboard_health(
            state, expected=self._expected, heartbeat_s=self._settings.heartbeat_seconds
        )
        return state

    def sites(self) -> dict[str, Any]:
        """`/api/sites`: each built-in model's sites, where and how they score (`sites_view`)."""
        feed = self.site_feed.state()
        sites: dict[str, Any] = jsonable({**feed, "now": time.time(), "interval": self.interval})
        return sites

    def health(self) -> dict[str, Any]:
        with self._lock:
            return {
                "status": "ok",
                "samples": len(self.lag),
                **{f"{k}_sampled_at": v for k, v in self._at.items()},
            }

    # -- threads --

    def start(self) -> None:
        self.site_feed.start()
        for name, sample in (("redis", self.sample_redis), ("kafka", self.sample_lag)):
            thread = threading.Thread(
                target=self._loop, args=(name, sample), name=f"dashboard-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _loop(self, name: str, sample: Callable[[], None]) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                sample()
                if name == "redis":  # the lag sampler reports its own errors
                    self._set_error(name, None)
            except Exception as exc:  # a sampler never dies: it shows the error and retries
                self._set_error(name, describe(exc))
            if self._stop.wait(max(0.05, self.interval - (time.monotonic() - started))):
                return

    def _set_error(self, name: str, error: str | None) -> None:
        with self._lock:
            before = self._errors[name]
            self._errors[name] = error
        if error is not None and error != before:
            log.warning("dashboard: %s unavailable: %s (retrying)", name, error)
        elif error is None and before is not None:
            log.info("dashboard: %s is back", name)

    def stop(self, timeout: float = 2.0) -> None:
        """Ask both threads to stop; a lag probe in flight may finish after (daemon threads)."""
        self._stop.set()
        self.site_feed.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)


def describe(exc: BaseException) -> str:
    """An exception as one line for the page: its message (or type), at most 300 characters."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
