"""Follow a model's `current` pointer and load new versions off the scoring thread.

A pub/sub notification triggers a check at once; a poll every `poll_s` seconds
catches the notifications pub/sub loses while a connection is down. Fetching,
verifying and unpickling happen on this thread; the scoring loop takes the
ready model between batches (`take()`), so a swap never splits a batch and
scoring never waits on Redis. Redis being down is logged, retried with backoff,
and never stops scoring with the model already loaded.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

import redis

from lazarus.errors import SnapshotRejected
from lazarus.scorer.serving import NotLearnedEnough, ServingModel, open_snapshot
from lazarus.settings import redact_url
from lazarus.signing import Verifier
from lazarus.snapshot_store import RedisSnapshotStore
from lazarus.trainer.specs import ModelSpec

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 5.0


@dataclass
class WatchStats:
    refused: int = 0
    redis_errors: int = 0
    redis_up: bool = False
    refused_versions: dict[int, str] = field(default_factory=dict)
    last_load_ms: float = 0.0


class SnapshotWatcher(threading.Thread):
    def __init__(
        self,
        redis_url: str,
        prefix: str,
        spec: ModelSpec,
        verifier: Verifier,
        poll_s: float,
        *,
        notifications: bool = True,
    ) -> None:
        super().__init__(name=f"snapshot-watcher-{spec.name}", daemon=True)
        self._url = redis_url
        self._prefix = prefix
        self._spec = spec
        self._verifier = verifier
        self._poll_s = poll_s
        self._notifications = notifications
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._ready: ServingModel | None = None
        self._offered: int | None = None
        """The version last handed to (or waiting for) the scoring loop."""
        self.stats = WatchStats()
        self.wakeups = threading.Event()
        """Set whenever a new model is ready (the scoring loop may wait on it)."""

    # -- scoring-thread side -----------------------------------------------------------------

    def take(self) -> ServingModel | None:
        """The newly loaded model, once; None when there is nothing new."""
        with self._lock:
            ready, self._ready = self._ready, None
        return ready

    def stop(self) -> None:
        self._stop_event.set()

    # -- watcher thread ----------------------------------------------------------------------

    def run(self) -> None:
        delay = BACKOFF_FIRST_S
        while not self._stop_event.is_set():
            client = redis.Redis.from_url(self._url, socket_connect_timeout=1, socket_timeout=2)
            pubsub = None
            try:
                store = RedisSnapshotStore(client, self._prefix)
                if self._notifications:
                    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                    pubsub.subscribe(store.channel(self._spec.name))
                self.check(store)  # whatever changed while we were not listening
                if not self.stats.redis_up and self.stats.redis_errors:
                    log.info("Redis is back; following %s again", self._spec.name)
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
        """Load `current` if it is new and not refused before."""
        name = self._spec.name
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
            model = open_snapshot(
                sealed,
                self._verifier,
                model=name,
                version=current,
                fingerprint=self._spec.fingerprint,
                task=self._spec.task,
                min_learned=self._spec.min_learned,
            )
        except SnapshotRejected as exc:
            self.stats.refused += 1
            self.stats.refused_versions[current] = str(exc)
            log.error(
                "REFUSED %s v%d: %s. Still serving %s. %s",
                name,
                current,
                exc,
                f"v{self._offered}" if self._offered else "nothing",
                exc.hint
                if isinstance(exc, NotLearnedEnough)
                else "Check the trainer's signing key (LAZARUS_SIGNING_PUBLIC_KEY here) and "
                f"`lazarus models verify {name}`",
            )
            return
        self.stats.last_load_ms = (time.perf_counter() - started) * 1000
        with self._lock:
            self._ready = model
            self._offered = current
        self.wakeups.set()
