"""scripts/kafka: what each Apache Kafka node is configured with, and its argument errors."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kafka"


def script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("kafka_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader("kafka_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_three_nodes_are_brokers_and_controllers_replicating_three_ways() -> None:
    k = script()
    conf = dict(
        line.split("=", 1)
        for line in k.properties(2, 3, 39092, Path("/tmp/d2")).splitlines()
        if line
    )
    assert conf["node.id"] == "2" and conf["process.roles"] == "broker,controller"
    assert conf["controller.quorum.voters"] == (
        "1@127.0.0.1:39093,2@127.0.0.1:39095,3@127.0.0.1:39097"
    )
    assert conf["listeners"] == "PLAINTEXT://127.0.0.1:39094,CONTROLLER://127.0.0.1:39095"
    assert conf["default.replication.factor"] == "3" and conf["min.insync.replicas"] == "2"
    assert conf["auto.create.topics.enable"] == "false"
    one = k.properties(1, 1, 39092, Path("/tmp/d1"))
    assert "default.replication.factor=1" in one and "min.insync.replicas=1" in one


def test_a_bad_argument_is_one_line_and_exit_2() -> None:
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), "start", "--brokers", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "--brokers" in bad.stderr


def restart_node(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "restart-node", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_restart_node_needs_a_node_of_a_started_cluster(tmp_path: Path) -> None:
    missing = restart_node("--dir", str(tmp_path))
    assert missing.returncode == 2 and "--node" in missing.stderr
    nowhere = restart_node("--node", "1", "--dir", str(tmp_path))
    assert nowhere.returncode == 2 and f"--dir {tmp_path}" in nowhere.stderr
    k = script()
    for node in (1, 2, 3):
        (tmp_path / f"node{node}.properties").write_text(k.properties(node, 3, 39092, tmp_path))
    for bad in ("4", "0"):
        outside = restart_node("--node", bad, "--dir", str(tmp_path))
        assert outside.returncode == 2 and f"--node {bad}" in outside.stderr
        assert "nodes 1 to 3" in outside.stderr.splitlines()[-1]
    assert restart_node("--node", "two", "--dir", str(tmp_path)).returncode == 2


def test_a_node_finds_its_client_port_in_its_properties(tmp_path: Path) -> None:
    k = script()
    conf = tmp_path / "node2.properties"
    conf.write_text(k.properties(2, 3, 39092, tmp_path / "data2"))
    assert k._client_port(conf) == 39094


def test_a_killed_node_left_a_zombie_is_not_running() -> None:
    # A node killed with SIGKILL is no child of the script: it stays a zombie until init reaps
    # it, and restart-node must not take it for a running node.
    k = script()
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys; c = subprocess.Popen(['true']); print(c.pid, flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        stat = Path(f"/proc/{child}/stat")
        deadline = time.monotonic() + 30
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.01)
        assert not k._alive(child)
        assert k._alive(parent.pid)
    finally:
        parent.kill()
        parent.communicate()
