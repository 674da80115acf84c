"""What the dashboard shows, and the threads that sample it.

The pure part (no I/O, unit-tested): events/s from successive heartbeats (`RateTracker`),
a bounded history of consumer lag (`LagHistory`), and the shaping of heartbeats, manifests,
the audit stream and served-quality rows into the rows the page draws (`role_rows`,
`throughput`, `dead_letters`, `model_view`).

The I/O part: `Sampler` reads Redis (heartbeats, snapshots, quality) and Kafka (lag) in two
background threads every `interval` seconds, so a request never waits on a broker round trip:
`Sampler.state()` only assembles what the threads last saw.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis

    from lazarus.schemas.manifest import SnapshotManifest
    from lazarus.settings import Settings

from lazarus.rates import Key, RateTracker, events_of, key_of, number

log = logging.getLogger(__name__)

HISTORY_SAMPLES = 300
"""Lag samples kept for the chart (10 minutes at the default 2 s interval)."""
TIMELINE_EVENTS = 20
"""Moves of `current` shown per model."""
NO_QUALITY = "no served outcomes yet"


ROLE_DETAILS = (
    "group",
    "partitions",
    "scored",
    "swaps",
    "refused",
    "redis_up",
    "unacknowledged",
    "n_learned",
    "pending",
    "acked",
    "failed",
    "judged",
    "waiting_scores",
    "waiting_labels",
    "metrics_url",
)
"""Heartbeat fields shown beside a role when present (each role reports its own)."""


# ---------------------------------------------------------------------------------------------
# Pure: heartbeats -> rates and rows


def integer(value: Any) -> int | None:
    f = number(value)
    return None if f is None else int(f)


def display_state(beat: Mapping[str, str]) -> str:
    """The state to show: a running scorer is "serving" once it has a model, else waiting."""
    state = beat.get("state") or "unknown"
    if state == "running" and beat.get("role", "").startswith("scorer:"):
        return "serving" if beat.get("model_version") else "waiting for a snapshot"
    return state


def role_rows(
    beats: Iterable[Mapping[str, str]], rates: Mapping[Key, float | None], now: float
) -> list[dict[str, Any]]:
    """One row per live role instance, sorted by role and instance."""
    rows = []
    for beat in beats:
        role, instance = key_of(beat)
        kind, _, target = role.partition(":")
        updated, started = number(beat.get("updated_at")), number(beat.get("started_at"))
        events = events_of(beat)
        rows.append(
            {
                "role": role,
                "kind": kind,
                "target": target,
                "instance": instance,
                "host": beat.get("host", ""),
                "pid": integer(beat.get("pid")),
                "state": display_state(beat),
                "events": None if events is None else int(events),
                "events_per_s": rates.get((role, instance)),
                "model_version": integer(beat.get("model_version")),
                "dead_lettered": integer(beat.get("dead_lettered")) or 0,
                "beat_age_s": None if updated is None else max(0.0, now - updated),
                "uptime_s": None if started is None else max(0.0, now - started),
                "details": {k: beat[k] for k in ROLE_DETAILS if beat.get(k) not in (None, "")},
            }
        )
    return sorted(rows, key=lambda r: (r["role"], r["instance"]))


def throughput(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Events/s per role, summed over its instances (None until one has two heartbeats)."""
    by_role: dict[str, list[float | None]] = {}
    for row in rows:
        by_role.setdefault(row["role"], []).append(row["events_per_s"])
    out = []
    for role in sorted(by_role):
        known = [r for r in by_role[role] if r is not None]
        out.append(
            {
                "role": role,
                "instances": len(by_role[role]),
                "events_per_s": sum(known) if known else None,
            }
        )
    return out


