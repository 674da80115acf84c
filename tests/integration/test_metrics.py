"""Prometheus /metrics on running roles: it parses with prometheus-client's parser, and the
counters match what was sent."""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import redis
from prometheus_client.parser import text_string_to_metric_families

from lazarus.heartbeat import read_heartbeats
from lazarus.schemas.topics import DEAD_LETTERS, HABITAT_OUTCOMES, HABITAT_SCORES, SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus_bg
from tests.integration.scorerkit import ModelMaker, send_raw, send_sensors, wait_until
from tests.integration.trainerkit import produce_sensors, with_keys


def metrics_url(s: Settings, role: str) -> str | None:
    client = redis.Redis.from_url(s.redis_url_value)
    try:
        for beat in read_heartbeats(client, s.redis_key_prefix):
            if beat.get("role") == role and beat.get("metrics_url"):
                return beat["metrics_url"]
    finally:
        client.close()
    return None


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
"""(metric name, sorted labels) -> value, from one scrape."""


def scrape(url: str) -> Samples:
    text = (
        urllib.request.urlopen(
            url.replace(url.split("/")[2].split(":")[0], "127.0.0.1", 1), timeout=5
        )
        .read()
        .decode()
    )
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def maybe(samples: Samples, name: str, **labels: str) -> float | None:
    """The sum of `name`'s series whose labels include `labels`; None when there is none."""
    matches = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls)]
    return sum(matches) if matches else None


@dataclass(frozen=True)
class Want:
    """A value read from a scrape, and what it must satisfy."""

    what: str
    value: Callable[[Samples], float | None]
    holds: Callable[[float | None], bool]

    def met(self, samples: Samples) -> bool:
        return self.holds(self.value(samples))

    def shown(self, samples: Samples) -> str:
        return f"{self.what} = {self.value(samples)}"


def metric(name: str, holds: Callable[[float | None], bool], **labels: str) -> Want:
    """A metric (the sum of its series matching `labels`) and what it must satisfy."""
    return Want(f"{name}{labels or ''}", lambda m: maybe(m, name, **labels), holds)


def equals(expected: float) -> Callable[[float | None], bool]:
    return lambda v: v == expected


def at_least(low: float) -> Callable[[float | None], bool]:
    return lambda v: v is not None and v >= low


def between(low: float, high: float) -> Callable[[float | None], bool]:
    return lambda v: v is not None and low <= v <= high


def scrape_until(url: str, wants: list[Want], timeout: float = 60.0) -> Samples:
    """Scrape until every `Want` holds in one scrape, and return it; on timeout, fail showing
    the values that did not. Counters lag the work a little: never assert on a scrape that was
    not waited for."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(url)
        failing = [w for w in wants if not w.met(samples)]
        if not failing:
            return samples
        assert time.monotonic() < deadline, "never: " + "; ".join(w.shown(samples) for w in failing)
        time.sleep(0.1)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_scorer_metrics_count_what_was_sent(settings: Settings, topics: list[str]) -> None:
    s = with_keys(settings)
    ModelMaker(s).publish()
    p = s.topic_prefix
    valid = send_sensors(s, 400, fault_rate=0.02)
    send_raw(s, [b"garbage"] * 3)
    invalid = 400 - len(valid) + 3
    proc = lazarus_bg("score", "habitat", env=cli_env(s))
    try:
        wait_until(
            lambda: metrics_url(s, "scorer:habitat") is not None,
            60,
            "the metrics url in the heartbeat",
        )
        url = metrics_url(s, "scorer:habitat")
        assert url is not None

        scrape_until(
            url,
            [
                metric("lazarus_events_in_total", equals(403), topic=SENSOR_READINGS.full(p)),
                metric(
                    "lazarus_events_out_total", equals(len(valid)), topic=HABITAT_SCORES.full(p)
                ),
                metric("lazarus_events_out_total", equals(invalid), topic=DEAD_LETTERS.full(p)),
                metric(
                    "lazarus_dead_letters_total", equals(invalid), topic=SENSOR_READINGS.full(p)
                ),
                metric("lazarus_model_version", equals(1), model="habitat"),
                metric("lazarus_snapshot_age_seconds", lambda v: v is not None and v > 0),
                metric("lazarus_processing_seconds_count", at_least(1)),
                metric("lazarus_snapshots_refused_total", equals(0)),
                metric("lazarus_consumer_lag", at_least(0)),  # from librdkafka statistics
            ],
        )
    finally:
        stop(proc)


def test_trainer_metrics_report_learning_and_prequential_quality(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings)
    produce_sensors(s, 600)
    proc = lazarus_bg("train", "habitat", "--snapshot-every", "200", env=cli_env(s))
    try:
        wait_until(lambda: metrics_url(s, "trainer:habitat") is not None, 60, "the metrics url")
        url = metrics_url(s, "trainer:habitat")
        assert url is not None
        p = s.topic_prefix

        def accounted(m: Samples) -> float:
            return (maybe(m, "lazarus_learned_total") or 0) + (
                maybe(m, "lazarus_dead_letters_total") or 0
            )

        scrape_until(
            url,
            [
                metric("lazarus_events_in_total", equals(600), topic=HABITAT_OUTCOMES.full(p)),
                metric("lazarus_events_in_total", equals(600), topic=SENSOR_READINGS.full(p)),
                Want("every reading learned or dead-lettered", accounted, equals(600)),
                metric("lazarus_prequential_metric", between(0.0, 1.0), metric="Accuracy"),
                metric("lazarus_label_latency_seconds", at_least(0), stat="mean"),
                metric("lazarus_pending_joins", at_least(0)),
            ],
        )
    finally:
        stop(proc)
