"""Follow a model's `current` pointer and open each new version off the caller's thread.

A pub/sub notification (`keys.events_channel`) triggers a check at once; a
poll every `poll_s` seconds catches the notifications pub/sub loses while a
connection is down. Fetching (`get_model`: no state part), verifying and
unpickling (the `open` function given, typically built on `opening.open_model`)
happen on this thread; the caller takes the opened version when it suits it
(`take()`), so a scorer swaps between batches and never waits on Redis. Redis
being down is logged, retried with backoff, and never takes away what was
already opened. A version `open` refuses (SnapshotRejected) is logged once and
never retried: the follower waits for the next `current`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import redis

from lazarus.errors import SnapshotRejected
from lazarus.registry.opening import NotLearnedEnough
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.safe_pickle import ModuleNotLoadable
from lazarus.registry.sealing import SealedSnapshot
from lazarus.settings import redact_url

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 5.0

T = TypeVar("T")

Opener = Callable[[SealedSnapshot, int], T]
"""Verify and unpickle a fetched version (sealed, version number); SnapshotRejected to refuse."""


@dataclass
class FollowStats:
    refused: int = 0
    """Versions `open` refused."""
    last_refused_at: float | None = None
    """When `open` last refused a version (epoch s); None: never."""
    redis_errors: int = 0
    redis_up: bool = False
    refused_versions: dict[int, str] = field(default_factory=dict)
    """Each refused version and why (never retried)."""
    last_load_ms: float = 0.0
    """Fetch, verify and open of the last version taken, in milliseconds."""


class CurrentFollower(threading.Thread, Generic[T]):
    """A daemon thread that follows `model`'s `current` in the Redis at `redis_url` (keys under
    `prefix`) and opens each new version with `open`; `poll_s` seconds between polls.
    With `notifications` False it only polls (for Redis setups without pub/sub)."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        model: str,
        open: Opener[T],
        poll_s: float,
        *,
        notifications: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name or f"current-follower-{model}", daemon=True)
        self._url = redis_url
        self._prefix = prefix
        self._model = model
        self._open = open
        self._poll_s = poll_s
        self._notifications = notifications
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._ready: T | None = None
        self._offered: int | None = None
        """The version last handed to (or waiting for) the scoring loop."""
        self.stats = FollowStats()
        self.wakeups = threading.Event()
        """Set whenever a new model is ready (the scoring loop may wait on it)."""

    # -- the caller's side -------------------------------------------------------------------

    def take(self) -> T | None:
        """The newly opened version, once; None when there is nothing new."""
        with self._lock:
            ready, self._ready = self._ready, None
        return ready

    def stop(self) -> None:
        self._stop_event.set()

    # -- follower thread ----------------------------------------------------------------------

    def run(self) -> None:
        delay = BACKOFF_FIRST_S
        while not self._stop_event.is_set():
            client = redis.Redis.from_url(self._url, socket_connect_timeout=1, socket_timeout=2)
            pubsub = None
            try:
                store = RedisSnapshotStore(client, self._prefix)
                if self._notifications:
                    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                    pubsub.subscribe(store.channel(self._model))
                self.check(store)  # whatever changed while we were not listening
                if not self.stats.redis_up and self.stats.redis_errors:
                    log.info("Redis is back; following %s again", self._model)
                self.stats.redis_up = True
                delay = BACKOFF_FIRST_S
                self._follow(store, pubsub)
            except (redis.RedisError, OSError) as exc:
                self.stats.redis_errors += 1
                if self.stats.redis_up or self.stats.redis_errors == 1:
                    log.warning(
                        "Redis at %s: %s; still serving %s, retrying (check LAZARUS_REDIS_URL "
                        "if this lasts)",
                        redact_url(self._url),
                        exc,
                        f"v{self._offered}" if self._offered else "nothing yet",
                    )
                self.stats.redis_up = False
                self._stop_event.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(redis.RedisError, OSError):
                        pubsub.close()
                client.close()

    def _follow(self, store: RedisSnapshotStore, pubsub: redis.client.PubSub | None) -> None:
        next_poll = time.monotonic() + self._poll_s
        while not self._stop_event.is_set():
            wait = max(0.0, min(0.5, next_poll - time.monotonic()))
            if pubsub is not None:
                message = pubsub.get_message(timeout=wait)
            else:
                message = None
                self._stop_event.wait(wait)
            if message is not None or time.monotonic() >= next_poll:
                self.check(store)
                next_poll = time.monotonic() + self._poll_s

    def check(self, store: RedisSnapshotStore) -> None:
        """Open `current` if it is new and not refused before."""
        name = self._model
        current = store.current(name)
        if current is None or current == self._offered:
            return
        if current in self.stats.refused_versions:
            return
        started = time.perf_counter()
        sealed = store.get_model(name, current)
        if sealed is None:
            log.warning(
                "%s v%d is current but not stored (trimmed?); waiting for the next", name, current
            )
            return
        try:
            opened = self._open(sealed, current)
        except SnapshotRejected as exc:
            self.stats.refused += 1
            self.stats.last_refused_at = time.time()
            self.stats.refused_versions[current] = str(exc)
            log.error(
                "REFUSED %s v%d: %s. Still serving %s. %s",
                name,
                current,
                exc,
                f"v{self._offered}" if self._offered else "nothing",
                exc.hint
                if isinstance(exc, NotLearnedEnough | ModuleNotLoadable)
                else "Check the trainer's signing key (LAZARUS_SIGNING_PUBLIC_KEY here) and "
                f"`lazarus models verify {name}`",
            )
            return
        self.stats.last_load_ms = (time.perf_counter() - started) * 1000
        with self._lock:
            self._ready = opened
            self._offered = current
        self.wakeups.set()
