"""A scorer worker (a real `python -m lazarus.scorer habitat` process) under a steady feed:

- propagation: from `current` advancing (timed before the trainer-side publish starts) to the
  first score made with the new version (that score's Kafka timestamp). Targets (issue #5):
  p99 <= 100 ms with notifications; <= poll interval + 100 ms with notifications off;
- latency: input produced -> score produced (both Kafka timestamps), p50 and p99, at 5k events/s;
- memory: the worker's peak RSS (VmHWM).

    python -m bench.scorer_serving [--swaps 40] [--seconds 20] [--rate 5000] [--poll 1.0]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from bench.common import broker_settings
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.signing import generate
from lazarus.schemas.topics import HABITAT_SCORES, SENSOR_READINGS, topic_names
from lazarus.settings import DEFAULT_REDIS_URL, Settings
from tests.integration.cli import cli_env
from tests.integration.kafkatools import value_of
from tests.integration.scorerkit import ModelMaker
from tests.integration.trainerkit import START


class Feed(threading.Thread):
    """Sensor readings at `rate` per second, in 10 ms slices, until stopped."""

    def __init__(self, s: Settings, rate: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.s, self.rate, self.seed = s, rate, seed
        self.stop_event = threading.Event()
        self.sent = 0

    def run(self) -> None:
        pub = Publisher(producer_config(self.s)).start(10)
        topic = SENSOR_READINGS.full(self.s.topic_prefix)
        stream = iter(
            SensorNetwork(SimConfig(seed=self.seed, fault_rate=0.0, label_delay_s=0), START)
        )
        started = time.perf_counter()
        while not self.stop_event.is_set():
            due = int((time.perf_counter() - started) * self.rate) - self.sent
            if due > 0:
                pub.publish_many([(topic, k, v) for k, v, _ in itertools.islice(stream, due)])
                self.sent += due
            pub.poll(0)
            time.sleep(0.01)
        pub.close(10)


def worker(s: Settings, log: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lazarus.scorer", "habitat"],
        env=cli_env(s, **env),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def tail_consumer(s: Settings, topic: str) -> Consumer:
    c = Consumer(
        {
            **client_config(s, quiet=True),
            "group.id": f"bench-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
        }
    )
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    tps = []
    for p in parts:
        _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        tps.append(TopicPartition(topic, p, high))
    c.assign(tps)
    return c


def first_score_of(c: Consumer, version: int, after: float, timeout: float = 10.0) -> float | None:
    """The timestamp of the first score by `version` produced after `after` (epoch seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in c.consume(500, 0.05):
            ts = m.timestamp()[1] / 1000.0
            if (
                m.error() is None
                and ts >= after
                and json.loads(value_of(m))["model_version"] == version
            ):
                return ts
    return None


def propagation(s: Settings, maker: ModelMaker, swaps: int, log: Path, **env: str) -> list[float]:
    proc = worker(s, log, **env)
    feed = Feed(s, 1000, seed=int(time.time()))
    feed.start()
    scores = tail_consumer(s, HABITAT_SCORES.full(s.topic_prefix))
    try:
        # the worker is serving once scores of the current version flow
        started = time.time()
        assert first_score_of(scores, maker.publisher.next_version - 1, started, 90), (
            "worker never scored"
        )
        out = []
        for _ in range(swaps):
            t0 = time.time()
            manifest = maker.publish(learn=20)
            seen = first_score_of(scores, manifest.version, t0)
            assert seen is not None, f"v{manifest.version} never served"
            out.append((seen - t0) * 1000)
            time.sleep(0.2)
        return out
    finally:
        feed.stop_event.set()
        proc.terminate()
        proc.wait(30)
        scores.close()


def latency(s: Settings, seconds: float, rate: float, log: Path) -> tuple[list[float], int, int]:
    proc = worker(s, log)
    scores = tail_consumer(s, HABITAT_SCORES.full(s.topic_prefix))
    inputs = tail_consumer(s, SENSOR_READINGS.full(s.topic_prefix))
    # wait until the worker has joined and scores what arrives
    warm = Feed(s, 200, seed=1)
    warm.start()
    deadline = time.monotonic() + 90
    while not scores.consume(100, 0.2):
        assert time.monotonic() < deadline, "worker never scored"
    warm.stop_event.set()
    warm.join()
    time.sleep(1.0)
    while scores.consume(1000, 0.2):
        pass
    while inputs.consume(1000, 0.2):
        pass
    feed = Feed(s, rate, seed=2)
    feed.start()
    produced: dict[str, int] = {}
    scored: dict[str, int] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end + 3:
        if time.monotonic() > end:
            feed.stop_event.set()
        for m in inputs.consume(2000, 0.01):
            if m.error() is None:
                produced[json.loads(value_of(m))["event_id"]] = m.timestamp()[1]
        for m in scores.consume(2000, 0.01):
            if m.error() is None:
                scored.setdefault(json.loads(value_of(m))["input_event_id"], m.timestamp()[1])
    rss = _peak_rss_kb(proc.pid)
    proc.terminate()
    proc.wait(30)
    lat: list[float] = [scored[i] - t for i, t in produced.items() if i in scored]
    if produced:
        first = min(produced.values())
        per_second: dict[int, list[float]] = {}
        for i, t in produced.items():
            if i in scored:
                per_second.setdefault(int((t - first) / 1000), []).append(scored[i] - t)
        print(
            "  p99 by second of the window (ms):",
            " ".join(f"{pct(v, 0.99):.0f}" for _, v in sorted(per_second.items())),
        )
        steady = [x for sec, v in per_second.items() if sec >= 2 for x in v]
        if steady:
            print(
                f"  after the first 2 s: p50 {statistics.median(steady):.0f} ms, p99 {pct(steady, 0.99):.0f} ms"
            )
    return lat, len(produced), rss


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--swaps", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=5000.0)
    ap.add_argument("--poll", type=float, default=1.0)
    args = ap.parse_args()
    private, public = generate()
    log = Path(f"/tmp/bench-scorer-{uuid.uuid4().hex[:6]}.log")
    with broker_settings(
        topic_prefix="bench.",
        redis_url=DEFAULT_REDIS_URL,
        redis_key_prefix=f"bench:{uuid.uuid4().hex[:8]}",
        signing_private_key=private,
        signing_public_key=public,
    ) as s:
        ensure_topics(client_config(s, quiet=True), topic_names(s.topic_prefix), 4)
        maker = ModelMaker(s)
        maker.publish(learn=2000)
        notified = propagation(s, maker, args.swaps, log, LAZARUS_SCORER_POLL_SECONDS="30")
        print(
            f"propagation with notifications ({len(notified)} swaps): p50 {pct(notified, 0.5):.1f} ms, "
            f"p99 {pct(notified, 0.99):.1f} ms, max {max(notified):.1f} ms  (target p99 <= 100 ms)",
            flush=True,
        )
        polled = propagation(
            s,
            maker,
            max(10, args.swaps // 4),
            log,
            LAZARUS_SCORER_NOTIFICATIONS="false",
            LAZARUS_SCORER_POLL_SECONDS=str(args.poll),
        )
        print("  each (ms):", " ".join(f"{x:.0f}" for x in polled))
        print(
            f"propagation, notifications off, poll {args.poll:.1f} s ({len(polled)} swaps): p50 {pct(polled, 0.5):.0f} ms, "
            f"p99 {pct(polled, 0.99):.0f} ms, max {max(polled):.0f} ms  (target <= {args.poll * 1000 + 100:.0f} ms)",
            flush=True,
        )
        lat, n, rss = latency(s, args.seconds, args.rate, log)
        print(
            f"latency at {args.rate:,.0f} ev/s for {args.seconds:.0f} s: {len(lat):,} of {n:,} inputs scored in the window; "
            f"p50 {statistics.median(lat):.0f} ms, p99 {pct(lat, 0.99):.0f} ms, max {max(lat):.0f} ms (input produced -> score produced)"
        )
        print(f"worker peak RSS (VmHWM): {rss / 1024:.0f} MB")
    print(f"worker log: {log}")


if __name__ == "__main__":
    main()
