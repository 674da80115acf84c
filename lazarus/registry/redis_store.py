"""The Redis implementation of `SnapshotStore`: two Lua scripts make each publish and move atomic.

Keys are laid out in `lazarus.registry.keys` (``{prefix}:model:{name}:...``).
Publishing is one Lua script: write v{N} only if N == latest + 1, move
`current` forward, prune what the rotation does not keep (`retention`: never
the current, pinned or newest version), and notify. Which versions to prune is
worked out before the script, from the stored versions' creation times (the
`:created` zset); the script re-checks current and pinned as it prunes, so an
operator's move in between cannot lose the version it points at. Re-publishing the same N with the same digest is a no-op success, so a
retry after a lost reply is safe. A version published as not servable (it has
learned fewer events than its model's minimum) is stored, so a trainer can
resume from it, but never moves `current`: until a version is servable, a model
has no `current` and scorers wait.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any, cast

import redis

from lazarus.registry import keys
from lazarus.registry.retention import Retention, dropped
from lazarus.registry.sealing import SealedSnapshot
from lazarus.registry.store import Move, MoveOutcome, Outcome, PublishResult, created_at
from lazarus.schemas.manifest import SnapshotManifest

STAGING_TTL_S = 3600
"""Seconds a staged blob outlives a writer that died before the publish script ran."""

# The scripts build key names from the model's base with the suffixes of keys.SNAPSHOT_SUFFIXES.
# PUBLISH_LUA's ARGV: base, version, sha256, note, staged key, now, servable, created_at
# (epoch s), retention JSON, then the versions to prune (worked out by `_to_prune`).
PUBLISH_LUA = """
local base, v, staged = ARGV[1], tonumber(ARGV[2]), ARGV[5]
local servable = ARGV[7] == '1'
local vkey = base .. ':v' .. ARGV[2]
local latest = tonumber(redis.call('GET', base .. ':latest') or '0')
if redis.call('EXISTS', vkey) == 1 then
  redis.call('DEL', staged)
  if redis.call('HGET', vkey, 'sha256') == ARGV[3] then return {'exists', latest} end
  return {'conflict', latest}
end
if v ~= latest + 1 then
  redis.call('DEL', staged)
  return {'gap', latest}
end
if redis.call('EXISTS', staged) == 0 then return {'unstaged', latest} end
redis.call('RENAME', staged, vkey)
redis.call('PERSIST', vkey)
redis.call('ZADD', base .. ':versions', v, ARGV[2])
redis.call('ZADD', base .. ':created', ARGV[8], ARGV[2])
redis.call('SET', base .. ':retention', ARGV[9])
redis.call('SET', base .. ':latest', v)
local cur = tonumber(redis.call('GET', base .. ':current') or '0')
if servable and v > cur and redis.call('EXISTS', base .. ':pinned') == 0 then
  redis.call('SET', base .. ':current', v)
  redis.call('XADD', base .. ':audit', 'MAXLEN', '~', 1000, '*', 'action', 'publish',
    'version', v, 'previous', cur, 'reason', 'trainer published', 'actor', 'trainer',
    'at', ARGV[6])
  cur = v
end
local pin = tonumber(redis.call('GET', base .. ':pinned') or '0')
for i = 10, #ARGV do
  local ov = tonumber(ARGV[i])
  if ov ~= cur and ov ~= pin and ov ~= v then
    redis.call('UNLINK', base .. ':v' .. ARGV[i])
    redis.call('ZREM', base .. ':versions', ARGV[i])
    redis.call('ZREM', base .. ':created', ARGV[i])
  end
end
redis.call('PUBLISH', base .. ':events', ARGV[4])
return {'ok', v}
"""


MOVE_LUA = """
local base, v, action = ARGV[1], tonumber(ARGV[2]), ARGV[3]
if redis.call('EXISTS', base .. ':v' .. ARGV[2]) == 0 then return {'missing', 0} end
local cur = tonumber(redis.call('GET', base .. ':current') or '0')
if action == 'rollback' and v >= cur then return {'not_older', cur} end
redis.call('SET', base .. ':current', v)
if action == 'rollback' then
  redis.call('SET', base .. ':pinned', v)
