"""Rebuild requests of a per-key model's shards: `lazarus train M --from-beginning` asks once,
whichever trainer owns a shard rebuilds it, and the request ends with the rebuilt shard's
first version. So a rebuild happens once per shard however the shards move, and a trainer
started later with the flag does not reset a shard another one already rebuilt."""

from __future__ import annotations

from collections.abc import Iterable

import redis

from lazarus.registry.keys import rebuilds_key


class Rebuilds:
    """The rebuild requests under a Redis key prefix (`keys.rebuilds_key`)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def request(self, model: str, partitions: Iterable[int]) -> None:
        """Ask for shards `partitions` of `model` to be learned again from offset 0."""
        key = rebuilds_key(self._prefix, model)
        with self._client.pipeline() as pipe:
            for p in partitions:
                pipe.hset(key, str(p), "requested")
            pipe.execute()

    def pending(self, model: str, partition: int) -> bool:
        """Whether shard `partition` of `model` is to be rebuilt when it is next opened."""
        return bool(self._client.hexists(rebuilds_key(self._prefix, model), str(partition)))

    def done(self, model: str, partition: int) -> None:
        """The rebuilt shard published its first version: the request is met."""
        self._client.hdel(rebuilds_key(self._prefix, model), str(partition))
