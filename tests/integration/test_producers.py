"""Producers against the real broker: counts, delays, dead letters, faults."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import redis
from confluent_kafka import TIMESTAMP_CREATE_TIME

from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port
from lazarus.heartbeat import read_heartbeats
from lazarus.kafka.admin import ensure_topics
from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.ids import epoch_ms
from lazarus.schemas import DeadLetter, Outcome, SensorReading
from lazarus.schemas.topics import DEAD_LETTERS, GENOMIC_SAMPLES, HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus, lazarus_bg
from tests.integration.kafkatools import key_of, read_all, value_of
from tests.integration.tcpproxy import Proxy


def test_simulated_sensors_arrive_keyed_with_delayed_outcomes(
    settings: Settings, topics: list[str]
) -> None:
    result = lazarus(
        "produce",
        "sensors",
        "--count",
        "300",
        "--rate",
        "300",
        "--label-delay",
        "1",
        "--seed",
        "11",
        env=cli_env(settings),
    )
    assert result.returncode == 0, result.stderr
    assert "acked 600" in result.stderr and "failed 0" in result.stderr
    readings = read_all(settings, SENSOR_READINGS.full(settings.topic_prefix), expect=300)
    outcomes = read_all(settings, HABITAT_OUTCOMES.full(settings.topic_prefix), expect=300)
    assert len(readings) == 300 and len(outcomes) == 300
    sent_at = {}
    for msg in readings:
        reading = SensorReading.model_validate_json(value_of(msg))
        assert key_of(msg).decode() == reading.site_id
        # The Kafka timestamp (CreateTime) is the event time, which keeps step with the wall clock.
        assert msg.timestamp() == (TIMESTAMP_CREATE_TIME, epoch_ms(reading.event_time))
        assert msg.timestamp()[1] <= time.time() * 1000
        sent_at[reading.event_id] = msg.timestamp()[1]
    for msg in outcomes:
        outcome = Outcome.model_validate_json(value_of(msg))
        assert key_of(msg).decode() == outcome.subject
        assert outcome.event_ref is not None
        assert msg.timestamp()[1] == epoch_ms(outcome.event_time)
        assert msg.timestamp()[1] - sent_at[outcome.event_ref] == 1000  # ms; the 1 s label delay


def test_unreachable_broker_retries_then_exits_nonzero(settings: Settings) -> None:
    env = cli_env(settings, LAZARUS_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    result = lazarus("produce", "sensors", "--count", "5", "--timeout", "3", env=env)
    assert result.returncode == 1
    assert time.monotonic() - started >= 3
    assert "not reachable (attempt 1); retrying" in result.stderr
    assert "LAZARUS_KAFKA_BOOTSTRAP_SERVERS" in result.stderr


def test_ctrl_c_flushes_and_prints_counts(settings: Settings, topics: list[str]) -> None:
    proc = lazarus_bg(
        "produce", "genomes", "--rate", "200", "--label-delay", "30", env=cli_env(settings)
    )
    # it has published (not a sleep: under load it may take seconds to start)
    assert read_all(settings, GENOMIC_SAMPLES.full(settings.topic_prefix), expect=1, timeout=60)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    line = next(line for line in out.splitlines() if line.startswith("sent "))
    words = line.replace(",", "").replace("(", "").replace(")", "").split()
    sent, events, outcomes = int(words[1]), int(words[3]), int(words[5])
    assert (
        sent > 0 and sent == events + outcomes and "failed 0" in line and "dead-lettered 0" in line
    )
    assert events == outcomes, "held-back outcomes must be sent on Ctrl-C, not lost"
    assert f"acked {sent}" in line


def test_heartbeat_counts_events_and_outcomes_apart(settings: Settings, topics: list[str]) -> None:
    """`--rate` paces events; the heartbeat's `events_out` (what events/s is the rate of)
    counts those alone, and the outcomes go in `outcomes_out`."""
    env = cli_env(settings, LAZARUS_HEARTBEAT_SECONDS="2")  # the last beat lives 10 s
    done = lazarus(
        "produce", "sensors", "--count", "40", "--rate", "200", "--label-delay", "0", env=env
    )
    assert done.returncode == 0, done.stderr
    assert "sent 80 (events 40, outcomes 40)" in done.stderr and "events/s" in done.stderr
    client = redis.Redis.from_url(settings.redis_url_value)
    (beat,) = read_heartbeats(client, settings.redis_key_prefix)
    client.close()
    assert beat["state"] == "stopped" and beat["role"] == "producer:sensors"
    assert (beat["events_out"], beat["outcomes_out"]) == ("40", "40")


def test_replay_dead_letters_exactly_the_bad_rows(
    settings: Settings, topics: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "station.csv"
    rows = ["timestamp,site,temp,occupied"]
    bad_lines = []
    for i in range(2, 102):
        if i % 10 == 0:
            rows.append(f"2026-01-01T00:00:00Z,s{i % 3},broken,1")
            bad_lines.append(i)
        else:
            rows.append(f"2026-01-01T00:00:00Z,s{i % 3},{10 + i % 7},{i % 2}")
    path.write_text("\n".join(rows) + "\n")
    result = lazarus(
        "produce",
        "replay",
        str(path),
        "--time-column",
        "timestamp",
        "--key-column",
        "site",
        "--label-column",
        "occupied",
        "--map",
        "temp=temperature_c",
        env=cli_env(settings),
    )
    assert result.returncode == 0, result.stderr
    assert "dead-lettered 10" in result.stderr
    dead = [
        DeadLetter.model_validate_json(value_of(m))
        for m in read_all(settings, DEAD_LETTERS.full(settings.topic_prefix), expect=10)
    ]
    assert sorted(d.origin_line or 0 for d in dead) == bad_lines
    assert all(
        d.stage == "producer" and "not a number" in d.reason and d.origin_file == str(path)
        for d in dead
    )
    readings = read_all(settings, SENSOR_READINGS.full(settings.topic_prefix), expect=90)
    assert len(readings) == 90
    SensorReading.model_validate_json(value_of(readings[0]))


def test_replay_of_a_cp1252_file_dead_letters_undecodable_rows_unless_told_its_encoding(
    settings: Settings, topics: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "sites.csv"
    rows = ["site,site_name,temp,occupied"]
    for i in range(2, 42):  # every fifth row names a café: 0xe9 in cp1252, invalid UTF-8
        rows.append(f"s{i},{'Café' if i % 5 == 0 else 'Ridge'} {i},{10 + i % 7},{i % 2}")
    path.write_bytes("\r\n".join(rows).encode("cp1252") + b"\r\n")
    args: tuple[str, ...] = ("produce", "replay", str(path), "--key-column", "site")
    args += ("--label-column", "occupied", "--exclude", "site_name", "--label-delay", "0")
    first = lazarus(*args, env=cli_env(settings))
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert "sent 72 (events 32, outcomes 32)" in first.stderr and "dead-lettered 8" in first.stderr
    dead = [
        DeadLetter.model_validate_json(value_of(m))
        for m in read_all(settings, DEAD_LETTERS.full(settings.topic_prefix), expect=8)
    ]
    assert sorted(d.origin_line or 0 for d in dead) == [i for i in range(2, 42) if i % 5 == 0]
    assert all("not valid utf-8" in d.reason and d.stage == "producer" for d in dead)
    assert {d.raw_payload() for d in dead} == {
        rows[i - 1].encode("cp1252") for i in range(2, 42) if i % 5 == 0
    }
    second = lazarus(*args, "--encoding", "cp1252", env=cli_env(settings))
    assert second.returncode == 0, second.stderr
    assert (
        "sent 80 (events 40, outcomes 40)" in second.stderr and "dead-lettered 0" in second.stderr
    )
    readings = read_all(settings, SENSOR_READINGS.full(settings.topic_prefix), expect=72)
    assert len(readings) == 72  # 32 + 40: rows in = sent + dead-lettered, twice


def test_replay_strict_stops_at_the_first_bad_row(
    settings: Settings, topics: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n3,oops\n5,6\n")
    result = lazarus("produce", "replay", str(path), "--strict", env=cli_env(settings))
    assert result.returncode == 1
    assert "x.csv:3" in result.stderr and "not a number" in result.stderr


def test_broker_restart_mid_run_loses_no_acknowledged_event(settings: Settings) -> None:
    """Clients see the broker vanish (connections cut, new ones refused) and come back."""
    proxy_port, broker_port = free_port(), free_port()
    proxy = Proxy(proxy_port, ("127.0.0.1", broker_port))
    proxy.start()
    broker = EmbeddedBroker(broker_port, advertise=f"127.0.0.1:{proxy_port}")
    broker.start()
    try:
        s = settings.with_overrides(kafka_bootstrap_servers=f"127.0.0.1:{proxy_port}")
        topic = SENSOR_READINGS.full(s.topic_prefix)
        ensure_topics(client_config(s, quiet=True), [topic], 2)
        publisher = Publisher(producer_config(s)).start(10)
        total = 4000

        def produce() -> None:
            for i in range(total):
                publisher.publish(topic, f"k{i % 17}", f"{i}".encode())
                if i % 100 == 0:
                    publisher.poll(0)
                    time.sleep(0.02)

        worker = threading.Thread(target=produce)
        worker.start()
        while publisher.counts.acked < 1000:
            time.sleep(0.05)
        proxy.cut()
        time.sleep(3)
        proxy.restore()
        worker.join(60)
        counts = publisher.close(60)
        assert counts.failed == 0 and counts.acked == total
        values = [int(value_of(m)) for m in read_all(s, topic, expect=total, timeout=60)]
        assert sorted(set(values)) == list(range(total)), "an acknowledged event is missing"
    finally:
        broker.stop()
        proxy.cut()
