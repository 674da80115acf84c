"""A 3-node Apache Kafka cluster on loopback for fault tests: started and stopped with
scripts/kafka, one node killed with SIGKILL and started again, and what its metadata says
(partition leaders, in-sync replicas, group coordinators)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from lazarus.embedded.ports import free_port, port_is_free
from lazarus.kafka.admin import admin_client
from lazarus.kafka.config import KafkaConfig, quiet_logger
from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "kafka"
NODES = 3
START_TIMEOUT_S = 300.0
"""scripts/kafka start: fetching the jars (once per machine) and three JVMs on a busy machine."""


def free_base_port(nodes: int = NODES) -> int:
    """A first port P with P .. P + 2*nodes - 1 free now (node i: P+2(i-1) and the next one)."""
    while True:
        port = free_port()
        if port + 2 * nodes < 65000 and all(
            port_is_free("127.0.0.1", port + i) for i in range(2 * nodes)
        ):
            return port


def script(*args: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip


@dataclass
class Cluster:
    """The nodes started from `root` by scripts/kafka; node i's pid is line i of root/pids."""

    root: Path
    bootstrap: str
    _admin: AdminClient | None = field(default=None, init=False, repr=False)

    @property
    def conf(self) -> KafkaConfig:
        """An admin/client configuration for the cluster (every node as bootstrap)."""
        return {"bootstrap.servers": self.bootstrap, "logger": quiet_logger()}

    @property
    def admin(self) -> AdminClient:
        """One admin client for every metadata read (it follows the nodes that are up)."""
        if self._admin is None:
            self._admin = admin_client(self.conf)
        return self._admin

    def wait_for_nodes(self, timeout: float = 120.0) -> None:
        """Return once the cluster's metadata lists every node as a broker."""
        deadline = time.monotonic() + timeout
        while len(self.admin.list_topics(timeout=5).brokers) < NODES:
            assert time.monotonic() < deadline, f"fewer than {NODES} brokers after {timeout} s"
            time.sleep(0.2)

    def pid(self, node: int) -> int:
        return int((self.root / "pids").read_text().split()[node - 1])

    def alive(self, node: int) -> bool:
        try:
            state = Path(f"/proc/{self.pid(node)}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"  # a killed node is no child of ours: init reaps it when it will

    def kill(self, node: int, timeout: float = 30.0) -> None:
        """`kill -9` node `node`; returns once the process is gone."""
        os.kill(self.pid(node), signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self.alive(node):
            assert time.monotonic() < deadline, f"node {node} outlived SIGKILL for {timeout} s"
            time.sleep(0.05)

    def restart(self, node: int) -> None:
        """Start node `node` again on its storage; returns once it serves (scripts/kafka)."""
        done = script("restart-node", "--node", str(node), "--dir", str(self.root))
        assert done.returncode == 0, f"restart-node {node}: {done.stderr.strip()}"

    def heal(self) -> None:
        """Start again every node that is not running (a test that failed mid-fault)."""
        for node in range(1, NODES + 1):
            if not self.alive(node):
                self.restart(node)

    def metadata(self, topic: str) -> Any:
        """The cluster's metadata of `topic` (confluent-kafka's TopicMetadata)."""
        md = self.admin.list_topics(topic, timeout=10)
        return md.topics[topic]

    def leader(self, topic: str, partition: int) -> int:
        """The node id leading `topic[partition]` now (-1: none)."""
        return int(self.metadata(topic).partitions[partition].leader)

    def replicas(self, topic: str) -> dict[int, tuple[list[int], list[int]]]:
        """partition -> (replicas, in-sync replicas) of `topic`."""
        parts = self.metadata(topic).partitions
        return {p: (list(m.replicas), list(m.isrs)) for p, m in parts.items()}

    def fully_in_sync(self, topics: list[str]) -> bool:
        """Every partition of `topics` has a leader and all its replicas in sync."""
        for topic in topics:
            for m in self.metadata(topic).partitions.values():
                if m.leader < 0 or sorted(m.isrs) != sorted(m.replicas):
                    return False
        return True

    def coordinator(self, group: str) -> int:
        """The node id coordinating consumer group `group` now."""
        described = self.admin.describe_consumer_groups([group])[group].result(timeout=30)
        return int(described.coordinator.id)


def record(path: Path, counts: dict[str, Any]) -> None:
    """Print `counts` and write them as JSON to `path` (pytest -s shows them), for the release note."""
    path.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n")
    print(f"\n{json.dumps(counts, sort_keys=True)}\ncounts written to {path}")
