"""Redis connections: one way to connect, one way to say Redis is missing."""

from __future__ import annotations

import redis

from lazarus.errors import ServiceUnavailable
from lazarus.settings import env_name, redact_url

PING_TIMEOUT_S = 1.0
START_TIMEOUT_S = 5.0
"""How long a role (trainer, scorer) waits for Redis at start before it exits 1 (capped by
its --timeout)."""


def connect(url: str, *, timeout: float = 5.0) -> redis.Redis:
    """A client for `url` (no I/O yet: the first command connects)."""
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def answers(url: str, timeout: float = PING_TIMEOUT_S) -> bool:
    """True when a Redis server answers PING at `url`."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def require(url: str, timeout: float = PING_TIMEOUT_S) -> redis.Redis:
    """A connected client, or ServiceUnavailable naming the setting to change."""
    if not answers(url, timeout):
        raise ServiceUnavailable(
            f"no Redis answered at {redact_url(url)}; start one, or set {env_name('redis_url')} "
            "(while `lazarus up` runs, commands in other terminals use its Redis)"
        )
    return connect(url)
