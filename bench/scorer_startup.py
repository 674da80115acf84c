"""How soon a scorer serves its first score, and how fast `lazarus --help` answers (issue #20, 4).

Each round gets a fresh topic prefix (so a fresh consumer group), a published model and a
backlog of readings, then starts a process and waits for its first output on Kafka:

- `lazarus scorer`: `python -m lazarus.scorer habitat`. Launch -> first score (the score's
  Kafka timestamp), and "ready" -> first score, where ready is the later of the worker's log
  lines `serving habitat v1` (a model) and `assigned ...` (partitions): the issue's target,
  "within 2 s of having a model and partitions";
- `hand loop` (the same-run baseline): a confluent-kafka consumer in a fresh group that copies
  the first message it reads to an output topic; launch -> that output, assigned -> it.

Then `lazarus --help` and `python -c 'import confluent_kafka'`, wall time of each, median.

    python -m bench.scorer_startup [--rounds 3] [--kafka host:port]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from bench.peers import ROOT, broker
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config
from lazarus.schemas.topics import HABITAT_SCORES, SENSOR_READINGS, topic_names
from lazarus.settings import Settings
from tests.integration.cli import cli_env

PARTITIONS = 4
BACKLOG = 200
HAND_OUT = "bench.hand_out.v1"
PHASES = [
    ("first log line", " INFO "),
    ("model served", "serving habitat v"),
    ("subscribed", "scoring habitat from"),
    ("assigned", "lazarus.kafka: assigned"),
]
"""The worker's log lines that mark its start-up phases."""
HAND_LOOP = """
import json, sys, time
from confluent_kafka import Consumer, Producer
conf = json.loads(sys.argv[1])
assigned = []
c = Consumer({**conf, "group.id": sys.argv[2], "auto.offset.reset": "earliest",
              "session.timeout.ms": 6000, "max.poll.interval.ms": 8000})  # as Lazarus's
c.subscribe([sys.argv[3]], on_assign=lambda c_, ps: assigned.append(time.time()))
p = Producer(conf)
while True:
    m = c.poll(0.01)
    if m is not None and m.error() is None:
        p.produce(sys.argv[4], m.value(), m.key())
        p.flush(10)
        break
print(json.dumps({"assigned": assigned[0]}))
c.close()
"""


def first_message(s: Settings, topic: str, deadline: float) -> float:
    """The Kafka timestamp (epoch s) of the first message on `topic` (all partitions)."""
    c = Consumer({**client_config(s, quiet=True), "group.id": f"b-{uuid.uuid4().hex[:6]}",
                  "fetch.wait.max.ms": 10})  # fmt: skip
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    try:
        while time.monotonic() < deadline:
            m = c.poll(0.05)
            if m is not None and m.error() is None:
                return float(m.timestamp()[1]) / 1000
        raise TimeoutError(f"nothing on {topic}")
    finally:
        c.close()


def prepare(base: Settings) -> Settings:
    """A fresh prefix with its topics, a published model and a backlog of readings."""
    from tests.integration.scorerkit import ModelMaker
    from tests.integration.trainerkit import START

    s = base.with_overrides(topic_prefix=f"st{uuid.uuid4().hex[:6]}.")
    names = [*topic_names(s.topic_prefix), s.topic_prefix + HAND_OUT]
    ensure_topics(client_config(s, quiet=True), names, PARTITIONS)
    ModelMaker(s).publish(learn=2000)
    from lazarus.producers.sensor_sim import SensorNetwork, SimConfig

    p = Producer(client_config(s, quiet=True))
    stream = iter(SensorNetwork(SimConfig(seed=3, fault_rate=0.0, label_delay_s=0), START))
    for _ in range(BACKLOG):
        key, value, _ = next(stream)
        p.produce(SENSOR_READINGS.full(s.topic_prefix), value, key)
    p.flush(10)
    return s


def log_time(log: Path, marker: str) -> float:
    """Epoch seconds of the first log line containing `marker`."""
    for ln in log.read_text(errors="replace").splitlines():
        if marker in ln:
            stamp = datetime.strptime(ln[:23], "%Y-%m-%d %H:%M:%S,%f")
            return stamp.timestamp()
    raise LookupError(f"no {marker!r} in {log}")


def lazarus_round(base: Settings) -> tuple[float, float]:
    s = prepare(base)
    log = Path(f"/tmp/bench-startup-{uuid.uuid4().hex[:6]}.log")
    env = cli_env(s)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    launched = time.time()
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lazarus.scorer", "habitat"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        first = first_message(s, HABITAT_SCORES.full(s.topic_prefix), time.monotonic() + 60)
    finally:
        proc.terminate()
        proc.wait(30)
    ready = max(log_time(log, "serving habitat v"), log_time(log, "lazarus.kafka: assigned"))
    phases = [(name, log_time(log, marker) - launched) for name, marker in PHASES]
    print("    lazarus phases from launch (s): " + ", ".join(f"{n} {t:.2f}" for n, t in phases)
          + f", first score {first - launched:.2f}", flush=True)  # fmt: skip
    log.unlink()
    return first - launched, first - ready


def hand_round(base: Settings) -> tuple[float, float]:
    s = prepare(base)
    conf = {k: v for k, v in client_config(s).items() if k != "logger"}
    out_topic = s.topic_prefix + HAND_OUT
    argv = [sys.executable, "-c", HAND_LOOP, json.dumps(conf), f"hand-{uuid.uuid4().hex[:6]}",
            SENSOR_READINGS.full(s.topic_prefix), out_topic]  # fmt: skip
    launched = time.time()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    assigned = json.loads(done.stdout.strip().splitlines()[-1])["assigned"]
    first = first_message(s, out_topic, time.monotonic() + 10)
    return first - launched, first - assigned


def wall(argv: list[str], runs: int) -> list[float]:
    times = []
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
    }
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, env=env)
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kafka", help="host:port of an Apache Kafka (scripts/kafka start)")
    args = ap.parse_args()
    runs: dict[str, list[tuple[float, float]]] = {"lazarus scorer": [], "hand loop": []}
    with broker(args.kafka) as (s, _):
        for _ in range(args.rounds):  # interleaved: the machine's load moves
            runs["hand loop"].append(hand_round(s))
            runs["lazarus scorer"].append(lazarus_round(s))
    print(
        f"{'first output, median (min-max) of ' + str(args.rounds):<40} {'from launch':>22} {'from ready':>22}"
    )
    for name, rs in runs.items():
        cells = []
        for i in (0, 1):
            xs = [r[i] for r in rs]
            cells.append(f"{statistics.median(xs):6.2f} s ({min(xs):.2f}-{max(xs):.2f})")
        print(f"  {name:<38} {cells[0]:>22} {cells[1]:>22}")
    help_s = wall([sys.executable, "-m", "lazarus", "--help"], 5)
    base_s = wall([sys.executable, "-c", "import confluent_kafka"], 5)
    print(
        f"  {'lazarus --help, median of 5':<38} {statistics.median(help_s):6.2f} s (min {min(help_s):.2f})"
    )
    print(
        f"  {'python -c import confluent_kafka':<38} {statistics.median(base_s):6.2f} s (min {min(base_s):.2f})"
    )
    print(f"load {os.getloadavg()[0]:.1f}; ready = the later of the worker's model served and its "
          "partitions assigned (the hand loop's: assigned); targets: first score <= 2 s from "
          "ready, --help < 0.5 s")  # fmt: skip


if __name__ == "__main__":
    main()
