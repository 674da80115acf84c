"""scripts/kafka: what each Apache Kafka node is configured with, and its argument errors."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import subprocess
import sys
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
