"""`lazarus lag-exporter` against the real broker: lag in messages and seconds per partition as
the broker has it, served at its /metrics and through the dashboard's; a broker that does not
answer shows as stale figures and counted failures, never as a crash."""

from __future__ import annotations

import subprocess

import redis

from lazarus.embedded.ports import free_port
from lazarus.groups import group_name
from lazarus.heartbeat import read_heartbeats
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus_bg
from tests.integration.scorerkit import send_sensors, wait_until
from tests.integration.test_metrics import (
    Samples,
    at_least,
    between,
    equals,
    metric,
    metrics_url,
    scrape,
    scrape_until,
    stop,
)
from tests.integration.trainerkit import log_ends

SENT = 120


def exporter_url(s: Settings, proc: subprocess.Popen[str]) -> str:
    def announced() -> bool:
        assert proc.poll() is None, f"the lag exporter exited: {proc.communicate()[0]}"
        return metrics_url(s, "lag-exporter") is not None

    wait_until(announced, 60, "the lag exporter's metrics url in its heartbeat")
    url = metrics_url(s, "lag-exporter")
    assert url is not None
    return url


def instance_of(s: Settings, role: str) -> str:
    client = redis.Redis.from_url(s.redis_url_value)
    try:
        (beat,) = [b for b in read_heartbeats(client, s.redis_key_prefix) if b["role"] == role]
    finally:
        client.close()
    return beat["instance"]


def series(samples: Samples, name: str, **labels: str) -> dict[str, float]:
    """partition -> value of `name`'s series whose labels include `labels`."""
    return {
        dict(ls)["partition"]: v
        for (n, ls), v in samples.items()
        if n == name and set(labels.items()) <= set(ls)
    }


def dashboard_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:  # bounded by the test's timeout
        if line.startswith("dashboard at "):
            return line.split()[-1]
    raise AssertionError(f"the dashboard exited with {proc.wait()} before saying where it is")


def test_lag_per_partition_is_served_by_the_exporter_and_the_dashboard(
    settings: Settings, topics: list[str]
) -> None:
    s = settings
    send_sensors(s, SENT)
    topic = SENSOR_READINGS.full(s.topic_prefix)
    scorer = group_name(s.topic_prefix, "scorer", "habitat")
    ends = {k.split(":")[1]: float(v) for k, v in log_ends(s, [topic]).items()}
    env = cli_env(s)
    exporter = lazarus_bg("lag-exporter", "--interval", "1", env=env)
    dashboard = lazarus_bg("dashboard", "--port", "0", "--interval", "0.5", env=env)
    try:
        # the scorers never ran: their group never committed, so its lag is the whole log
        samples = scrape_until(
            exporter_url(s, exporter),
            [
                metric("lazarus_consumer_lag_messages", equals(SENT), group=scorer, topic=topic),
                metric("lazarus_lag_sample_age_seconds", between(0, 30), group=scorer),
                metric("lazarus_lag_sample_failures_total", equals(0), group=scorer),
            ],
        )
        assert series(samples, "lazarus_consumer_lag_messages", group=scorer) == ends
        ages = series(samples, "lazarus_consumer_lag_seconds", group=scorer)
        assert set(ages) <= set(ends)
        assert all(0 <= age < 600 for age in ages.values()), ages
        trainer = group_name(s.topic_prefix, "trainer", "habitat")
        assert series(samples, "lazarus_consumer_lag_messages", group=trainer, topic=topic) == ends

        instance = instance_of(s, "lag-exporter")
        through = scrape_until(
            f"{dashboard_url(dashboard)}/metrics",
            [
                metric(
                    "lazarus_consumer_lag_messages",
                    equals(SENT),
                    group=scorer,
                    topic=topic,
                    instance=instance,
                ),
                metric("lazarus_role_metrics_up", equals(1), role="lag-exporter"),
            ],
        )
        assert series(through, "lazarus_consumer_lag_messages", group=scorer) == ends
    finally:
        dashboard.terminate()
        dashboard.communicate(timeout=30)
        stop(exporter)


def test_a_broker_that_does_not_answer_shows_as_stale_lag_not_a_crash(
    settings: Settings,
) -> None:
    s = settings.with_overrides(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    scorer = group_name(s.topic_prefix, "scorer", "habitat")
    exporter = lazarus_bg("lag-exporter", "--interval", "1", env=cli_env(s))
    try:
        url = exporter_url(s, exporter)
        samples = scrape_until(
            url,
            [
                metric("lazarus_lag_sample_failures_total", at_least(2), group=scorer),
                metric("lazarus_lag_sample_age_seconds", at_least(2), group=scorer),
            ],
            timeout=120,
        )
        assert not [n for n, _ in samples if n.startswith("lazarus_consumer_lag")]
        assert exporter.poll() is None
        assert scrape(url)  # still serving
    finally:
        stop(exporter)
