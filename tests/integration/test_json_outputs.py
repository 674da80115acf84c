"""Every `--json` output of the CLI, run against the real broker and Redis with a published
model, served quality, live roles and dead letters, validated against its exported JSON Schema:
numbers are numbers, times ISO 8601 UTC."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import redis

from lazarus.cli.json_schemas import cli_schema, outputs
from lazarus.heartbeat import read_heartbeats, running_heartbeat
from lazarus.kafka.producer import DeliveryCounts
from lazarus.producers.app import feed_beat
from lazarus.producers.feed import FeedStats
from lazarus.quality_store import ModelQuality, VersionQuality, write_quality
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.integration.scorerkit import ModelMaker, wait_until
from tests.integration.test_dlq import dead_letter
from tests.integration.trainerkit import store_of, with_keys

RUNS = [
    ["status"],
    ["models", "list"],
    ["models", "show", "habitat"],
    ["models", "history", "habitat"],
    ["models", "verify", "habitat"],
    ["models", "gate", "habitat"],
    ["lag"],
    ["dlq", "inspect"],
    ["dlq", "replay"],
    ["topics", "list"],
    ["config", "show"],
    ["genomes", "summarize", str(Path(__file__).parents[1] / "fixtures" / "vcf" / "good.vcf")],
]


def is_utc(text: Any) -> bool:
    return isinstance(text, str) and text.endswith("Z") and datetime.fromisoformat(text) is not None


def quality(version: int) -> tuple[VersionQuality, ModelQuality]:
    figures = {
        "n": 40,
        "served": {"Accuracy": 0.8},
        "prequential": {"Accuracy": 0.85},
        "served_worse_by": {"Accuracy": 0.05},
    }
    common = {**figures, "learned_before_served": 7, "position_unknown": 0, "updated_at": 1.7e9}
    row: Any = {**common, "version": version, "segments": {"site_id=s1": figures}}
    overall: Any = {**common, "versions": [version]}
    return row, overall


@contextmanager
def live_roles(s: Settings) -> Iterator[None]:
    """A producer and a scorer beating, as `lazarus up` runs them."""
    stats = FeedStats(events=120, outcomes=110)
    with ExitStack() as stack:
        for role, beat in (
            ("producer:sensors", lambda: feed_beat(stats, DeliveryCounts(sent=230))),
            (
                "scorer:habitat",
                lambda: {
                    "events_in": 96,
                    "scored": 95,
                    "model_version": 2,
                    "dead_lettered": 1,
                    "last_refused_at": 1_700_000_000.0,  # long ago: health does not judge it
                },
            ),
        ):
            stack.enter_context(running_heartbeat(s, role, beat))
        client = redis.Redis.from_url(s.redis_url_value)
        wait_until(lambda: len(read_heartbeats(client, s.redis_key_prefix)) == 2, 30, "beats")
        client.close()
        yield


def command(args: list[str]) -> str:
    """The command an argument list runs: `["models", "show", "habitat"]` -> `models show`."""
    return " ".join(args[:2]) if len(args) > 1 else args[0]


def run_json(args: list[str], env: dict[str, str]) -> Any:
    result = lazarus(*args, "--json", env=env, timeout=120)
    assert result.returncode == 0, (args, result.stderr)
    data = json.loads(result.stdout)
    jsonschema.validate(data, cli_schema(command(args)))
    return data


def test_every_json_output_matches_its_schema(settings: Settings, topics: list[str]) -> None:
    assert {command(args) for args in RUNS} == set(outputs()), "a new output needs a run here"
    s = with_keys(settings)
    maker = ModelMaker(s)
    maker.publish()
    maker.publish()
    store = store_of(s)
    row, overall = quality(1)  # the version served after the rollback below
    write_quality(store.client, s.redis_key_prefix, "habitat", [row], overall)
    assert store.move_current("habitat", 1, "rollback", "json test", "me@host")[0] == "ok"
    dead_letter(s)
    env = cli_env(s)
    with live_roles(s):
        seen = {" ".join(args): run_json(args, env) for args in RUNS}

    status = seen["status"]
    assert status["ok"] and is_utc(status["at"]) and status["dead_letters"] == 8
    (model,) = status["models"]
    assert (model["current"], model["latest"], model["pinned"]) == (1, 2, 1)
    roles = {r["role"]: r for r in status["roles"]}
    producer, scorer = roles["producer:sensors"], roles["scorer:habitat"]
    assert (producer["events_out"], producer["outcomes_out"], producer["events_in"]) == (
        120,
        110,
        None,
    )
    assert (scorer["events_in"], scorer["model_version"]) == (96, 2)
    assert is_utc(scorer["updated_at"]) and scorer["metrics_url"] is None
    assert is_utc(scorer["started_at"]) and scorer["last_refused_at"] == "2023-11-14T22:13:20Z"
    assert not [r for r in status["health"]["reasons"] if r["code"] == "scorer_refusing"]

    history = seen["models history habitat"]
    assert [(h["action"], h["version"], h["previous"]) for h in history] == [
        ("rollback", 1, 2),
        ("publish", 2, 1),
        ("publish", 1, None),
    ]
    assert all(is_utc(h["at"]) for h in history)
    shown = seen["models show habitat"]
    assert shown["version"] == 1 and is_utc(shown["created_at"])
    assert seen["models list"][0]["versions"] == [1, 2]
    gate = seen["models gate habitat"]  # no quality monitor ran: nothing judged yet
    assert gate["champion"] == {"line": "habitat", "version": 1}
    assert gate["guard"]["state"] == "unjudged" and gate["policy"]["guard"]["margin"] == 0.02
    assert is_utc(seen["models list"][0]["created_at"])
    assert shown["served_quality"]["segments"]["site_id=s1"]["n"] == 40
    assert shown["served_quality_all_versions"]["updated_at"] == "2023-11-14T22:13:20Z"
    assert model["served_quality"]["learned_before_served"] == 7
    assert is_utc(seen["lag"]["at"]) and seen["lag"]["groups"]
    inspect = seen["dlq inspect"]
    assert inspect["total"] == 8 and all(is_utc(g["last_at"]) for g in inspect["groups"])
    replay = seen["dlq replay"]
    assert replay["dry_run"] and replay["sent"] is None and replay["would_send"] == 1
    assert all(isinstance(t["partitions"], int) for t in seen["topics list"])
    config = seen["config show"]
    assert config["LAZARUS_TOPIC_PARTITIONS"] == 2 and config["LAZARUS_EMBEDDED"] is False
    assert config["LAZARUS_SIGNING_PRIVATE_KEY"] == "**********"


def test_history_of_an_unknown_model_exits_1_with_one_line(
    settings: Settings, topics: list[str]
) -> None:
    env = cli_env(settings)
    for args in (
        ["models", "history", "nosuchmodel"],
        ["models", "history", "nosuchmodel", "--json"],
    ):
        result = lazarus(*args, env=env)
        assert result.returncode == 1, result.stderr
        assert result.stderr == "error: no snapshots of 'nosuchmodel'\n" and result.stdout == ""
