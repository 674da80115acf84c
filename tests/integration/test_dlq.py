"""`lazarus dlq inspect|replay` against dead letters on the real broker."""

from __future__ import annotations

import json
from pathlib import Path

from lazarus.dead_letters.sink import DeadLetterSink, Rejection, Stage
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.schemas.topics import DEAD_LETTERS, SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.cli import cli_env, lazarus
from tests.integration.kafkatools import read_all


def reading(i: int, temperature: float) -> dict[str, object]:
    return {
        "event_id": f"r-{i}",
        "event_time": "2026-03-01T12:00:00+00:00",
        "site_id": f"site-{i % 3}",
        "sensor_id": "c1",
        "kind": "climate",
        "location": {"lat": 10.0, "lon": 20.0},
        "measurements": {"temperature_c": temperature},
    }


def rejected(
    exc: BaseException,
    raw: bytes,
    topic: str,
    partition: int,
    offset: int,
    key: str | None,
    stage: Stage,
) -> Rejection:
    return Rejection.of(
        exc, stage=stage, raw=raw, key=key, topic=topic, partition=partition, offset=offset
    )


def dead_letter(s: Settings) -> None:
    topic = SENSOR_READINGS.full(s.topic_prefix)
    with Publisher(producer_config(s)) as pub:
        scorer = DeadLetterSink(pub, DEAD_LETTERS.full(s.topic_prefix), "scorer")
        trainer = DeadLetterSink(pub, DEAD_LETTERS.full(s.topic_prefix), "trainer")
        for i in range(5):  # a stuck thermometer, at several temperatures
            raw = json.dumps(reading(i, 9999.0 + i)).encode()
            try:
                SENSOR_READINGS.decode(raw)
            except ValueError as exc:
                scorer.send(rejected(exc, raw, topic, 0, 100 + i, f"site-{i % 3}", "scorer"))
        for i in range(2):
            raw = b"\xff not json"
            try:
                SENSOR_READINGS.decode(raw)
            except ValueError as exc:
                scorer.send(rejected(exc, raw, topic, 1, 200 + i, None, "scorer"))
        # valid input a trainer gave up on (its model raised): replaying it is meaningful
        trainer.send(
            rejected(
                RuntimeError("model raised"),
                json.dumps(reading(50, 21.5)).encode(),
                topic,
                1,
                300,
                "site-0",
                "trainer",
            )
        )


def test_inspect_groups_by_reason_and_replay_is_a_dry_run_by_default(
    settings: Settings, topics: list[str], tmp_path: Path
) -> None:
    dead_letter(settings)
    env = cli_env(settings)
    shown = lazarus("dlq", "inspect", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["total"] == 8 and report["unreadable"] == 0
    counts = {g["reason"]: g["count"] for g in report["groups"]}
    stuck = next(k for k in counts if "temperature_c" in k)
    assert counts[stuck] == 5, counts  # numbers blanked: one problem, not five
    assert sorted(counts.values()) == [1, 2, 5]
    assert report["groups"][0]["example"]["origin"].startswith(
        SENSOR_READINGS.full(settings.topic_prefix)
    )
    table = lazarus(
        "dlq", "inspect", "--topic", SENSOR_READINGS.name, env=cli_env(settings, COLUMNS="250")
    )
    assert "8 dead letters" in table.stdout

    dry = json.loads(
        lazarus("dlq", "replay", "--reason", "temperature_c", "--json", env=env).stdout
    )
    assert dry["dry_run"] and dry["selected"] == 5 and dry["valid"] == 0 and dry["would_send"] == 0
    assert all("outside" in item["why"] for item in dry["items"])

    before = len(read_all(settings, SENSOR_READINGS.full(settings.topic_prefix), idle=1.0))
    sent = json.loads(
        lazarus("dlq", "replay", "--stage", "trainer", "--execute", "--json", env=env).stdout
    )
    assert sent["sent"] == 1
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(
        "\n".join(json.dumps(reading(i, 21.0 + i)) for i in range(3))
        + "\n"
        + json.dumps(reading(9, 999.0))
        + "\n"
    )
    result = lazarus(
        "dlq",
        "replay",
        "--topic",
        SENSOR_READINGS.name,
        "--fixed",
        str(fixed),
        "--execute",
        "--json",
        env=env,
    )
    out = json.loads(result.stdout)
    assert out["selected"] == 4 and out["valid"] == 3 and out["sent"] == 3
    landed = read_all(settings, SENSOR_READINGS.full(settings.topic_prefix), expect=before + 4)
    ids = {json.loads(m.value() or b"")["event_id"] for m in landed}
    assert {"r-0", "r-1", "r-2", "r-50"} <= ids and "r-9" not in ids


def test_replay_of_fixed_events_needs_a_topic(
    settings: Settings, topics: list[str], tmp_path: Path
) -> None:
    fixed = tmp_path / "f.jsonl"
    fixed.write_text("{}\n")
    result = lazarus("dlq", "replay", "--fixed", str(fixed), env=cli_env(settings))
    assert result.returncode == 2 and "--topic" in result.stderr
