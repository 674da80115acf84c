"""The embedded stack: broker, Redis fallback, topics, and cleanup."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
from confluent_kafka.admin import AdminClient

from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port
from lazarus.embedded.stack import Stack
from lazarus.errors import PortInUse
from lazarus.kafka.admin import ensure_topics, list_topics
from lazarus.kafka.config import client_config
from lazarus.schemas.topics import topic_names
from lazarus.settings import Settings
from tests.proctools import pids_with, wait_gone


def test_broker_answers_metadata_and_stops_cleanly() -> None:
    broker = EmbeddedBroker(free_port())
    elapsed = broker.start()
    try:
        md = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=5)
        assert md.brokers, "metadata lists no broker"
        assert elapsed > 0
        pid = broker.pid
    finally:
        broker.stop()
    assert pid is not None and not pids_with(f"127.0.0.1:{broker.port}")


def test_port_in_use_names_the_port_and_the_setting() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(PortInUse) as info:
            EmbeddedBroker(port).start()
    message = str(info.value)
    assert str(port) in message and "LAZARUS_EMBEDDED_BROKER_PORT" in message


def test_stack_uses_configured_redis_and_creates_topics_idempotently(redis_url: str) -> None:
    settings = Settings(
        embedded=True, embedded_broker_port=free_port(), redis_url=redis_url, topic_partitions=3
    )
    with Stack(settings) as stack:
        assert stack.info is not None
        assert not stack.info.redis_embedded
        assert stack.settings.redis_url_value == redis_url
        assert set(stack.info.topics_created) == set(topic_names())
        conf = client_config(stack.settings, quiet=True)
        assert {t.name: t.partitions for t in list_topics(conf)} == {n: 3 for n in topic_names()}
        again = ensure_topics(conf, topic_names(), 3)
        assert again == {n: False for n in topic_names()}


def test_stack_starts_embedded_redis_when_none_answers() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = Settings(embedded=True, embedded_broker_port=free_port(), redis_url=dead)
    with Stack(settings) as stack:
        assert stack.info is not None and stack.info.redis_embedded
        assert "embedded redis-server" in "\n".join(stack.info.describe())
        url = stack.settings.redis_url_value
        assert url != dead
        import redis

        assert redis.Redis.from_url(url).ping()
        port = url.rsplit(":", 1)[1].split("/")[0]
    assert not pids_with(f"--port\0{port}")


def test_children_die_when_parent_is_killed() -> None:
    """kill -9 of the parent: PR_SET_PDEATHSIG takes the broker down with it."""
    port = free_port()
    code = (
        "from lazarus.embedded.broker import EmbeddedBroker; import time, sys\n"
        f"b = EmbeddedBroker({port}); b.start(); print('ready', flush=True); time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    assert parent.stdout.readline().strip() == b"ready"
    assert pids_with(f"127.0.0.1:{port}"), "broker not running"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert wait_gone(f"127.0.0.1:{port}", timeout=5) == []
