"""Losing a broker loses no input (issue #16, item 3): the producer and a scorer.

On a 3-node cluster (topics replicated 3 ways, min.insync.replicas 2; the producer acks=all and
idempotent), readings flow at a steady rate into a scorer process. Mid-stream the leader of a
partition both use is killed with SIGKILL, and started again later. Counted: readings
acknowledged (by the producer's delivery reports), inputs scored, duplicate scores, lost
(acknowledged but never scored: must be 0) and how long each role took to resume, both
without a restart.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Message

from lazarus.groups import group_name
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import HABITAT_SCORES, SENSOR_READINGS, topic_names
from lazarus.settings import Settings
from tests.cluster.clusterkit import NODES, Cluster, record
from tests.cluster.faultkit import RESUME_S, Fault, kill_and_restart
from tests.cluster.feedkit import Ack, AckedFeed, Tail, wait_until
from tests.integration.cli import cli_env
from tests.integration.kafkatools import read_all, value_of
from tests.integration.scorerkit import ModelMaker
from tests.integration.test_scorer_workers import serving
from tests.integration.trainerkit import with_keys

pytestmark = pytest.mark.integration

RATE = 300.0
"""Readings per second."""
BEFORE = 1500
"""Readings acknowledged (and some scored) before the kill."""


def parse_score(msg: Message) -> Score:
    return Score.model_validate_json(value_of(msg))


def holds_every_partition(s: Settings, pid: int) -> bool:
    rows = serving(s)
    return [(r.get("pid"), r.get("partitions")) for r in rows] == [(str(pid), str(NODES))]


def victim(cluster: Cluster, s: Settings, feed: AckedFeed) -> Fault:
    """A readings partition with traffic and the node leading it: the scorer group's
    coordinator when it leads one (its loss moves the group too), else the busiest's."""
    readings = SENSOR_READINGS.full(s.topic_prefix)
    traffic = Counter(a.partition for a in feed.acked().values())
    leaders = {p: cluster.leader(readings, p) for p in traffic}
    coordinator = cluster.coordinator(group_name(s.topic_prefix, "scorer", "habitat"))
    for p, _ in traffic.most_common():
        if leaders[p] == coordinator:
            return Fault(coordinator, p)
    busiest = traffic.most_common(1)[0][0]
    return Fault(leaders[busiest], busiest)


def first_score(feed: AckedFeed, tail: Tail[Score], fault: Fault) -> float | None:
    """Wall-clock time of the first score of a reading written to the partition after the kill."""
    wanted = {eid for eid, _ in feed.acked_since(fault.killed, fault.partition)}
    times = [sc.scored_at.timestamp() for _, sc in tail.seen() if sc.input_event_id in wanted]
    return min(times, default=None)


def longest_gap(times: list[float], since: float) -> float:
    """The longest stretch (s) without an event after `since`, among `times`."""
    after = [since, *sorted(t for t in times if t > since)]
    return max((b - a for a, b in itertools.pairwise(after)), default=0.0)


def counts_of(
    s: Settings, acked: dict[str, Ack], scores: list[Score], fault: Fault
) -> dict[str, Any]:
    """What reached the readings topic and what was scored, from fresh reads of both topics."""
    readings = read_all(s, SENSOR_READINGS.full(s.topic_prefix), expect=len(acked), timeout=120)
    on_topic = Counter(json.loads(value_of(m))["event_id"] for m in readings)
    per_input = Counter(sc.input_event_id for sc in scores)
    return {
        "acknowledged": len(acked),
        "inputs_on_topic": sum(on_topic.values()),
        "inputs_duplicated_on_topic": sum(n - 1 for n in on_topic.values()),
        "inputs_on_topic_not_acknowledged": len(set(on_topic) - set(acked)),
        "scores": len(scores),
        "unique_inputs_scored": len(per_input),
        "duplicate_scores": sum(n - 1 for n in per_input.values()),
        "lost": len(set(acked) - set(per_input)),
        "producer_longest_ack_gap_s": round(
            longest_gap([a.at for a in acked.values()], fault.killed - 1), 2
        ),
        "scorer_longest_gap_s": round(
            longest_gap([sc.scored_at.timestamp() for sc in scores], fault.killed_wall - 1), 2
        ),
    }


