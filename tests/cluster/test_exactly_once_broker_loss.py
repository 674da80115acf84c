"""Exactly-once scores across a broker's loss (issue #16, item 4).

The scorer test of `test_scorer_broker_loss.py` with `LAZARUS_SCORER_DELIVERY=exactly-once`:
readings flow into a scorer process; mid-stream the node leading a readings partition (the
scorer group's coordinator when it leads one) is killed with SIGKILL and started again later.
A `read_committed` reader of the scores must then see every acknowledged reading scored exactly
once: duplicates 0, lost 0, and the same scorer process throughout.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.schemas.topics import HABITAT_SCORES, SENSOR_READINGS, topic_names
from lazarus.settings import Settings
from tests.cluster.clusterkit import NODES, Cluster, record
from tests.cluster.faultkit import RESUME_S, kill_and_restart
from tests.cluster.feedkit import AckedFeed, Tail, wait_until
from tests.cluster.test_scorer_broker_loss import (
    BEFORE,
    RATE,
    counts_of,
    first_score,
    holds_every_partition,
    parse_score,
    victim,
)
from tests.integration.cli import cli_env
from tests.integration.kafkatools import read_all
from tests.integration.scorerkit import ModelMaker
from tests.integration.test_scorer_workers import serving
from tests.integration.trainerkit import with_keys

pytestmark = pytest.mark.integration


@pytest.mark.timeout(900)
def test_exactly_once_scores_survive_the_loss_of_a_partition_leader(
    settings: Settings, cluster: Cluster, tmp_path: Path
) -> None:
    began = time.monotonic()
    s = with_keys(settings)
    readings, scores = SENSOR_READINGS.full(s.topic_prefix), HABITAT_SCORES.full(s.topic_prefix)
    ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), NODES, NODES)
    ModelMaker(s).publish()
    log = tmp_path / "scorer.log"
    with log.open("w") as out:
        scorer = subprocess.Popen(
            [sys.executable, "-m", "lazarus", "score", "habitat"],
            env=cli_env(s, LAZARUS_SCORER_DELIVERY="exactly-once"),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        wait_until(lambda: holds_every_partition(s, scorer.pid), 120, "the scorer's partitions")
        with (
            AckedFeed(s, rate=RATE, seed=41, outcomes=False) as feed,
            Tail(s, scores, parse_score) as tail,
        ):
            wait_until(lambda: len(feed.acked()) >= BEFORE and bool(tail.seen()), 120, "scores")
            fault = victim(cluster, s, feed)
            try:
                kill_and_restart(
                    cluster,
                    feed,
                    fault,
                    [readings, scores],
                    lambda _: first_score(feed, tail, fault),
                )
            except AssertionError as exc:  # say what the scorer was doing
                raise AssertionError(f"{exc}\nscorer log:\n{log.read_text()[-6000:]}") from exc
            delivery = feed.stop()
            acked = feed.acked()
            wait_until(
                lambda: set(acked) <= {sc.input_event_id for _, sc in tail.seen()},
                RESUME_S,
                "every acknowledged reading scored",
            )
        assert scorer.poll() is None, log.read_text()[-3000:]
        assert [r.get("pid") for r in serving(s)] == [str(scorer.pid)]
        scorer.send_signal(signal.SIGTERM)
        assert scorer.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if scorer.poll() is None:
            scorer.kill()
            scorer.wait(30)
    committed = [
        parse_score(m) for m in read_all(s, scores, timeout=120, idle=3.0, read_committed=True)
    ]
    counts = {
        "test": "exactly-once scorer: kill -9 of a partition leader mid-stream, restarted later",
        "cluster": f"{NODES} nodes, RF {NODES}, min.insync.replicas 2, {NODES} partitions",
        "killed_node": fault.node,
        "killed_partition": fault.partition,
        "delivery_failures": delivery.failed,
        "reader": "read_committed",
        **counts_of(s, acked, committed, fault),
        **fault.times(),
        "transactions_aborted": log.read_text().count("transaction aborted"),
        "producers_replaced": log.read_text().count("a new one takes over"),
        "wall_s": round(time.monotonic() - began, 1),
    }
    record(tmp_path / "exactly_once_broker_loss.json", counts)
    assert delivery.failed == 0
    assert (counts["duplicate_scores"], counts["lost"]) == (0, 0), counts
    assert counts["unique_inputs_scored"] == len(acked)
