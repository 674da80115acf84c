"""`lazarus status`: one summary of the whole system."""

from __future__ import annotations

import time
from typing import Any

import click
import redis

from lazarus import redisconn
from lazarus.cli.context import CliContext, pass_cli, print_json
from lazarus.cli.json_shapes import StatusReport
from lazarus.cli.status_health import status_health
from lazarus.cli.status_render import _joins as _joins  # re-exported for tests
from lazarus.cli.status_render import print_status
from lazarus.errors import ServiceUnavailable
from lazarus.groups import known_groups
from lazarus.heartbeat import read_heartbeats
from lazarus.kafka.admin import wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.lag import lag_exact, max_age, sample_lag, total_lag
from lazarus.lifecycle_view import read_lifecycles
from lazarus.metric_text import learned
from lazarus.quality_store import read_quality
from lazarus.registry.lineup import Lineup
from lazarus.schemas.topics import DEAD_LETTERS
from lazarus.settings import Settings, env_name, redact_url


def collect(cli: CliContext) -> dict[str, Any]:
    """Everything `status` shows. A service that is down, or goes away while this runs, is
    marked `ok: false` with a `fix` naming its setting; what was read before stays."""
    s = cli.settings
    conf = client_config(s, quiet=True)
    out: dict[str, Any] = {"at": time.time(), "groups": [], "dead_letters": None}
    out["broker"] = _broker(s, conf)
    if out["broker"]["ok"]:
        try:
            _read_kafka(out, s, conf)
        except ServiceUnavailable as exc:
            out["broker"] = _broker_down(s, exc, "it stopped answering while status ran; ")
    out["models"], out["roles"] = [], []
    out["redis"] = _read_redis(out, s)
    out["ok"] = bool(out["broker"]["ok"] and out["redis"]["ok"])
    out["health"] = status_health(out, s)
    return out


def _broker(s: Settings, conf: dict[str, Any]) -> dict[str, Any]:
    try:
        wait_for_broker(conf, timeout=3.0)
    except ServiceUnavailable as exc:
        return _broker_down(s, exc)
    return {"ok": True, "bootstrap": s.kafka_bootstrap_servers}


def _broker_down(s: Settings, exc: Exception, when: str = "") -> dict[str, Any]:
    return {
        "ok": False,
        "bootstrap": s.kafka_bootstrap_servers,
        "error": str(exc),
        "fix": f"{when}start Kafka or set {env_name('kafka_bootstrap_servers')}",
    }


def _read_kafka(out: dict[str, Any], s: Settings, conf: dict[str, Any]) -> None:
    """Every Lazarus group's lag and the dead-letter count into `out`, from one lag sample
    (`lazarus.lag.sample_lag`): the built-in models' groups and any other with commits."""
    dead = DEAD_LETTERS.full(s.topic_prefix)
    sample = sample_lag(conf, known_groups(s.topic_prefix), prefix=s.topic_prefix, topics=[dead])
    for group, rows in sample.groups.items():
        out["groups"].append(
            {
                "group": group,
                "committed": any(r.committed is not None for r in rows),
                "lag": total_lag(rows),
                "lag_exact": lag_exact(rows),
                "lag_seconds": max_age(rows),
                "sampled_at": sample.sampled_at,
            }
        )
    out["dead_letters"] = sample.messages(dead)


def _read_redis(out: dict[str, Any], s: Settings) -> dict[str, Any]:
    """Models and roles into `out`; returns the Redis entry (down, or lost mid-read)."""
    url = s.redis_url_value
    entry: dict[str, Any] = {"ok": True, "url": redact_url(url)}
    fix = f"start Redis or set {env_name('redis_url')}"
    if not redisconn.answers(url):
        return {**entry, "ok": False, "fix": fix}
    client = redisconn.connect(url)
    try:
        out["models"] = _models(client, s)
        out["roles"] = _roles(client, s)
    except (redis.RedisError, OSError) as exc:
        return {
            **entry,
            "ok": False,
            "error": str(exc),
            "fix": f"it stopped answering while status ran; {fix}",
        }
    finally:
        client.close()
    return entry


def _models(client: redis.Redis, s: Settings) -> list[dict[str, Any]]:
    """Every registry name with its pointers and quality; a model of its own with its lifecycle
    (`lazarus.lifecycle_view`), a line of another model with the model's name (`line_of`)."""
    lineup = Lineup(client, s.redis_key_prefix)
    store = lineup.store
    names = store.models()
    lives = read_lifecycles(lineup, names)
    models = []
    for name in names:
        current = store.current(name)
        m = store.manifest(name, current) if current else None
        served = [
            r
            for r in read_quality(client, s.redis_key_prefix, name)
            if m and r["version"] == m.version
        ]
        models.append(
            {
                "model": name,
                "current": current,
                "latest": store.latest(name),
                "pinned": store.pinned(name),
                "n_learned": m.n_learned if m else None,
                "staleness_s": time.time() - m.created_at.timestamp() if m else None,
                "metrics": learned(m.metrics, m.n_learned) if m else {},
                "served_quality": served[0] if served else None,
                **lives[name],
            }
        )
    return models


ROLE_FIELDS = (
    "role",
    "instance",
    "state",
    "model_version",
    "events_in",
    # producers: input events and their outcomes apart (events/s counts events only)
    "events_out",
    "outcomes_out",
    "scored",
    "dead_lettered",
    "refused",
    "n_learned",
    "metrics_url",
    "updated_at",
    "started_at",
    # health's windows: a scorer's last refusal, when a trainer last learned and read
    "last_refused_at",
    "last_learned_at",
    "last_read_at",
    # trainers: what never joined, and outcomes waiting for their features
    "unjoined_expired",
    "unjoined_evicted",
    "unjoined_unmatched",
    "waiting_outcomes",
    # per-key models: the shards a trainer owns, the partitions a scorer holds (docs/per-key.md)
    "owned",
    "served_shards",
    "held",
)


def _roles(client: redis.Redis, s: Settings) -> list[dict[str, Any]]:
    return [
        {k: beat.get(k) for k in ROLE_FIELDS}
        for beat in read_heartbeats(client, s.redis_key_prefix)
    ]


@click.command(
    epilog="""\b
Examples:
  lazarus status            a summary for people
  lazarus status --json     the same for scripts (exit 1 when Kafka or Redis is down;
                            its shape: docs/cli-json.md)

Shows the broker and Redis, every Lazarus consumer group with its lag (the
built-in models' trainers and scorers, and any other with commits), each
model's current version, staleness and served quality, its lifecycle (the
champion line, the challengers with their paired comparison, the rollback
guard, the last drift and the last automatic action), the roles that are
alive (from their heartbeats, with their /metrics URLs), and the number of
dead letters.""",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def status(cli: CliContext, as_json: bool) -> int:
    """One summary of the whole system: services, lag, models, roles, dead letters."""
    data = collect(cli)
    if as_json:
        print_json(data, StatusReport)
        return 0 if data["ok"] else 1
    print_status(cli.console, data)
    return 0 if data["ok"] else 1