@pytest.mark.timeout(900)
def test_killing_a_partition_leader_mid_stream_loses_no_input(
    settings: Settings, cluster: Cluster, tmp_path: Path
) -> None:
    began = time.monotonic()
    s = with_keys(settings)
    readings, scores = SENSOR_READINGS.full(s.topic_prefix), HABITAT_SCORES.full(s.topic_prefix)
    conf = client_config(s, quiet=True)
    ensure_topics(conf, topic_names(s.topic_prefix), s.topic_partitions, NODES)
    assert all(len(r) == NODES for r, _ in cluster.replicas(readings).values())
    ModelMaker(s).publish()
    log = tmp_path / "scorer.log"
    with log.open("w") as out:
        scorer = subprocess.Popen(
            [sys.executable, "-m", "lazarus", "score", "habitat"],
            env=cli_env(s), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        wait_until(lambda: holds_every_partition(s, scorer.pid), 120, "the scorer's partitions")
        with (
            AckedFeed(s, rate=RATE, seed=31, outcomes=False) as feed,
            Tail(s, scores, parse_score) as tail,
        ):
            wait_until(lambda: len(feed.acked()) >= BEFORE and bool(tail.seen()), 120, "scores")
            fault = victim(cluster, s, feed)
            led = [p for p in cluster.replicas(scores) if cluster.leader(scores, p) == fault.node]
            coordinator = cluster.coordinator(group_name(s.topic_prefix, "scorer", "habitat"))
            kill_and_restart(
                cluster, feed, fault, [readings, scores], lambda _: first_score(feed, tail, fault)
            )
            delivery = feed.stop()
            acked = feed.acked()
            wait_until(
                lambda: set(acked) <= {sc.input_event_id for _, sc in tail.seen()},
                RESUME_S,
                "every acknowledged reading scored",
            )
            seen = len(tail.seen())
        # The same process scored before, during and after the fault: it resumed by itself.
        assert scorer.poll() is None, log.read_text()[-3000:]
        assert [r.get("pid") for r in serving(s)] == [str(scorer.pid)]
        scorer.send_signal(signal.SIGTERM)
        assert scorer.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if scorer.poll() is None:
            scorer.kill()
            scorer.wait(30)
    final = [parse_score(m) for m in read_all(s, scores, expect=seen, timeout=120)]
    counts = {
        "test": "scorer: kill -9 of a partition leader mid-stream, restarted later",
        "cluster": f"{NODES} nodes, RF {NODES}, min.insync.replicas 2, {NODES} partitions",
        "killed_node": fault.node,
        "killed_partition": fault.partition,
        "killed_node_led_scores_partitions": led,
        "killed_node_coordinated_the_scorer_group": coordinator == fault.node,
        "delivery_failures": delivery.failed,
        **counts_of(s, acked, final, fault),
        **fault.times(),
        "scorer_pid_unchanged": True,
        "scorer_assignments": log.read_text().count("INFO lazarus.kafka: assigned"),
        "wall_s": round(time.monotonic() - began, 1),
    }
    record(tmp_path / "scorer_broker_loss.json", counts)
    assert delivery.failed == 0 and not feed.failed
    assert counts["lost"] == 0, f"{counts['lost']} acknowledged readings never scored"
    assert counts["inputs_duplicated_on_topic"] == 0, "the idempotent producer wrote one twice"
    assert counts["inputs_on_topic_not_acknowledged"] == 0
    assert counts["unique_inputs_scored"] == len(acked)
    assert all(sc.event_id == score_id(sc.input_event_id, "habitat") for sc in final)
