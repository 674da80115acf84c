"""Prometheus /metrics on running roles: it parses with prometheus-client's parser, and the
counters match what was sent."""

from __future__ import annotations

import signal
import subprocess
import urllib.request
from typing import Any

import redis
from prometheus_client.parser import text_string_to_metric_families

from lazarus.heartbeat import read_heartbeats
from lazarus.settings import Settings
from schemas.topics import DEAD_LETTERS, HABITAT_OUTCOMES, HABITAT_SCORES, SENSOR_READINGS
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


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
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


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    found = maybe(samples, name, **labels)
    assert found is not None, f"no {name} {labels} in {sorted({k[0] for k in samples})}"
    return found


def maybe(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    matches = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls)]
    return sum(matches) if matches else None


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

        wait_until(
            lambda: (
                maybe(scrape(url), "lazarus_events_in_total", topic=SENSOR_READINGS.full(p)) == 403
            ),
            60,
            "every input counted",
        )
        m = scrape(url)
        assert value(m, "lazarus_events_out_total", topic=HABITAT_SCORES.full(p)) == len(valid)
        assert value(m, "lazarus_events_out_total", topic=DEAD_LETTERS.full(p)) == invalid
        assert value(m, "lazarus_dead_letters_total", topic=SENSOR_READINGS.full(p)) == invalid
        assert value(m, "lazarus_model_version", model="habitat") == 1
        assert value(m, "lazarus_snapshot_age_seconds", model="habitat") > 0
        assert value(m, "lazarus_processing_seconds_count") >= 1
        assert value(m, "lazarus_snapshots_refused_total") == 0
        wait_until(
            lambda: any(k[0] == "lazarus_consumer_lag" for k in scrape(url)),
            15,
            "lag from librdkafka statistics",
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
        wait_until(
            lambda: (
                maybe(scrape(url), "lazarus_events_in_total", topic=HABITAT_OUTCOMES.full(p)) == 600
            ),
            60,
            "every outcome consumed",
        )

        def accounted() -> float:
            m = scrape(url)
            return (maybe(m, "lazarus_learned_total") or 0) + (
                maybe(m, "lazarus_dead_letters_total") or 0
            )

        wait_until(lambda: accounted() == 600, 30, "every reading learned or dead-lettered")
        m = scrape(url)
        assert value(m, "lazarus_events_in_total", topic=SENSOR_READINGS.full(p)) == 600
        wait_until(
            lambda: any(k[0] == "lazarus_prequential_metric" for k in scrape(url)), 30, "a snapshot"
        )
        m = scrape(url)
        assert 0.0 <= value(m, "lazarus_prequential_metric", metric="Accuracy") <= 1.0
        assert value(m, "lazarus_label_latency_seconds", stat="mean") >= 0
        assert value(m, "lazarus_pending_joins") >= 0
    finally:
        stop(proc)
