"""`status`, `lag`, `topics list` and `dlq inspect` on a broker that goes away (issue #12, item 11).

Each test starts its own embedded broker (the session one must stay up) and stops it: before the
command, between two of its groups (in process, at a known point), or in the middle of a call
(a subprocess, the broker stopped when the command opens its Nth connection through a proxy).
Every time: no traceback, what was read is shown, one line names LAZARUS_KAFKA_BOOTSTRAP_SERVERS,
exit 1.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from confluent_kafka import Consumer, Producer, TopicPartition

from lazarus.cli import lag_cmd, status_cmd
from lazarus.cli.main import main
from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port
from lazarus.groups import group_name, known_groups
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, producer_config
from lazarus.schemas.topics import DEAD_LETTERS, SENSOR_READINGS, topic_names
from lazarus.settings import Settings
from tests.integration.cli import cli_env
from tests.integration.tcpproxy import Proxy

BOOTSTRAP = "LAZARUS_KAFKA_BOOTSTRAP_SERVERS"
READINGS = 5


class TripProxy(Proxy):
    """A proxy that, when a client opens its `trip_at`-th connection, cuts every connection and
    refuses new ones (and sets `tripped`): from then on the broker is gone for that client,
    whatever the timing. The test then stops the broker itself too."""

    def __init__(self, listen_port: int, upstream: tuple[str, int], trip_at: int) -> None:
        super().__init__(listen_port, upstream)
        self.trip_at = trip_at
        self.accepted = 0
        self.tripped = threading.Event()

    def admit(self, client: socket.socket) -> bool:
        self.accepted += 1
        if self.accepted < self.trip_at:
            return True
        client.close()
        self.cut()
        self.tripped.set()
        return False


@dataclass
class Doomed:
    broker: EmbeddedBroker
    settings: Settings
    proxy: TripProxy


@pytest.fixture
def doomed(redis_url: str) -> Iterator[Doomed]:
    """A broker of this test's own, behind a proxy (clients are told to use the proxy's port),
    with topics, readings and committed offsets for the habitat scorer group."""
    proxy_port, broker_port = free_port(), free_port()
    proxy = TripProxy(proxy_port, ("127.0.0.1", broker_port), trip_at=10**9)
    proxy.start()
    broker = EmbeddedBroker(broker_port, advertise=f"127.0.0.1:{proxy_port}")
    broker.start()
    tag = uuid.uuid4().hex[:10]
    s = Settings(
        embedded=False,
        kafka_bootstrap_servers=f"127.0.0.1:{proxy_port}",
        redis_url=redis_url,
        topic_prefix=f"lost.{tag}.",
        redis_key_prefix=f"lazarus-test:{tag}",
        topic_partitions=2,
    )
    try:
        seed(s)
        yield Doomed(broker, s, proxy)
    finally:
        broker.stop()
        proxy.cut()
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{s.redis_key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def seed(s: Settings) -> None:
    p = s.topic_prefix
    ensure_topics(client_config(s, quiet=True), topic_names(p), s.topic_partitions)
    producer = Producer(producer_config(s))
    for i in range(READINGS):
        producer.produce(SENSOR_READINGS.full(p), b"{}", f"site-{i}", partition=0)
    producer.produce(DEAD_LETTERS.full(p), b"not a dead letter", "site-x")
    assert producer.flush(30) == 0
    consumer = Consumer({**client_config(s, quiet=True), "group.id": scorer_group(s)})
    try:
        committed = [TopicPartition(SENSOR_READINGS.full(p), 0, 2)]
        consumer.commit(offsets=committed, asynchronous=False)
    finally:
        consumer.close()


def scorer_group(s: Settings) -> str:
    return group_name(s.topic_prefix, "scorer", "habitat")


class StopAfterFirst(dict[str, tuple[str, ...]]):
    """The known groups, with the broker stopped after the first one is handed out: before the
    lag sample (one for every group) reads anything."""

    def __init__(self, groups: dict[str, tuple[str, ...]], broker: EmbeddedBroker) -> None:
        super().__init__(groups)
        self.broker = broker

    def items(self) -> Iterator[tuple[str, tuple[str, ...]]]:  # type: ignore[override]
        entries = iter(list(super().items()))
        yield next(entries)
        self.broker.stop()
        yield from entries


def first_group_first(s: Settings, broker: EmbeddedBroker) -> StopAfterFirst:
    """The scorer group (the one with commits) first, then the others."""
    groups = known_groups(s.topic_prefix)
    ordered = {scorer_group(s): groups.pop(scorer_group(s)), **groups}
    return StopAfterFirst(ordered, broker)


def run_main(
    args: list[str], s: Settings, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[int, str, str]:
    for key, value in cli_env(s).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out, out.err


def test_status_shows_redis_when_the_broker_stops_during_the_lag_sample(
    doomed: Doomed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = doomed.settings
    monkeypatch.setattr(status_cmd, "known_groups", lambda _: first_group_first(s, doomed.broker))
    code, out, err = run_main(["status", "--json"], s, monkeypatch, capsys)
    assert code == 1 and err == ""
    data = json.loads(out)
    assert data["groups"] == []  # one sample for every group: it failed as a whole
    assert data["broker"]["ok"] is False
    assert data["broker"]["fix"].startswith("it stopped answering while status ran")
    assert BOOTSTRAP in data["broker"]["fix"] and BOOTSTRAP in data["broker"]["error"]
    assert data["redis"]["ok"] is True and data["dead_letters"] is None


def test_status_table_says_which_setting_to_change(
    doomed: Doomed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = doomed.settings
    monkeypatch.setattr(status_cmd, "known_groups", lambda _: first_group_first(s, doomed.broker))
    monkeypatch.setenv("COLUMNS", "250")
    code, out, err = run_main(["status"], s, monkeypatch, capsys)
    assert code == 1 and err == ""
    (broker_line,) = [line for line in out.splitlines() if line.startswith("broker:")]
    assert broker_line.startswith(f"broker: down {s.kafka_bootstrap_servers}: it stopped")
    assert broker_line.endswith(f"start Kafka or set {BOOTSTRAP}")
    assert "redis: ok" in out


def test_lag_says_which_setting_to_change_when_the_broker_stops_during_the_sample(
    doomed: Doomed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = doomed.settings
    monkeypatch.setattr(lag_cmd, "known_groups", lambda _: first_group_first(s, doomed.broker))
    code, out, err = run_main(["lag", "--json"], s, monkeypatch, capsys)
    assert code == 1
    data = json.loads(out)
    assert data["groups"] == [] and BOOTSTRAP in data["error"]
    (line,) = err.strip().splitlines()
    assert line.startswith("error: Kafka at") and line.endswith(f"set {BOOTSTRAP}")


def cli(args: list[str], s: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lazarus", *args],
        env=cli_env(s),
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_naming_bootstrap(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 1, result.stderr
    named = [line for line in (result.stderr + result.stdout).splitlines() if BOOTSTRAP in line]
    assert named, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) <= 1, result.stderr


COMMANDS = [["status"], ["status", "--json"], ["lag"], ["topics", "list"], ["dlq", "inspect"]]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_stopped_broker_is_one_line_naming_the_setting(doomed: Doomed, args: list[str]) -> None:
    doomed.broker.stop()
    assert_one_line_naming_bootstrap(cli(args, doomed.settings))


# (command, the connection at which the broker goes away). Without trouble `status` and `lag`
# open 6 or 7 connections (one lag sample: an admin client and a reader), `topics list` 4,
# `dlq inspect` 5 (a busy machine can change that by one or two); `wait_for_broker` uses the
# first two, so each cut below lands after it, inside the command's own reads.
MID_CALL = [
    (["status"], 3),
    (["status", "--json"], 4),
    (["status"], 5),
    (["lag"], 4),
    (["lag", "--json"], 5),
    (["topics", "list"], 3),
    (["dlq", "inspect", "--json"], 3),
    (["dlq", "inspect", "--json"], 4),
]


def read_everything(args: list[str], s: Settings, out: str) -> bool:
    """Whether `out` is the whole answer (a command may have read it all before the cut)."""
    if args[0] == "topics":
        return all(name in out for name in topic_names(s.topic_prefix))
    if args[0] == "dlq":
        empty = {"total": 0, "inputs": 0, "merged": 0, "unreadable": 1, "groups": []}
        return bool(json.loads(out) == empty)
    return False  # status and lag have reads left at every cut above (and Redis is up)


@pytest.mark.parametrize(("args", "trip_at"), MID_CALL, ids=lambda v: str(v).replace(" ", ""))
def test_a_broker_lost_mid_call_is_one_line_naming_the_setting(
    doomed: Doomed, args: list[str], trip_at: int
) -> None:
    doomed.proxy.trip_at = doomed.proxy.accepted + trip_at
    proc = subprocess.Popen(
        [sys.executable, "-m", "lazarus", *args],
        env=cli_env(doomed.settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not doomed.proxy.tripped.wait(0.05) and proc.poll() is None:
            assert time.monotonic() < deadline, "the command neither ended nor reached the cut"
        doomed.broker.stop()
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert "Traceback" not in out + err, err
    if proc.returncode == 0:  # it had read everything before the broker went away
        assert read_everything(args, doomed.settings, out), (out, err)
        return
    assert_one_line_naming_bootstrap(subprocess.CompletedProcess(args, proc.returncode, out, err))
