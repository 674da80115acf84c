"""Every Redis key Lazarus writes, in one place.

All keys start with the deployment's prefix (``LAZARUS_REDIS_KEY_PREFIX``,
default ``lazarus``), so one Redis can hold several deployments and a test can
own a prefix. The layouts:

    {prefix}:model:{name}:v{N}            hash    one snapshot version: manifest, signature,
                                                  blob, model, sha256 (written once)
    {prefix}:model:{name}:staging:{N}:{h} hash    a blob being published (expires by itself)
    {prefix}:model:{name}:versions        zset    every stored version
    {prefix}:model:{name}:created         zset    stored version -> its created_at (epoch s)
    {prefix}:model:{name}:retention       string  JSON {"last", "minutely", "hourly", "daily"}:
                                                  the rotation the latest publish pruned by
    {prefix}:model:{name}:latest          int     the highest version ever published
    {prefix}:model:{name}:current         int     the version scorers serve
    {prefix}:model:{name}:pinned          int     set by a rollback, cleared by a promote
    {prefix}:model:{name}:audit           stream  every move of `current`
    {prefix}:model:{name}:keep            int     a version the lifecycle needs (the rollback
                                                  guard's baseline): never pruned
    {prefix}:model:{name}:events          pub/sub JSON {"model", "version", "action"}
    {prefix}:lineup:{name}:champion       string  the line scorers serve on the model's score topic
                                                  (a registry name; absent: the model itself)
    {prefix}:lineup:{name}:challengers    set     the challenger lines scored in shadow
    {prefix}:lineup:{name}:generations    hash    line -> how often its model started afresh
    {prefix}:lineup:{name}:baseline       string  JSON {"line", "version", "since"}: what the
                                                  rollback guard compares current against
    {prefix}:lineup:{name}:held           string  set by an automatic rollback of a promotion:
                                                  no automatic promotion until an operator's
    {prefix}:lineup:{name}:drift          string  JSON: the model's last drift
    {prefix}:lineup:{name}:action         string  JSON: the last automatic action and evidence
    {prefix}:lineup:{name}:gate           string  JSON: where each challenger stands (monitor)
    {prefix}:roles:{role}:{instance}      hash    a role's heartbeat (short TTL)
    {prefix}:quality:{name}               hash    served quality: field v{N} per version, `all`
    {prefix}:embedded                     prefix  what `lazarus up` uses for an embedded run

The snapshot layout is also spelled out in the Lua scripts of `redis_store`
(`base .. ':current'` and so on): a script needs names it can build for any
version, and `SNAPSHOT_SUFFIXES` lists the ones they may use.

>>> model_base("lazarus", "habitat")
'lazarus:model:habitat'
>>> version_key("lazarus", "habitat", 3)
'lazarus:model:habitat:v3'
>>> role_key("lazarus", "trainer", "host-12")
'lazarus:roles:trainer:host-12'
"""

from __future__ import annotations

SNAPSHOT_SUFFIXES = (
    ":v",
    ":staging:",
    ":versions",
    ":created",
    ":retention",
    ":latest",
    ":current",
    ":pinned",
    ":audit",
    ":events",
    ":keep",
)
"""What follows `model_base` in a snapshot key (`:v` and `:staging:` take a version)."""


# -- the snapshot registry -------------------------------------------------------------------


def model_base(prefix: str, model: str) -> str:
    """The common start of every key of one model's registry."""
    return f"{prefix}:model:{model}"


def models_pattern(prefix: str) -> str:
    """A SCAN pattern matching one key per model that ever published (its `:latest`)."""
    return f"{prefix}:model:*:latest"


def model_of_latest_key(prefix: str, key: str) -> str:
    """The model name in a key matched by `models_pattern`."""
    return key[len(prefix) + len(":model:") : -len(":latest")]


def version_key(prefix: str, model: str, version: int) -> str:
    return f"{model_base(prefix, model)}:v{version}"


def staging_key(prefix: str, model: str, version: int, sha256: str) -> str:
    """Where a blob waits for the publish script (`sha256` tells two writers apart)."""
    return f"{model_base(prefix, model)}:staging:{version}:{sha256[:16]}"


def versions_key(prefix: str, model: str) -> str:
    return f"{model_base(prefix, model)}:versions"


def created_key(prefix: str, model: str) -> str:
    """Stored versions scored by their creation time (epoch seconds), for the rotation."""
    return f"{model_base(prefix, model)}:created"


def retention_key(prefix: str, model: str) -> str:
    """The rotation (`retention.Retention`) the model's latest publish pruned by."""
    return f"{model_base(prefix, model)}:retention"


def latest_key(prefix: str, model: str) -> str:
    return f"{model_base(prefix, model)}:latest"


def current_key(prefix: str, model: str) -> str:
    return f"{model_base(prefix, model)}:current"


def pinned_key(prefix: str, model: str) -> str:
    return f"{model_base(prefix, model)}:pinned"


def keep_key(prefix: str, model: str) -> str:
    """A version of `model` the rotation must keep: the rollback guard's baseline."""
    return f"{model_base(prefix, model)}:keep"


def audit_key(prefix: str, model: str) -> str:
    return f"{model_base(prefix, model)}:audit"


def events_channel(prefix: str, model: str) -> str:
    """The pub/sub channel that announces every publish and move of `current`."""
    return f"{model_base(prefix, model)}:events"


# -- the lineup: champion, challengers, baseline (`lazarus.registry.lineup`) ----------------

LINEUP_FIELDS = (
    "champion",
    "challengers",
    "generations",
    "baseline",
    "held",
    "drift",
    "action",
    "gate",
)
"""What follows `lineup_key(prefix, model, ...)`."""


def lineup_key(prefix: str, model: str, part: str) -> str:
    """One part (`LINEUP_FIELDS`) of a model's lineup.

    >>> lineup_key("lazarus", "habitat", "champion")
    'lazarus:lineup:habitat:champion'
    """
    if part not in LINEUP_FIELDS:
        raise ValueError(f"unknown lineup part {part!r}")
    return f"{prefix}:lineup:{model}:{part}"


# -- roles and quality -----------------------------------------------------------------------


def rebuilds_key(prefix: str, model: str) -> str:
    """Hash: partition -> "requested", the shards of per-key `model` to learn again from offset 0."""
    return f"{prefix}:rebuild:{model}"


def role_key(prefix: str, role: str, instance: str) -> str:
    """One running role's heartbeat hash."""
    return f"{prefix}:roles:{role}:{instance}"


def roles_pattern(prefix: str, role: str = "*") -> str:
    """A SCAN pattern matching the heartbeats of `role` (every role by default)."""
    return f"{prefix}:roles:{role}:*"


def quality_key(prefix: str, model: str) -> str:
    """The quality monitor's per-version report of one model."""
    return f"{prefix}:quality:{model}"


def embedded_prefix(prefix: str) -> str:
    """The prefix an embedded `lazarus up` run keeps its keys under (cleared at each start)."""
    return f"{prefix}:embedded"
