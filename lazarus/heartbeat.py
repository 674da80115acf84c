"""Role heartbeats in Redis: who runs, what it has done, which model it serves.

Each long-running role writes a small hash every `interval` seconds under
``{prefix}:roles:{role}:{instance}`` (`lazarus.registry.keys.role_key`) with a
short TTL, so a role that dies disappears by itself. `lazarus up` and `lazarus
status` read them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from lazarus.metrics import RoleMetrics
from lazarus.registry.keys import role_key, roles_pattern
from lazarus.settings import Settings

log = logging.getLogger(__name__)

TTL_FACTOR = 5


class HeartbeatThread(threading.Thread):
    """Publishes `stats()` every `interval` s. Redis being down is logged once, never fatal."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        role: str,
        instance: str,
        stats: Callable[[], Mapping[str, Any]],
        interval: float = 1.0,
        health_file: str | None = None,
    ) -> None:
        super().__init__(name=f"heartbeat-{role}", daemon=True)
        self._client = client
        self._key = role_key(prefix, role, instance)
        self._stats = stats
        self._interval = interval
        self._stop_event = threading.Event()
        self._static = {
            "role": role,
            "instance": instance,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": time.time(),
        }
        self._failing = False
        self._health_file = health_file

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            self.beat()

    def beat(self, state: str = "running") -> None:
        if self._health_file:
            # Liveness for container health checks: the role's loop is turning, Redis or not.
            with contextlib.suppress(OSError):
                Path(self._health_file).touch()
        fields = {**self._static, **self._stats(), "state": state, "updated_at": time.time()}
        clean: dict[str | bytes | bytearray | memoryview | int | float, str | int | float] = {
            k: ("" if v is None else v if isinstance(v, int | float) else str(v))
            for k, v in fields.items()
        }
        try:
            pipe = self._client.pipeline()
            pipe.hset(self._key, mapping=clean)
            pipe.expire(self._key, max(3, int(self._interval * TTL_FACTOR)))
            pipe.execute()
            if self._failing:
                log.info("Redis is back; heartbeats resumed")
            self._failing = False
        except (redis.RedisError, OSError) as exc:
            if not self._failing:
                log.warning("cannot write heartbeat to Redis (%s); the role keeps working", exc)
            self._failing = True

    def stop(self, state: str = "stopped") -> None:
        self._stop_event.set()
        self.beat(state)


def read_heartbeats(client: redis.Redis, prefix: str) -> list[dict[str, str]]:
    """Every live role's last heartbeat, sorted by role and instance."""
    rows: list[dict[str, str]] = []
    for key in client.scan_iter(match=roles_pattern(prefix), count=500):
        raw = client.hgetall(key)
        if raw:
            rows.append({_text(k): _text(v) for k, v in raw.items()})
    return sorted(rows, key=lambda r: (r.get("role", ""), r.get("instance", "")))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@contextmanager
def running_heartbeat(
    settings: Settings,
    role: str,
    stats: Callable[[], Mapping[str, Any]],
    metrics: RoleMetrics | None = None,
) -> Iterator[HeartbeatThread]:
    """Heartbeats (and, given `metrics`, the role's /metrics server) for the life of a `with`
    block; the last heartbeat says the role stopped."""
    client = redis.Redis.from_url(
        settings.redis_url_value, socket_timeout=1, socket_connect_timeout=1
    )
    url = metrics.serve(settings) if metrics is not None else None

    def with_url() -> Mapping[str, Any]:
        return {**stats(), "metrics_url": url or ""}

    beat = HeartbeatThread(
        client,
        settings.redis_key_prefix,
        role,
        f"{socket.gethostname()}-{os.getpid()}",
        with_url,
        settings.heartbeat_seconds,
        settings.health_file,
    )
    beat.start()
    try:
        yield beat
    finally:
        beat.stop()
        client.close()
        if metrics is not None:
            metrics.close()
