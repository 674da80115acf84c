"""A 3-node Apache Kafka cluster (KRaft, every node broker and controller, topics replicated 3
ways, min.insync.replicas 2) started by scripts/kafka for this folder's tests, and a Redis.

The cluster is started whatever LAZARUS_TEST_KAFKA says: the fault tests need three real
brokers to lose one of. It is stopped after them, also when a test fails. Redis is the
integration tests' session fixture. Each test gets its own topic and Redis key prefix (anything
under them is removed afterwards) and finds every node running at its start.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from lazarus.kafka.admin import delete_topics, list_topics
from lazarus.kafka.config import client_config
from lazarus.settings import Settings
from tests.cluster.clusterkit import NODES, Cluster, free_base_port, script
from tests.integration.conftest import redis_url  # noqa: F401  (the session's Redis)


@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    """The cluster, for the tests of this folder only: stopped after the last of them."""
    root = Path(tempfile.mkdtemp(prefix="lazarus-cluster-"))
    port = free_base_port()
    try:
        started = script("start", "--brokers", str(NODES), "--port", str(port), "--dir", str(root))
        if started.returncode != 0:
            pytest.fail(f"scripts/kafka could not start a {NODES}-node Apache Kafka cluster: "
                        f"{started.stderr.strip() or started.stdout.strip()}")  # fmt: skip
        found = Cluster(root, started.stdout.strip().splitlines()[-1])
        found.wait_for_nodes()
        yield found
    finally:
        stopped = script("stop", "--dir", str(root), timeout=120)
        if stopped.returncode == 0:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def settings(cluster: Cluster, redis_url: str) -> Iterator[Settings]:  # noqa: F811
    """Settings isolated to this test, on the cluster: its topics replicated to every node.
    Topics and Redis keys under its prefixes (`topic_prefix + "ref."` too) go afterwards."""
    tag = uuid.uuid4().hex[:10]
    s = Settings(
        embedded=False,
        kafka_bootstrap_servers=cluster.bootstrap,
        redis_url=redis_url,
        topic_prefix=f"cluster.{tag}.",
        redis_key_prefix=f"lazarus-test:{tag}",
        topic_partitions=NODES,
        topic_replication_factor=NODES,
        heartbeat_seconds=0.2,
    )
    try:
        yield s
    finally:
        cluster.heal()  # a test that failed mid-fault leaves a node down
        conf = client_config(s, quiet=True)
        delete_topics(
            conf, [t.name for t in list_topics(conf) if t.name.startswith(s.topic_prefix)]
        )
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{s.redis_key_prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
