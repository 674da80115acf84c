"""Real services for integration tests: a Kafka-protocol broker and a Redis, once per session.

- Kafka: the broker named by LAZARUS_TEST_KAFKA (`host:port`, or `apache`: a real Apache Kafka
  started by scripts/kafka for the session), else the embedded Tansu broker on a free port.
- Apache Kafka, for tests of what Tansu cannot do (`apache_bootstrap`): the session broker with
  LAZARUS_TEST_KAFKA=apache, else a one-node Apache Kafka started by scripts/kafka.
- Redis: LAZARUS_TEST_REDIS_URL (default redis://127.0.0.1:6379/0), else the embedded redis-server.
A service that cannot start fails the test with the reason; nothing is skipped.
Each test gets its own topic prefix and Redis key prefix, removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from lazarus import redisconn
from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port, port_is_free
from lazarus.embedded.redis_server import EmbeddedRedis
from lazarus.errors import LazarusError
from lazarus.kafka.admin import delete_topics, ensure_topics, wait_for_broker
from lazarus.kafka.config import client_config, quiet_logger
from lazarus.schemas.topics import topic_names
from lazarus.settings import DEFAULT_REDIS_URL, Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    external = os.environ.get("LAZARUS_TEST_KAFKA")
    if external == "apache":
        yield from _apache_kafka()
        return
    if external:
        try:
            wait_for_broker({"bootstrap.servers": external, "logger": quiet_logger()}, timeout=15)
        except LazarusError as exc:
            pytest.fail(f"LAZARUS_TEST_KAFKA={external} does not answer: {exc}")
        yield external
        return
    broker = EmbeddedBroker(free_port())
    try:
        broker.start()
    except LazarusError as exc:
        pytest.fail(
            f"the embedded Kafka broker could not start (set LAZARUS_TEST_KAFKA to use another): {exc}"
        )
    yield broker.bootstrap
    broker.stop()


def _apache_kafka() -> Iterator[str]:
    """A real Apache Kafka (KRaft, one node) started by scripts/kafka for this session."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "kafka"
    root = Path(tempfile.mkdtemp(prefix="lazarus-test-kafka-"))
    port = free_port()
    while not port_is_free("127.0.0.1", port + 1):
        port = free_port()
    started = subprocess.run(
        [sys.executable, str(script), "start", "--port", str(port), "--dir", str(root)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    if started.returncode != 0:
        pytest.fail(f"LAZARUS_TEST_KAFKA=apache: scripts/kafka could not start Apache Kafka: "
                    f"{started.stderr.strip() or started.stdout.strip()}")  # fmt: skip
    bootstrap = started.stdout.strip().splitlines()[-1]
    try:
        wait_for_broker({"bootstrap.servers": bootstrap, "logger": quiet_logger()}, timeout=60)
        yield bootstrap
    finally:
        subprocess.run([sys.executable, str(script), "stop", "--dir", str(root)], check=False)


@pytest.fixture(scope="session")
def apache_bootstrap(request: pytest.FixtureRequest) -> Iterator[str]:
    """A real Apache Kafka (KRaft, one node), for tests of what Tansu cannot do (KIP-848 groups,
    transactions): the session broker with LAZARUS_TEST_KAFKA=apache, else one started by
    scripts/kafka for this session (on its own ports and directory; a few seconds once the
    jars are cached) and stopped at its end. One that cannot start fails the test."""
    if os.environ.get("LAZARUS_TEST_KAFKA") == "apache":
        yield request.getfixturevalue("kafka_bootstrap")
        return
    yield from _apache_kafka()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    configured = os.environ.get("LAZARUS_TEST_REDIS_URL")
    url = configured or DEFAULT_REDIS_URL
    if redisconn.answers(url):
        yield url
        return
    if configured:
        pytest.fail(f"LAZARUS_TEST_REDIS_URL={configured} does not answer PING")
    server = EmbeddedRedis()
    try:
        server.start()
    except LazarusError as exc:
        pytest.fail(f"no Redis at {url} and the embedded redis-server could not start: {exc}")
    yield server.url
    server.stop()


@pytest.fixture
def settings(kafka_bootstrap: str, redis_url: str) -> Iterator[Settings]:
    """Settings isolated to this test: unique topic prefix and Redis key prefix, cleaned up after."""
    yield from isolated_settings(kafka_bootstrap, redis_url)


def isolated_settings(bootstrap: str, redis_url: str) -> Iterator[Settings]:
    """Settings with a unique topic prefix and Redis key prefix on the broker at `bootstrap`;
    the topics and keys are removed when the generator resumes."""
    tag = uuid.uuid4().hex[:10]
    s = Settings(
        embedded=False,
        kafka_bootstrap_servers=bootstrap,
        redis_url=redis_url,
        topic_prefix=f"test.{tag}.",
        redis_key_prefix=f"lazarus-test:{tag}",
        topic_partitions=2,
        heartbeat_seconds=0.2,
    )
    yield s
    conf = client_config(s, quiet=True)
    mine = [t for t in _all_topics(s) if t.startswith(s.topic_prefix)]
    delete_topics(conf, mine)
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{s.redis_key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def topics(settings: Settings) -> list[str]:
    """The declared topics, created under this test's prefix."""
    names = topic_names(settings.topic_prefix)
    ensure_topics(client_config(settings, quiet=True), names, settings.topic_partitions)
    return names


def _all_topics(s: Settings) -> list[str]:
    from lazarus.kafka.admin import list_topics

    return [t.name for t in list_topics(client_config(s, quiet=True))]
