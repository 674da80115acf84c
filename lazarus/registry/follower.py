"""The thread under every registry follower: a Redis connection, pub/sub, a poll, backoff.

A `Follower` checks Redis for one model on a notification on a channel it listens to
(`keys.events_channel`) or every `poll_s` seconds, whichever comes first: pub/sub loses what is
said while a connection is down, the poll catches it. Redis being down is logged, retried with
backoff, and never takes away what was already opened. Subclasses say what a check does, which
channels to listen to (re-read after every check) and what a notification tells:
`lazarus.registry.follow.CurrentFollower` (a line's `current`) and
`lazarus.registry.lineup_follow.LineupFollower` (the models scored in shadow).
`open_checked` is the one way a follower opens a version: fetched without its state part,
verified and unpickled by the caller's `open`; one refused is logged once and never retried.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis

from lazarus.errors import SnapshotRejected
from lazarus.registry import keys
from lazarus.registry.opening import NotLearnedEnough
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.safe_pickle import ModuleNotLoadable
from lazarus.registry.sealing import SealedSnapshot
from lazarus.settings import redact_url

log = logging.getLogger("lazarus.registry.follow")

BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 5.0

T = TypeVar("T")

Offer = tuple[str, int]
"""(line, version): a version of a line, as opened and handed to the caller."""


@dataclass
class FollowStats:
    line: str = ""
    """The line followed now."""
    refused: int = 0
    """Versions `open` refused."""
    last_refused_at: float | None = None
    """When `open` last refused a version (epoch s); None: never."""
    redis_errors: int = 0
    redis_up: bool = False
    refused_lines: dict[Offer, str] = field(default_factory=dict)
    """Each refused (line, version) and why (never retried)."""
    last_load_ms: float = 0.0
    """Fetch, verify and open of the last version taken, in milliseconds."""

    @property
    def refused_versions(self) -> dict[int, str]:
        """The refused versions of the line followed now, and why."""
        return {v: why for (line, v), why in self.refused_lines.items() if line == self.line}


class Follower(threading.Thread, ABC):
    """A daemon thread that checks Redis (at `redis_url`, keys under `prefix`) for `model` on a
    notification or every `poll_s` seconds; with `notifications` False it only polls (for Redis
    setups without pub/sub). Subclasses say what a check does (`check`), which channels to
    listen to (`channels`, re-read after every check) and what a notification tells (`heard`)."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        model: str,
        poll_s: float,
        *,
        notifications: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name or f"follower-{model}", daemon=True)
        self._url = redis_url
        self._prefix = prefix
        self._model = model
        self._poll_s = poll_s
        self._notifications = notifications
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._missing: set[Offer] = set()
        self.stats = FollowStats(line=model)
        self.wakeups = threading.Event()
        """Set whenever something new is ready (the scoring loop may wait on it)."""

    def stop(self) -> None:
        self._stop_event.set()

    # -- what a follower does (subclasses) ---------------------------------------------------

    @abstractmethod
    def check(self, client: redis.Redis) -> None:
        """Look at Redis (with `client`) and open what is new; Redis errors propagate."""

    def channels(self) -> set[str]:
        return {self.channel(self._model)}

    def heard(self, note: dict[str, Any]) -> None:
        """A notification's JSON body, before the check it triggers."""

    def holding(self) -> str:
        """What this follower keeps while Redis is away (for the log)."""
        return "what it opened"

    # -- the thread ------------------------------------------------------------------------------

    def channel(self, line: str) -> str:
        return keys.events_channel(self._prefix, line)

    def run(self) -> None:
        delay = BACKOFF_FIRST_S
        while not self._stop_event.is_set():
            client = redis.Redis.from_url(self._url, socket_connect_timeout=1, socket_timeout=2)
            pubsub = None
            listening: set[str] = set()
            try:
                if self._notifications:
                    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                    self._listen(pubsub, listening)
                self.check(client)  # whatever changed while we were not listening
                if not self.stats.redis_up and self.stats.redis_errors:
                    log.info("Redis is back; following %s again", self._model)
                self.stats.redis_up = True
                delay = BACKOFF_FIRST_S
                self._follow(client, pubsub, listening)
            except (redis.RedisError, OSError) as exc:
                self.stats.redis_errors += 1
                if self.stats.redis_up or self.stats.redis_errors == 1:
                    log.warning(
                        "Redis at %s: %s; keeping %s, retrying (check LAZARUS_REDIS_URL "
                        "if this lasts)",
                        redact_url(self._url),
                        exc,
                        self.holding(),
                    )
                self.stats.redis_up = False
                self._stop_event.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(redis.RedisError, OSError):
                        pubsub.close()
                client.close()

    def _listen(self, pubsub: redis.client.PubSub, listening: set[str]) -> None:
        """Subscribe to the channels wanted now, and leave those no longer wanted."""
        wanted = self.channels()
        if wanted - listening:
            pubsub.subscribe(*(wanted - listening))
        if listening - wanted:
            pubsub.unsubscribe(*(listening - wanted))  # type: ignore[no-untyped-call]
        listening.clear()
        listening.update(wanted)

    def _follow(
        self, client: redis.Redis, pubsub: redis.client.PubSub | None, listening: set[str]
    ) -> None:
        next_poll = time.monotonic() + self._poll_s
        while not self._stop_event.is_set():
            wait = max(0.0, min(0.5, next_poll - time.monotonic()))
            if pubsub is not None:
                message = pubsub.get_message(timeout=wait)
            else:
                message = None
                self._stop_event.wait(wait)
            if message is not None:
                self.heard(_note(message.get("data")))
            if message is not None or time.monotonic() >= next_poll:
                self.check(client)
                if pubsub is not None:
                    self._listen(pubsub, listening)
                next_poll = time.monotonic() + self._poll_s

    def open_checked(
        self,
        store: RedisSnapshotStore,
        offer: Offer,
        open: Callable[[SealedSnapshot], T],
        keeps: str,
    ) -> T | None:
        """Fetch `offer` (line, version) and `open` it; None when it is not stored (logged
        once) or refused (logged with `keeps`, what is kept instead; remembered in
        `stats.refused_lines`, so never retried)."""
        line, version = offer
        started = time.perf_counter()
        sealed = store.get_model(line, version)
        if sealed is None:
            if offer not in self._missing:
                self._missing.add(offer)
                log.warning("%s v%d is wanted but not stored (trimmed?); %s", line, version, keeps)
            return None
        try:
            opened = open(sealed)
        except SnapshotRejected as exc:
            self.stats.refused += 1
            self.stats.last_refused_at = time.time()
            self.stats.refused_lines[offer] = str(exc)
            log.error(
                "REFUSED %s v%d: %s. %s. %s",
                line,
                version,
                exc,
                keeps,
                exc.hint
                if isinstance(exc, NotLearnedEnough | ModuleNotLoadable)
                else "Check the trainer's signing key (LAZARUS_SIGNING_PUBLIC_KEY here) and "
                f"`lazarus models verify {line}`",
            )
            return None
        self.stats.last_load_ms = (time.perf_counter() - started) * 1000
        return opened


def _note(data: Any) -> dict[str, Any]:
    """A notification's JSON object ({} for anything else)."""
    try:
        note = json.loads(data)
    except (TypeError, ValueError):
        return {}
    return note if isinstance(note, dict) else {}
