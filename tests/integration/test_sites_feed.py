"""The site map's feed against the real broker: it starts near each partition's end, joins
locations with scores per site, and skips ahead instead of falling behind."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from lazarus.dashboard.sites_feed import SitesFeed
from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import HABITAT_SCORES, SENSOR_READINGS
from lazarus.settings import Settings
from tests.integration.scorerkit import wait_until
from tests.integration.trainerkit import START

SITES = SimConfig().sites


def readings(count: int, seed: int = 3) -> list[tuple[str, bytes]]:
    """`count` simulated readings as (site, JSON), every sensor of every site in turn."""
    stream = SensorNetwork(SimConfig(seed=seed, fault_rate=0.0, label_delay_s=0), START)
    return [(key, raw) for key, raw, _ in itertools.islice(stream, count)]


def publish(settings: Settings, topic: str, messages: list[tuple[str, bytes]]) -> None:
    publisher = Publisher(producer_config(settings)).start(10)
    publisher.publish_many([(topic, key, value) for key, value in messages])
    assert publisher.close(30).failed == 0


def score(site: str, p: float, at: datetime) -> bytes:
    return (
        Score(
            event_id=score_id(f"in-{site}", "habitat"),
            event_time=at,
            input_event_id=f"in-{site}",
            subject=site,
            model="habitat",
            model_version=3,
            trained_through={},
            prediction=p >= 0.5,
            probabilities={"False": 1 - p, "True": p},
            scored_at=at,
            latency_ms=1.0,
        )
        .model_dump_json()
        .encode()
    )


@contextmanager
def running(feed: SitesFeed) -> Iterator[SitesFeed]:
    feed.start()
    try:
        yield feed
    finally:
        feed.stop(10)


def habitat(feed: SitesFeed) -> dict[str, Any]:
    model: dict[str, Any] = next(m for m in feed.state()["models"] if m["model"] == "habitat")
    return model


def test_the_feed_joins_each_sites_location_with_its_latest_score(
    settings: Settings, topics: list[str]
) -> None:
    prefix = settings.topic_prefix
    sent = readings(10 * SITES)
    publish(settings, SENSOR_READINGS.full(prefix), sent)
    now = datetime.now(UTC)
    sites = sorted({site for site, _ in sent})
    publish(
        settings,
        HABITAT_SCORES.full(prefix),
        [(site, score(site, 0.1 * i, now)) for i, site in enumerate(sites)],
    )
    with running(SitesFeed(settings, tail=50, refresh_s=0.5)) as feed:
        wait_until(lambda: habitat(feed)["scored"] == SITES, 60, f"{SITES} scored sites")
        view = habitat(feed)
    assert feed.state()["error"] is None
    assert [s["site"] for s in view["sites"]] == sites
    for i, row in enumerate(view["sites"]):
        assert row["score"] == pytest.approx(0.1 * i)
        assert row["model_version"] == 3
        assert row["scored_at"] == now.timestamp()
    newest = max(SENSOR_READINGS.decode(raw).event_time for _, raw in sent)
    assert max(s["seen_at"] for s in view["sites"]) == newest.timestamp()


def test_a_feed_far_behind_skips_ahead_to_the_newest_readings(
    settings: Settings, topics: list[str]
) -> None:
    """100 messages a second at most, and 3,000 to read: it reaches the newest by skipping."""
    prefix = settings.topic_prefix
    with running(SitesFeed(settings, tail=20, budget=100, refresh_s=0.3)) as feed:
        wait_until(lambda: feed.state()["sampled_at"] is not None, 60, "the feed assigned")
        sent = readings(3000, seed=4)
        publish(settings, SENSOR_READINGS.full(prefix), sent)
        newest = max(SENSOR_READINGS.decode(raw).event_time for _, raw in sent).timestamp()

        def caught_up() -> bool:
            seen = [s["seen_at"] for s in habitat(feed)["sites"]]
            return bool(seen) and max(seen) == newest

        wait_until(caught_up, 60, "the newest reading on the map")
        # Reading all 3,000 at 100 a second would take 30 s; skipping reads a fraction.
        assert feed.messages < 1500, feed.messages
