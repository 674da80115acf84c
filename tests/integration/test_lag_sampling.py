"""Lag sampling against a real broker: every Lazarus group found without `--group`, figures that
carry when they were sampled, log ends that follow new batches, and a stale sample shown as
stale (with its age) by the `up` table and the dashboard once the broker is gone."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from rich.console import Console

from lazarus.dashboard.state import Sampler
from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port
from lazarus.groups import group_name
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import KafkaConfig, client_config
from lazarus.lag import LagMemo, sample_lag
from lazarus.lag_fetch import Plan, Reads
from lazarus.lag_fetch import read_logs as real_read_logs
from lazarus.lag_text import staleness
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.settings import Settings
from lazarus.statusview import StatusView
from lazarus.supervisor import Child, RoleSpec
from tests.integration.cli import cli_env, lazarus
from tests.integration.scorerkit import wait_until

STALE_WAIT_S = 60.0
EXACT_WAIT_S = 90.0
"""Seconds to retry a CLI whose 0.3 s read budget ran out (a busy machine) until its log ends
are exact."""
BUDGET_S = 30.0
"""A read budget no busy machine runs out of: the log ends read are exact."""


def produce(s: Settings, topic: str, count: int, linger_ms: int = 20) -> None:
    """`count` records on `topic`, spread over its partitions, in batches."""
    producer = Producer({**client_config(s, quiet=True), "linger.ms": linger_ms})
    for i in range(count):
        producer.produce(topic, b"{}", f"key-{i}".encode(), partition=i % s.topic_partitions)
    assert producer.flush(30) == 0


def read_and_commit(s: Settings, group: str, topic: str, per_partition: int) -> None:
    """A real consumer of `group` reads `per_partition` records of each partition, commits."""
    conf = {**client_config(s, quiet=True), "group.id": group, "enable.auto.commit": False}
    consumer = Consumer(conf)
    try:
        parts = range(s.topic_partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        upto = dict.fromkeys(parts, 0)
        wait_until(
            lambda: _consume(consumer, upto) or all(n >= per_partition for n in upto.values()),
            30,
            f"{per_partition} records of each partition of {topic}",
        )
        consumer.commit(
            offsets=[TopicPartition(topic, p, per_partition) for p in parts], asynchronous=False
        )
    finally:
        consumer.close()


def _consume(consumer: Consumer, upto: dict[int, int]) -> bool:
    for msg in consumer.consume(100, 0.2):
        if msg.error() is None:
            p = msg.partition() or 0
            upto[p] = max(upto[p], (msg.offset() or 0) + 1)
    return False


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def exact_json(s: Settings, command: str, exact: Any) -> dict[str, Any]:
    """`lazarus {command} --json`, run again until `exact(data)` (every log end read in its
    0.3 s budget; a figure short of it is a lower bound, `≥N`)."""
    out: dict[str, Any] = {}

    def ran() -> bool:
        result = lazarus(command, "--json", env=cli_env(s))
        assert result.returncode == 0, result.stderr
        out.update(json.loads(result.stdout))
        return bool(exact(out))

    wait_until(ran, EXACT_WAIT_S, f"`lazarus {command} --json` with exact log ends")
    return out


def test_lag_and_status_show_every_lazarus_group_with_when_it_was_sampled(
    settings: Settings, topics: list[str]
) -> None:
    s = settings
    survey_topic = f"{s.topic_prefix}survey.records.v1"
    ensure_topics(client_config(s, quiet=True), [survey_topic], s.topic_partitions)
    produce(s, survey_topic, 20)
    survey = group_name(s.topic_prefix, "scorer", "survey")  # a spec-file model's scorer
    read_and_commit(s, survey, survey_topic, per_partition=5)
    produce(s, SENSOR_READINGS.full(s.topic_prefix), 7)

    data = exact_json(s, "lag", lambda d: all(g["total_lag_exact"] for g in d["groups"]))
    groups = {g["group"]: g for g in data["groups"]}
    assert groups[survey]["committed"] and groups[survey]["total_lag"] == 10
    # the habitat scorer never committed: its lag is the whole log it would read
    never = groups[group_name(s.topic_prefix, "scorer", "habitat")]
    assert not never["committed"] and never["total_lag"] == 7
    assert all(p["committed"] is None for p in never["partitions"])
    for g in groups.values():
        sampled = instant(g["sampled_at"])
        assert abs((instant(data["at"]) - sampled).total_seconds()) < 30
        assert all(instant(p["sampled_at"]) == sampled for p in g["partitions"])

    status = exact_json(s, "status", lambda d: all(g["lag_exact"] for g in d["groups"]))
    rows = {g["group"]: g for g in status["groups"]}
    assert rows[survey]["lag"] == 10 and rows[survey]["committed"]
    assert rows[never["group"]]["lag"] == 7 and not rows[never["group"]]["committed"]
    assert instant(rows[survey]["sampled_at"])

    table = lazarus("lag", env=cli_env(s, COLUMNS="250"))
    assert table.returncode == 0 and survey in table.stdout
    assert "never committed: lag is the whole log" in table.stdout


def test_log_ends_follow_new_batches_with_a_memo(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tansu's high watermark is the last batch's base + 1: the memo keeps the end read behind
    it (and the oldest record's timestamp: no read at all), and reads again once a new batch
    moves it."""
    s = settings
    reads: list[Plan] = []

    def read_logs(conf: KafkaConfig, plan: Plan, budget_s: float) -> Reads:
        reads.append(plan)
        return real_read_logs(conf, plan, budget_s)

    monkeypatch.setattr("lazarus.lag.read_logs", read_logs)
    topic = f"{s.topic_prefix}batches"
    conf = client_config(s, quiet=True)
    ensure_topics(conf, [topic], 1)
    group = f"{s.topic_prefix}lazarus.scorer.batches"
    memo = LagMemo()
    produce(s.with_overrides(topic_partitions=1), topic, 300, linger_ms=50)
    first = sample_lag(conf, {group: [topic]}, memo=memo, budget_s=BUDGET_S)
    assert len(reads) == 1
    again = sample_lag(conf, {group: [topic]}, memo=memo, budget_s=BUDGET_S)
    assert len(reads) == 1  # the end and the age both from the memo: no read of records
    assert [(r.end, r.end_exact, r.lag) for r in first.groups[group]] == [(300, True, 300)]
    assert [(r.end, r.end_exact, r.lag) for r in again.groups[group]] == [(300, True, 300)]
    assert again.groups[group][0].lag_seconds is not None
    assert again.sampled_at > first.sampled_at
    produce(s.with_overrides(topic_partitions=1), topic, 200, linger_ms=50)
    later = sample_lag(conf, {group: [topic]}, memo=memo, budget_s=BUDGET_S)
    assert len(reads) == 2 and list(reads[1].ends) == [(topic, 0)]
    assert [(r.end, r.end_exact, r.lag) for r in later.groups[group]] == [(500, True, 500)]