else
  redis.call('DEL', base .. ':pinned')
end
redis.call('XADD', base .. ':audit', 'MAXLEN', '~', 1000, '*', 'action', action, 'version', v,
  'previous', cur, 'reason', ARGV[4], 'actor', ARGV[5], 'at', ARGV[6], 'evidence', ARGV[8])
redis.call('PUBLISH', base .. ':events', ARGV[7])
return {'ok', cur}
"""


class RedisSnapshotStore:
    """`SnapshotStore` in Redis under `prefix` (`LAZARUS_REDIS_KEY_PREFIX`); `client` is
    connected by the caller, and every method raises `redis.RedisError`/`OSError` when
    Redis does not answer."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._r = client
        self._prefix = prefix
        self._publish = client.register_script(PUBLISH_LUA)
        self._move = client.register_script(MOVE_LUA)

    @property
    def client(self) -> redis.Redis:
        return self._r

    def base(self, model: str) -> str:
        """The start of every key of `model` (see `keys`)."""
        return keys.model_base(self._prefix, model)

    def channel(self, model: str) -> str:
        """The pub/sub channel announcing `model`'s publishes and moves."""
        return keys.events_channel(self._prefix, model)

    def publish(
        self,
        model: str,
        version: int,
        sealed: SealedSnapshot,
        keep: Retention | int,
        *,
        servable: bool = True,
    ) -> PublishResult:
        """Store `version` (the next in sequence) and, if `servable`, make it `current` (unless a
        rollback pinned `current`), then prune by the rotation `keep`. Outcome 'ok', 'exists'
        (the same bytes: a retry), 'conflict', 'gap' (another writer), or 'unstaged' (Redis
        lost the staged blob: retry)."""
        policy = Retention.of(keep)
        created = created_at(sealed)
        prune = self._to_prune(model, version, created, policy, servable=servable)
        # The blob is staged with a plain HSET (Lua would copy megabytes through its stack),
        # then the script checks the sequence and renames it into place atomically. A staged
        # key whose writer died expires by itself.
        staged = keys.staging_key(self._prefix, model, version, sealed.sha256)
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(
            staged,
            mapping={
                "manifest": sealed.manifest,
                "signature": sealed.signature,
                "blob": sealed.blob,
                "model": sealed.model,
                "sha256": sealed.sha256,
            },
        )
        pipe.expire(staged, STAGING_TTL_S)
        action = "publish" if servable else "store"
        note = json.dumps({"model": model, "version": version, "action": action})
        self._publish(
            args=[
                self.base(model),
                version,
                sealed.sha256,
                note,
                staged,
                time.time(),
                "1" if servable else "0",
                created.timestamp(),
                json.dumps(policy.as_dict()),
                *prune,
            ],
            client=pipe,
        )
        status, latest = pipe.execute()[-1]
        text = status.decode() if isinstance(status, bytes) else str(status)
        return PublishResult(cast(Outcome, text), int(latest))

    def _to_prune(
        self, model: str, version: int, created: datetime, policy: Retention, *, servable: bool
    ) -> list[int]:
        """The stored versions `policy` drops once `version` is stored (the script re-checks
        current and pinned; one writer per model, so no version appears in between)."""
        stored = {**self.created(model), version: created}
        serving, pinned = self.current(model), self.pinned(model)
        if servable and pinned is None and version > (serving or 0):
            serving = version
        kept = self._r.get(keys.keep_key(self._prefix, model))
        gone = dropped(stored, policy, current=serving, pinned=pinned, newest=version)
        return [v for v in gone if kept is None or v != int(kept)]

    def get(self, model: str, version: int) -> SealedSnapshot | None:
        """Everything stored for a version: manifest, signature, state and model parts."""
        return self._fetch(model, version, blob=True)

    def get_model(self, model: str, version: int) -> SealedSnapshot | None:
        """The manifest, signature and model part only: what a scorer needs, without the state."""
        return self._fetch(model, version, blob=False)

    def _fetch(self, model: str, version: int, *, blob: bool) -> SealedSnapshot | None:
        fields = ["manifest", "signature", "model", *(["blob"] if blob else [])]
        raw = [
            _bytes(x) for x in self._r.hmget(keys.version_key(self._prefix, model, version), fields)
        ]
        if not raw[0]:
            return None
        return SealedSnapshot(raw[0], raw[1], raw[3] if blob else b"", model=raw[2])

    def manifest(self, model: str, version: int) -> SnapshotManifest | None:
        """The stored manifest, for display (unverified: `verify` is what checks it)."""
        raw = self._r.hget(keys.version_key(self._prefix, model, version), "manifest")
        return None if raw is None else SnapshotManifest.model_validate_json(_bytes(raw))

    def latest(self, model: str) -> int:
        return int(self._r.get(keys.latest_key(self._prefix, model)) or 0)

    def move_current(
        self,
        model: str,
        version: int,
        action: Move,
        reason: str,
        actor: str,
        evidence: str = "",
    ) -> tuple[MoveOutcome, int]:
        """Point `current` at a stored version, explicitly, and record it in the audit stream
        (with `evidence`, JSON text, for an automatic move). A rollback must go back, and pins
        `current` (trainer publishes stop advancing it) until the next promote. Returns
        (outcome, previous current): 'ok', 'missing' or 'not_older'."""
        note = json.dumps({"model": model, "version": version, "action": action})
        status, previous = self._move(
            args=[self.base(model), version, action, reason, actor, time.time(), note, evidence]
        )
        text = status.decode() if isinstance(status, bytes) else str(status)
        return cast(MoveOutcome, text), int(previous)

    def pinned(self, model: str) -> int | None:
        value = self._r.get(keys.pinned_key(self._prefix, model))
        return int(value) if value is not None else None

    def history(self, model: str, limit: int = 50) -> list[dict[str, str]]:
        """The newest moves of `current` first: action, version, previous, reason, actor, at."""
        rows = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            self._r.xrevrange(keys.audit_key(self._prefix, model), count=limit),
        )
        return [
            {"id": _text(i), **{_text(k): _text(v) for k, v in fields.items()}}
            for i, fields in rows
        ]

    def current(self, model: str) -> int | None:
        value = self._r.get(keys.current_key(self._prefix, model))
        return int(value) if value is not None else None

    def versions(self, model: str) -> list[int]:
        return [
            int(cast(bytes, v))
            for v in self._r.zrange(keys.versions_key(self._prefix, model), 0, -1)
        ]

    def created(self, model: str) -> dict[int, datetime]:
        """Creation times from the `:created` zset; a version stored before it existed is
        read from its manifest."""
        pipe = self._r.pipeline(transaction=False)
        pipe.zrange(keys.versions_key(self._prefix, model), 0, -1)
        pipe.zrange(keys.created_key(self._prefix, model), 0, -1, withscores=True)
        versions, scored = pipe.execute()
        times = {int(_text(v)): float(t) for v, t in scored}
        out: dict[int, datetime] = {}
        for version in (int(_text(v)) for v in versions):
            if version in times:
                out[version] = datetime.fromtimestamp(times[version], UTC)
            elif (m := self.manifest(model, version)) is not None:
                out[version] = m.created_at
        return out

    def retention(self, model: str) -> Retention | None:
        raw = self._r.get(keys.retention_key(self._prefix, model))
        # a rotation recorded before the per-minute rule had none
        return None if raw is None else Retention(**{"minutely": 0, **json.loads(_text(raw))})

    def models(self) -> list[str]:
        names = set()
        for key in self._r.scan_iter(match=keys.models_pattern(self._prefix), count=500):
            text = key.decode() if isinstance(key, bytes) else key
            names.add(keys.model_of_latest_key(self._prefix, text))
        return sorted(names)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value or "").encode()
