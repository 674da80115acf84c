"""The shape of every `--json` output of the CLI, in one place.

Each command validates what it gathered against its shape and prints the result
(`lazarus.cli.context.print_json`), so numbers are JSON numbers and times ISO 8601 UTC
strings (`2026-05-01T12:00:00.250000Z`), whatever the source held: heartbeats and the audit
stream keep text and epoch seconds, and the shapes read those. Unknown keys are refused, so a
field added to an output without its shape fails its first run in a test.

`lazarus.cli.json_schemas` maps each command to its shape: `lazarus schemas export DIR`
writes their JSON Schemas to `DIR/cli/`, docs/cli-json.md is generated from them, and
`tests/integration/test_json_outputs.py` validates real outputs against them. The value types
(`Time`, `Count`, ...) and the served-quality shapes are in `lazarus.cli.json_types`;
`lazarus models gate`'s shape is in `lazarus.cli.json_gate`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Literal, get_args

from pydantic import Field, RootModel, SecretStr, create_model

from lazarus.cli.json_lifecycle import ModelLifecycle
from lazarus.cli.json_types import (
    Count,
    MaybeCount,
    MaybeText,
    MaybeTime,
    Metrics,
    ModelQuality,
    Shape,
    Time,
    VersionQuality,
)
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.settings import Settings, env_name

# --- lazarus status --json -----------------------------------------------------------------


class BrokerStatus(Shape):
    ok: bool = Field(description="it answered")
    bootstrap: str = Field(description="LAZARUS_KAFKA_BOOTSTRAP_SERVERS")
    error: str | None = Field(None, description="why it is down")
    fix: str | None = Field(None, description="what to do, naming the setting")


class RedisStatus(Shape):
    ok: bool = Field(description="it answered")
    url: str = Field(description="LAZARUS_REDIS_URL, password masked")
    error: str | None = Field(None, description="why it is down")
    fix: str | None = Field(None, description="what to do, naming the setting")


class GroupStatus(Shape):
    group: str = Field(description="consumer group: `{prefix}lazarus.{role}.{model}`")
    committed: bool = Field(description="false: the group never committed (lag counts the log)")
    lag: Count = Field(description="messages, summed over partitions")
    lag_exact: bool = Field(
        description="false: a log end was not read in time, `lag` is a lower bound"
    )
    lag_seconds: float | None = Field(description="age of the oldest unconsumed message")
    sampled_at: Time = Field(description="when these offsets were read")


class ModelStatus(Shape):
    model: str
    current: Count | None = Field(description="the version scorers serve; null before any")
    latest: Count = Field(description="the newest version published")
    pinned: Count | None = Field(description="the version a rollback pinned, else null")
    n_learned: Count | None = Field(description="events the current version learned")
    staleness_s: float | None = Field(description="seconds since the current version was made")
    metrics: Metrics = Field(description="prequential metrics of the current version")
    served_quality: VersionQuality | None = Field(description="null until judged")
    line_of: str | None = Field(
        description="the model this registry name is a line of (its champion or a challenger, "
        "`lazarus.registry.lineup`); null: a model of its own"
    )
    lifecycle: ModelLifecycle | None = Field(
        description="champion, challengers, guard, last drift and action; null for a line"
    )


class RoleStatus(Shape):
    """A live role, from its heartbeat; null where the role does not report the field."""

    role: str = Field(description="`producer:sensors`, `trainer:habitat`, `scorer:habitat`...")
    instance: str = Field(description="`host-pid`: tells workers of one role apart")
    state: MaybeText = Field(description="running, stopped...")
    model_version: MaybeCount = Field(description="the version a scorer serves")
    events_in: MaybeCount = Field(description="trainers and scorers: events read")
    events_out: MaybeCount = Field(description="producers: input events sent (no outcomes)")
    outcomes_out: MaybeCount = Field(description="producers: outcomes sent")
    scored: MaybeCount = Field(description="scorers: scores published")
    dead_lettered: MaybeCount = Field(description="inputs it sent to the dead-letter topic")
    refused: MaybeCount = Field(description="scorers: snapshot versions refused")
    n_learned: MaybeCount = Field(None, description="trainers: events learned")
    metrics_url: MaybeText = Field(description="its Prometheus /metrics")
    updated_at: MaybeTime = Field(description="the heartbeat's time")
    started_at: MaybeTime = Field(None, description="when the role started")
    last_refused_at: MaybeTime = Field(
        None, description="scorers: when a snapshot version was last refused; null: never"
    )
    last_learned_at: MaybeTime = Field(
        None, description="trainers: when it last learned; null: not since it started"
    )
    last_read_at: MaybeTime = Field(
        None, description="trainers: when it last read events; null: not since it started"
    )
    unjoined_expired: MaybeCount = Field(description="trainers: features whose outcome never came")
    unjoined_evicted: MaybeCount = Field(description="trainers: features dropped, buffer full")
    unjoined_unmatched: MaybeCount = Field(description="trainers: outcomes given up on")
    waiting_outcomes: MaybeCount = Field(description="trainers: outcomes before their features")
    owned: MaybeText = Field(
        None, description="a per-key model's trainers: the shards it owns, e.g. `0,1`"
    )
    served_shards: MaybeText = Field(
        None, description="a per-key model's scorers: partition:version served, e.g. `0:v3,1:v2`"
    )
    held: MaybeText = Field(
        None,
        description="a per-key model's scorers: partitions held until their shard has a version",
    )


class HealthReason(Shape):
    code: Literal[
        "service_down",
        "lag_seconds",
        "lag_growing",
        "model_stale",
        "trainer_not_learning",
        "joins_expiring",
        "scorer_refusing",
        "dead_letters",
        "role_missing",
        "heartbeat_stale",
        "automatic_rollback",
    ] = Field(description="what is wrong (docs/operations.md, section Health)")
    state: Literal["degraded", "failing"] = Field(description="what this reason alone gives")
    subject: str = Field(description="the service, group, model or role it is about")
    text: str = Field(description="one line for an operator")


class HealthReport(Shape):
    """Health at a glance (`lazarus.health`): the worst state of the reasons, ok with none."""

    state: Literal["ok", "degraded", "failing"]
    reasons: list[HealthReason] = Field(description="worst first")


class StatusReport(Shape):
    """`lazarus status --json` (exit 1 when Kafka or Redis is down)."""

    at: Time = Field(description="when status ran")
    ok: bool = Field(description="the broker and Redis both answer")
    broker: BrokerStatus
    redis: RedisStatus
    groups: list[GroupStatus] = Field(description="every trainer and scorer group")
    models: list[ModelStatus] = Field(description="every model in the registry")
    roles: list[RoleStatus] = Field(description="roles alive (heartbeats), by role and instance")
    dead_letters: Count | None = Field(description="letters on the topic; null: no such topic")
    health: HealthReport = Field(description="ok, degraded or failing, and why")


# --- lazarus models ... --json -------------------------------------------------------------


class Rotation(Shape):
    """Which versions a model keeps (`lazarus.registry.retention.Retention`)."""

    last: Count = Field(description="the newest versions kept (LAZARUS_SNAPSHOT_KEEP)")
    minutely: Count = Field(description="UTC minutes whose newest version is kept")
    hourly: Count = Field(description="UTC hours whose newest version is kept")
    daily: Count = Field(description="UTC days whose newest version is kept")


class KeptVersion(Shape):
    version: Count
    created_at: Time
    age_s: Count = Field(description="seconds since it was made")
    why: list[str] = Field(
        description="why it stays: current, pinned, newest, `last 10`, "
        "`minutely 2026-11-30T14:05`, `hourly 2026-11-30T14`, `daily 2026-11-29`, "
        "or `goes at the next publish`"
    )


class ModelSummary(Shape):
    model: str
    latest: Count = Field(description="the newest version published")
    current: Count | None = Field(description="the version scorers serve; null before any")
    versions: list[Count] = Field(description="versions kept, oldest first")
    n_learned: Count | None = Field(description="events the latest version learned")
    created_at: Time | None = Field(description="when the latest version was made")
    kept: Count = Field(description="versions stored: every one a rollback can reach")
    oldest_kept: Count | None = Field(description="the oldest version a rollback can reach")
    oldest_kept_at: Time | None = Field(description="when it was made")
    oldest_kept_age_s: Count | None = Field(description="its age in seconds: the rollback reach")
    retention: Rotation = Field(description="the rotation the latest publish pruned by")
    kept_versions: list[KeptVersion] = Field(description="every stored version, oldest first")


class ModelList(RootModel[list[ModelSummary]]):
    """`lazarus models list --json`: one entry per model with stored snapshots."""


class ModelDetail(SnapshotManifest):
    """`lazarus models show --json`: the snapshot manifest, with its served quality."""

    served_quality: VersionQuality | None = Field(description="this version's; null until judged")
    served_quality_all_versions: ModelQuality | None = Field(description="the model's")


class HistoryEntry(Shape):
    id: str = Field(description="the Redis stream entry id")
    action: str = Field(
        description="publish, promote or rollback (of `current`, or of the champion line)"
    )
    version: Count = Field(description="the version `current` moved to")
    previous: Count | None = Field(description="the version it moved from; null: none was")
    reason: str = Field(description="as given with --reason, or `trainer published`")
    actor: str = Field(description="user@host, `trainer`, or `quality-monitor`")
    at: Time = Field(description="when it moved")
    kept: list[str] = Field(
        description="why its version is still stored (as in `models list`); [] once pruned: "
        "a rollback can no longer reach it"
    )
    line: str | None = Field(
        None,
        description="a lifecycle move's line (`lazarus models gate`), whose `version` it "
        "serves; null: a move of MODEL's own `current`",
    )
    previous_line: str | None = Field(
        None, description="a lifecycle move's previous champion line; null otherwise"
    )
    evidence: dict[str, Any] | None = Field(
        None,
        description="what an automatic move rests on: the quality monitor's paired comparison "
        "(events, metric, champion, challenger, difference, interval, confidence, method, "
        "p_value) and its policy; null for a move by hand or a publish",
    )

    @classmethod
    def of(cls, entry: dict[str, str], kept: tuple[str, ...] = ()) -> HistoryEntry:
        """An audit-stream entry (text fields; `previous` 0 when nothing was current, a line's
        name for a lifecycle move; `evidence` JSON text), with why its version is kept
        (`lazarus.registry.reach`; () when it is not)."""
        previous: str | None = entry.get("previous")
        previous_line = None
        if previous in (None, "", "0"):
            previous = None
        elif not previous.isdigit():
            previous_line, previous = previous, None
        evidence = json.loads(entry["evidence"]) if entry.get("evidence") else None
        return cls.model_validate(
            {
                **entry,
                "previous": previous,
                "previous_line": previous_line,
                "evidence": evidence or None,
                "kept": list(kept),
            }
        )


class History(RootModel[list[HistoryEntry]]):
    """`lazarus models history MODEL --json`: moves of `current`, newest first."""


class VerifyResult(Shape):
    version: Count
    ok: bool
    reason: str | None = Field(description="why the version fails, else null")


class VerifyReport(RootModel[list[VerifyResult]]):
    """`lazarus models verify MODEL --json` (exit 1 when any version fails)."""


# --- lazarus lag --json --------------------------------------------------------------------


class PartitionLag(Shape):
    group: str
    topic: str
    partition: Count
    committed: Count | None = Field(description="the group's committed offset; null: never")
    end: Count = Field(description="the offset after the partition's last record")
    end_exact: bool = Field(
        description="false: the log end was not read in time; `end` (the high watermark) "
        "and `lag` are lower bounds"
    )
    lag: Count = Field(description="end - committed (the whole log when never committed)")
    lag_seconds: float | None = Field(description="age of the oldest unconsumed message")
    sampled_at: Time = Field(description="when these offsets were read")


class GroupLag(Shape):
    group: str
    total_lag: Count = Field(description="messages, summed over partitions")
    total_lag_exact: bool = Field(
        description="false: a log end was not read in time, `total_lag` is a lower bound"
    )
    max_lag_seconds: float | None = Field(description="the oldest unconsumed message's age")
    committed: bool = Field(description="false: the group never committed")
    sampled_at: Time = Field(description="when these offsets were read")
    partitions: list[PartitionLag]


class LagReport(Shape):
    """`lazarus lag --json` (with `--watch`: one such object a line, per refresh)."""

    at: Time = Field(description="when lag was read")
    groups: list[GroupLag]
    error: str | None = Field(None, description="the broker stopped answering part-way")


# --- lazarus dlq ... --json ----------------------------------------------------------------


class LetterExample(Shape):
    dead_letter_id: str
    reason: str = Field(description="the letter's own reason, numbers and all")
    origin: str = Field(description="`topic[partition]@offset`, or `file:line` for a replay")
    payload: str = Field(description="its first 300 characters")
    payload_size: Count | None = Field(description="bytes; null in letters from before sizes")
    payload_sha256: str | None = Field(description="of the whole payload")
    payload_truncated: bool = Field(description="the letter holds only the payload's start")
    payload_summary: str = Field(description="size, sha256 and `cut`, for a person")


class ReasonGroup(Shape):
    reason: str = Field(description="error class and reason, numbers blanked to #")
    count: Count = Field(description="inputs: one rejected by several stages counts once")
    letters: Count = Field(description="letters, before merging those of one input")
    truncated: Count = Field(description="letters whose payload was cut")
    stages: list[str] = Field(description="producer, trainer, scorer")
    origin_topics: list[str] = Field(description="topics (or files) the letters came from")
    first_at: Time = Field(description="the oldest letter's event time")
    last_at: Time = Field(description="the newest letter's event time")
    example: LetterExample = Field(description="the first letter of the group")


class DeadLetterReport(Shape):
    """`lazarus dlq inspect --json`: groups most frequent first."""

    total: Count = Field(description="letters read (after --topic)")
    inputs: Count = Field(description="distinct inputs: same origin and payload sha256")
    merged: Count = Field(description="letters folded into another of the same input")
    unreadable: Count = Field(description="records on the topic that are no dead letter")
    groups: list[ReasonGroup]


class ReplayItem(Shape):
    from_: str = Field(alias="from", description="where it came from")
    to: str | None = Field(description="the topic it goes to; null: it is never sent")
    key: str | None = Field(None, description="the Kafka key it is sent with")
    event_id: str | None = Field(None, description="null when the payload does not parse")
    ok: bool = Field(description="the payload passes its topic's schema now")
    why: str | None = Field(description="why not, else null")
    stages: list[str] = Field(
        default_factory=list, description="every stage that rejected the input; [] for --fixed"
    )


class ReplayReport(Shape):
    """`lazarus dlq replay --json` (exit 1 when a send failed)."""

    dry_run: bool = Field(description="true without --execute: nothing was sent")
    selected: Count = Field(description="inputs (or --fixed lines) chosen, each sent once")
    merged: Count = Field(0, description="more letters of the chosen inputs, not sent again")
    valid: Count = Field(description="of them, those that pass their topic's schema")
    would_send: Count | None = Field(None, description="a dry run's count; null with --execute")
    sent: Count | None = Field(None, description="acknowledged by the broker; null on a dry run")
    items: list[ReplayItem]


# --- lazarus topics list --json --------------------------------------------------------------


class TopicRow(Shape):
    topic: str
    partitions: Count
    event: str | None = Field(description="the event class it carries; null: not Lazarus's")


class TopicList(RootModel[list[TopicRow]]):
    """`lazarus topics list --json`."""


# --- lazarus config show --json --------------------------------------------------------------


@cache
def config_shape() -> type[Shape]:
    """`lazarus config show --json`: one key per variable (`LAZARUS_REDIS_URL`, ...), each
    typed as its setting, as `Settings.masked()` shows it: secrets masked (`**********`, a
    password in a URL as `***`), `LAZARUS_SNAPSHOT_MODULES` as set (comma-separated)."""
    fields: dict[str, Any] = {}
    for name, info in Settings.model_fields.items():
        shown: Any = info.annotation
        if shown is SecretStr or name == "snapshot_modules":
            shown = str
        elif SecretStr in get_args(shown):
            shown = str | None
        fields[env_name(name)] = (shown, Field(description=info.description))
    model: type[Shape] = create_model(
        "ConfigReport", __base__=Shape, __doc__=config_shape.__doc__, **fields
    )
    return model