@pytest.fixture
def own_broker(redis_url: str) -> Iterator[tuple[EmbeddedBroker, Settings]]:
    """A broker of this test's own (the session one must stay up): it is stopped mid-test."""
    broker = EmbeddedBroker(free_port())
    broker.start()
    tag = uuid.uuid4().hex[:10]
    s = Settings(
        embedded=False,
        kafka_bootstrap_servers=broker.bootstrap,
        redis_url=redis_url,
        topic_prefix=f"stale.{tag}.",
        redis_key_prefix=f"lazarus-test:{tag}",
        topic_partitions=2,
    )
    try:
        yield broker, s
    finally:
        broker.stop()


def up_lag(view: StatusView, name: str) -> str:
    """The `lag` cell of role `name` in the `up` table."""
    console = Console(width=250, record=True)
    console.print(view.render(10.0))
    lines = console.export_text().splitlines()
    (header,) = [cells(line) for line in lines if "model version" in line]
    (row,) = [cells(line) for line in lines if name in line]
    return row[header.index("lag")]


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.replace("┃", "│").split("│")[1:-1]]


def test_a_stale_lag_is_shown_as_stale_with_its_age(
    own_broker: tuple[EmbeddedBroker, Settings], tmp_path: Path
) -> None:
    broker, s = own_broker
    topic = SENSOR_READINGS.full(s.topic_prefix)
    ensure_topics(client_config(s, quiet=True), [topic], s.topic_partitions)
    produce(s, topic, 40)
    group = group_name(s.topic_prefix, "scorer", "habitat")
    read_and_commit(s, group, topic, per_partition=5)
    role = RoleSpec("scorer:habitat#1", ("-",), group=group, topics=(topic,))
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    client = redis.Redis.from_url(s.redis_url_value)
    view = StatusView(
        [Child(role, proc, tmp_path / "role.log")],
        client,
        s.redis_key_prefix,
        client_config(s, quiet=True),
        s.topic_prefix,
    )
    sampler = Sampler(s, client, interval=1.0)
    try:
        wait_until(lambda: up_lag(view, "scorer:habitat#1") == "30", 30, "the lag in up")
        fresh: dict[str, Any] = {}

        def sampled_exact() -> bool:
            sampler.sample_lag()
            (row,) = [g for g in sampler.state()["lag"]["groups"] if g["group"] == group]
            fresh.update(row)
            return bool(row["exact"])

        wait_until(sampled_exact, 30, "the dashboard's lag, its log ends read in time")
        assert fresh["lag"] == 30 and fresh["error"] is None and fresh["sampled_at"]

        broker.stop()  # from now on every sample fails: the last figure ages
        wait_until(
            lambda: (
                up_lag(view, "scorer:habitat#1").startswith("30 · ")
                and up_lag(view, "scorer:habitat#1").endswith(" s old")
            ),
            STALE_WAIT_S,
            "the up table to show the lag as stale, with its age",
        )
        sampler.sample_lag()  # fails: the table keeps the figure, with its time and the error
        state = sampler.state()
        (kept,) = [g for g in state["lag"]["groups"] if g["group"] == group]
        assert kept["lag"] == 30 and kept["error"] and kept["sampled_at"] == fresh["sampled_at"]
        assert state["sources"]["kafka"]["error"]
        assert state["stale_after_s"] == 5.0
        said = staleness(kept["sampled_at"], state["now"])
        assert said is not None and said.endswith(" s old")
    finally:
        view.close()
        proc.kill()
        proc.wait(10)
        client.close()
