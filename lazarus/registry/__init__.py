"""The snapshot registry: signed, immutable model versions and the `current` pointer scorers serve.

What it holds, module by module:

    keys         every Redis key Lazarus writes (the registry's, heartbeats, quality)
    sealing      seal/verify/unseal: pickle, digest and sign a snapshot; check before unpickling
    canonical    canonical pickling: the same state gives the same bytes (and digest)
    signing      Ed25519 signer (trainer) and verifier (scorers, `lazarus models verify`)
    safe_pickle  the allowlisting unpickler: the second wall after the signature
    retention    which versions stay: the last K, one per minute, hour and day (pure)
    store        the `SnapshotStore` protocol and `MemorySnapshotStore` (unit tests)
    redis_store  `RedisSnapshotStore`: the protocol in Redis, atomic by Lua script
    follow       `CurrentFollower`: a thread that follows `current` of a model's champion
                 line (notification + poll); `follower` the thread's shared loop
    lineup       a model's lineup: champion line, challengers, the rollback guard's baseline,
                 generations, drift/action/gate records; promotion and rollback across lines
    lineup_follow  `LineupFollower`: a scorer's view of the challengers and the baseline
    shard_follow `ShardFollower`: follows `current` of every shard line (`M.shardP`) of a
                 per-key model; each shard is a line with its own versions (docs/per-key.md)
    opening      `open_model`: every check a served version passes, then the unpickle
    reach        rollback reach through the protocol: each stored version's age and why it stays

The protocol (`store.SnapshotStore`, one writer per model, any number of readers):

- **publish** `publish(model, version, sealed, keep, servable=...)`: the model's
  trainer stores version N = latest + 1, once; a retry with the same bytes is a
  success ('exists'), other bytes or another N mean another writer
  ('conflict', 'gap'). A *servable* version (one that learned at least its
  spec's `min_learned` events) becomes `current`; one that is not is stored so
  a trainer can resume from it, and is never served. The versions kept follow
  a rotation (`retention.Retention`): the newest K, the newest of each of the
  last minutes, hours and days, and always the current, pinned and newest one.
- **move current** `move_current(model, version, "promote" | "rollback", reason,
  actor)`: an operator points `current` at a stored version, as one
  compare-and-set; publishes themselves only ever move it forward.
- **pin** a rollback pins `current` (`pinned(model)`): publishes keep storing
  versions but stop moving `current` until the next promote unpins it.
- **history** `history(model)`: every move of `current` (publish, promote,
  rollback), newest first, with its reason and actor: the audit trail.
- **follow** every publish and move is announced on the model's pub/sub
  channel (`keys.events_channel`); `follow.CurrentFollower` reacts to it and
  polls as well, since pub/sub loses what is said while a connection is down.
- **open** a reader trusts nothing it fetched: `sealing.verify` checks the
  signature and the digest, `opening.open_model` adds the identity, the
  schema fingerprint, river's version and `min_learned`, and only then
  unpickles through `safe_pickle`.

Who uses what: the trainer publishes and restores through the protocol
(`lazarus.trainer.publishing`); the scorer follows and opens
(`lazarus.scorer.serving`); `lazarus models ...` moves `current` and reads the
history. This package imports no role.
"""