def dead_letters(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Dead-lettered events per role, summed over its live instances."""
    counts: Counter[str] = Counter()
    for row in rows:
        counts[row["role"]] += int(row["dead_lettered"] or 0)
    return [{"role": role, "dead_lettered": counts[role]} for role in sorted(counts)]


# ---------------------------------------------------------------------------------------------
# Pure: consumer lag history


@dataclass(frozen=True)
class GroupLag:
    """One consumer group's lag at one sample."""

    group: str
    lag: int | None
    """Messages not yet committed, over every partition (None: could not be read)."""
    max_age_s: float | None = None
    """Age of the oldest unconsumed message (0 when caught up)."""
    committed: bool = False
    """The group has committed offsets (False: it never ran, or never committed yet)."""
    partitions: int = 0
    error: str | None = None


class LagHistory:
    """The last `size` lag samples, oldest first: a ring buffer, safe to read while written."""

    def __init__(self, size: int = HISTORY_SAMPLES) -> None:
        if size < 1:
            raise ValueError("a lag history keeps at least one sample")
        self._samples: deque[tuple[float, tuple[GroupLag, ...]]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, at: float, groups: Iterable[GroupLag]) -> None:
        sample = (at, tuple(groups))
        with self._lock:
            self._samples.append(sample)

    def __len__(self) -> int:
        with self._lock:
            return len(self._samples)

    def latest(self) -> tuple[float, tuple[GroupLag, ...]] | None:
        with self._lock:
            return self._samples[-1] if self._samples else None

    def series(self) -> dict[str, Any]:
        """`{"at": [epoch s, ...], "groups": {group: [lag or None, ...]}}`, one value per sample
        for every group (None where a sample lacks it), groups in the order first seen."""
        with self._lock:
            samples = list(self._samples)
        names: dict[str, None] = {}
        for _, groups in samples:
            for g in groups:
                names.setdefault(g.group, None)
        values: dict[str, list[int | None]] = {name: [] for name in names}
        for _, groups in samples:
            here = {g.group: g.lag for g in groups}
            for name in names:
                values[name].append(here.get(name))
        return {"at": [at for at, _ in samples], "groups": values}


# ---------------------------------------------------------------------------------------------
# Pure: models


@dataclass(frozen=True)
class VersionInfo:
    """What the dashboard needs from a version's manifest."""

    version: int
    created_at: float
    n_learned: int
    metrics: dict[str, float | None]
    rolling_metrics: dict[str, float | None]


def version_info(manifest: SnapshotManifest) -> VersionInfo:
    return VersionInfo(
        manifest.version,
        manifest.created_at.timestamp(),
        manifest.n_learned,
        dict(manifest.metrics),
        dict(manifest.rolling_metrics),
    )


def timeline_entry(entry: Mapping[str, str]) -> dict[str, Any]:
    """An audit-stream entry (publish, promote, rollback) as the page shows it."""
    return {
        "at": number(entry.get("at")),
        "action": entry.get("action", "?"),
        "version": integer(entry.get("version")),
        "previous": integer(entry.get("previous")) or None,
        "reason": entry.get("reason", ""),
        "actor": entry.get("actor", ""),
    }


def model_view(
    model: str,
    *,
    current: int | None,
    latest: int,
    pinned: int | None,
    versions: Sequence[int],
    infos: Mapping[int, VersionInfo | None],
    history: Sequence[Mapping[str, str]],
    quality: Sequence[Mapping[str, Any]],
    roles: Sequence[Mapping[str, Any]],
    now: float,
) -> dict[str, Any]:
    """One model: its pointers, staleness, who serves what, the timeline of moves of `current`
    (newest first), and per version (newest first) the trainer's prequential metrics beside the
    served metrics and their cost, when the quality monitor has measured them."""
    scorers = [r for r in roles if r["role"] == f"scorer:{model}"]
    serving = Counter(r["model_version"] for r in scorers if r["model_version"] is not None)
    by_version = {int(q["version"]): q for q in quality}
    shown = set(versions) | set(by_version) | ({current} if current else set())
    rows = []
    names: dict[str, None] = {}
    for v in sorted(shown, reverse=True):
        info, q = infos.get(v), by_version.get(v)
        prequential = dict(info.metrics) if info else {}
        served = dict((q or {}).get("served") or {})
        names.update(dict.fromkeys(prequential))
        names.update(dict.fromkeys(served))
        rows.append(
            {
                "version": v,
                "stored": v in versions,
                "current": v == current,
                "latest": v == latest,
                "pinned": v == pinned,
                "created_at": info.created_at if info else None,
                "n_learned": info.n_learned if info else None,
                "prequential": prequential,
                "rolling": dict(info.rolling_metrics) if info else {},
                "served_n": int((q or {}).get("n") or 0),
                "served": served,
                "served_prequential": dict((q or {}).get("prequential") or {}),
                "cost": dict((q or {}).get("cost") or {}),
                "scorers": serving.get(v, 0),
            }
        )
    info = infos.get(current) if current else None
    return {
        "model": model,
        "current": current,
        "latest": latest,
        "pinned": pinned,
        "created_at": info.created_at if info else None,
        "staleness_s": max(0.0, now - info.created_at) if info else None,
        "served_by": [
            {"instance": r["instance"], "version": r["model_version"], "state": r["state"]}
            for r in scorers
        ],
        "timeline": [timeline_entry(h) for h in history[:TIMELINE_EVENTS]],
        "metrics": sorted(names),
        "versions": rows,
        "quality_note": None if by_version else NO_QUALITY,
    }


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
        from lazarus.groups import known_groups
        from lazarus.kafka.config import client_config
        from lazarus.registry.redis_store import RedisSnapshotStore

        self.interval = interval
        self.lag = LagHistory(history)
        self._settings = settings
        self._redis = client
        self._prefix = settings.redis_key_prefix
        self._store = RedisSnapshotStore(client, self._prefix)
        self._kafka = client_config(settings, quiet=True)
        self._groups = known_groups(settings.topic_prefix)
        self._rates = RateTracker()
        self._infos: dict[tuple[str, int], VersionInfo | None] = {}
        self._seen: dict[str, Any] = {"roles": [], "models": []}
        self._at: dict[str, float | None] = {"redis": None, "kafka": None}
        self._errors: dict[str, str | None] = {"redis": None, "kafka": None}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- sampling (each runs in its own thread) --

    def sample_redis(self) -> None:
        from lazarus.heartbeat import read_heartbeats
        from lazarus.quality_store import read_quality

        now = time.time()
        beats = read_heartbeats(self._redis, self._prefix)
        roles = role_rows(beats, self._rates.update(beats), now)
        models = []
        for model in self._store.models():
            current = self._store.current(model)
            versions = self._store.versions(model)
            wanted = set(versions) | ({current} if current else set())
            models.append(
                model_view(
                    model,
                    current=current,
                    latest=self._store.latest(model),
                    pinned=self._store.pinned(model),
                    versions=versions,
                    infos={v: self._info(model, v) for v in wanted},
                    history=self._store.history(model, TIMELINE_EVENTS),
                    quality=read_quality(self._redis, self._prefix, model),
                    roles=roles,
                    now=now,
                )
            )
            self._forget(model, wanted)
        with self._lock:
            self._seen = {"roles": roles, "models": models}
            self._at["redis"] = now

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
        from lazarus.lag import group_lag, max_age, total_lag

        at = time.time()
        out: list[GroupLag] = []
        failure: str | None = None
        for group, topics in self._groups.items():
            if self._stop.is_set():
                return
            if failure is not None:  # the broker failed for one group: it will for the rest
                out.append(GroupLag(group, None, error=failure))
                continue
            try:
                rows = group_lag(self._kafka, group, list(topics), ages=True)
            except Exception as exc:  # any broker failure is shown, never raised
                failure = describe(exc)
                out.append(GroupLag(group, None, error=failure))
                continue
            out.append(
                GroupLag(
                    group,
                    total_lag(rows),
                    max_age(rows),
                    any(r.committed is not None for r in rows),
                    len(rows),
                )
            )
        self.lag.add(at, out)
        with self._lock:
            self._at["kafka"] = at
        self._set_error("kafka", failure)

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
        return state

    def health(self) -> dict[str, Any]:
        with self._lock:
            return {
                "status": "ok",
                "samples": len(self.lag),
                **{f"{k}_sampled_at": v for k, v in self._at.items()},
            }

    # -- threads --

    def start(self) -> None:
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
        for thread in self._threads:
            thread.join(timeout)


def describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
