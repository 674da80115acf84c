"""The lag exporter without a broker: what it serves from the reads it made, how old they are,
and what a failing broker does to them."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lazarus.errors import ConfigError, ServiceUnavailable
from lazarus.lag import PartitionLag
from lazarus.lag_exporter import LagExporter, run
from lazarus.lag_metrics import LagBook
from lazarus.metrics import RoleMetrics
from lazarus.roles import demo_roles
from lazarus.settings import Settings

T0 = 1_800_000_000.0
GROUPS = {
    "lazarus.trainer.habitat": ("lazarus.sensor.readings.v1", "lazarus.habitat.outcomes.v1"),
    "lazarus.scorer.habitat": ("lazarus.sensor.readings.v1",),
}
Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def rows(group: str, lag: int, at: float, seconds: float | None = 2.5) -> list[PartitionLag]:
    return [
        PartitionLag(group, topic, p, 10, 10 + lag, lag, seconds if lag else 0.0, at)
        for topic in GROUPS[group]
        for p in (0, 1)
    ]


def scraped(book: LagBook, now: float) -> Series:
    """What /metrics serves, rendered and parsed as Prometheus would."""
    metrics = RoleMetrics("lag-exporter")
    metrics.collect_with(lambda: book.samples(now))
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float:
    (found,) = [v for (n, ls), v in series.items() if n == name and set(labels.items()) <= set(ls)]
    return found


def total(series: Series, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in series.items() if n == name and set(labels.items()) <= set(ls))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Broker:
    """A fake lag reader: lag per group, or an exception to raise; counts the reads."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lag: dict[str, int] = dict.fromkeys(GROUPS, 0)
        self.fail: Exception | None = None
        self.reads = 0
        self.second_read = threading.Event()

    def __call__(self) -> dict[str, list[PartitionLag]]:
        self.reads += 1
        if self.reads >= 2:
            self.second_read.set()
        if self.fail is not None:
            raise self.fail
        return {g: rows(g, lag, self.clock.now) for g, lag in self.lag.items()}


@pytest.fixture
def exporter() -> Iterator[tuple[LagExporter, Broker, Clock]]:
    clock = Clock()
    broker = Broker(clock)
    book = LagBook(GROUPS, started_at=T0)
    yield LagExporter(book, broker, interval=1.0, clock=clock), broker, clock


def test_lag_in_messages_and_seconds_per_group_topic_and_partition(
    exporter: tuple[LagExporter, Broker, Clock],
) -> None:
    ex, broker, clock = exporter
    broker.lag["lazarus.scorer.habitat"] = 40
    ex.read_all()
    clock.now += 3
    s = scraped(ex.book, clock.now)
    scorer = {"group": "lazarus.scorer.habitat", "topic": "lazarus.sensor.readings.v1"}
    for partition in ("0", "1"):
        assert value(s, "lazarus_consumer_lag_messages", **scorer, partition=partition) == 40
        assert value(s, "lazarus_consumer_lag_seconds", **scorer, partition=partition) == 2.5
    assert total(s, "lazarus_consumer_lag_messages", group="lazarus.trainer.habitat") == 0
    assert total(s, "lazarus_consumer_lag_seconds", group="lazarus.trainer.habitat") == 0
    for group in GROUPS:
        assert value(s, "lazarus_lag_sample_age_seconds", group=group) == 3.0
        assert value(s, "lazarus_lag_sample_failures_total", group=group) == 0
    assert ex.stats() == {"groups": 2, "oldest_read_s": 3.0, "failing": ""}


def test_before_the_first_read_only_the_age_shows_and_it_grows(
    exporter: tuple[LagExporter, Broker, Clock],
) -> None:
    ex, _, _ = exporter
    s = scraped(ex.book, T0 + 7)
    assert not [n for n, _ in s if n.startswith("lazarus_consumer_lag")]
    assert value(s, "lazarus_lag_sample_age_seconds", group="lazarus.scorer.habitat") == 7.0
    assert ex.stats() == {"groups": 2, "oldest_read_s": "", "failing": ""}


def test_a_broker_that_fails_keeps_the_last_figures_and_their_age_grows(
    exporter: tuple[LagExporter, Broker, Clock],
) -> None:
    ex, broker, clock = exporter
    group = "lazarus.scorer.habitat"
    broker.lag[group] = 12
    ex.read_all()
    broker.fail = ServiceUnavailable(
        "no Kafka broker answered; set LAZARUS_KAFKA_BOOTSTRAP_SERVERS"
    )
    clock.now += 30
    ex.read_all()
    s = scraped(ex.book, clock.now)
    assert total(s, "lazarus_consumer_lag_messages", group=group) == 2 * 12
    assert value(s, "lazarus_lag_sample_age_seconds", group=group) == 30.0
    assert value(s, "lazarus_lag_sample_failures_total", group=group) == 1
    stats = ex.stats()
    assert stats["oldest_read_s"] == 30.0
    assert stats["failing"] == "lazarus.scorer.habitat,lazarus.trainer.habitat"
    # back: fresh figures, age 0, the failure stays counted
    broker.fail = None
    broker.lag[group] = 3
    ex.read_all()
    s = scraped(ex.book, clock.now)
    assert total(s, "lazarus_consumer_lag_messages", group=group) == 2 * 3
    assert value(s, "lazarus_lag_sample_age_seconds", group=group) == 0.0
    assert value(s, "lazarus_lag_sample_failures_total", group=group) == 1
    assert ex.stats()["failing"] == ""


def test_a_group_found_on_the_broker_is_exported_too(
    exporter: tuple[LagExporter, Broker, Clock],
) -> None:
    """A spec-file model's group is not known at the start: the reader finds it."""
    ex, broker, clock = exporter
    found = [PartitionLag("lazarus.scorer.survey", "survey.records.v1", 0, 4, 9, 5, 1.0, T0 - 2)]
    LagExporter(
        ex.book, lambda: {**broker(), "lazarus.scorer.survey": found}, clock=clock
    ).read_all()
    s = scraped(ex.book, clock.now)
    assert value(s, "lazarus_consumer_lag_messages", group="lazarus.scorer.survey") == 5
    assert value(s, "lazarus_lag_sample_age_seconds", group="lazarus.scorer.survey") == 2.0
    assert "lazarus.scorer.survey" in ex.book.groups()
    # deleted from the broker: no longer returned, no longer shown
    ex.read_all()
    s = scraped(ex.book, clock.now)
    assert not [ls for _, ls in s if ("group", "lazarus.scorer.survey") in ls]
    assert ex.book.groups() == sorted(GROUPS)


def test_an_unmeasured_age_is_left_out_not_shown_as_zero() -> None:
    book = LagBook(["g"], started_at=T0)
    book.record("g", [PartitionLag("g", "t", 0, None, 9, 9, None, T0)], at=T0)
    s = scraped(book, T0)
    assert value(s, "lazarus_consumer_lag_messages", group="g") == 9
    assert not [n for n, _ in s if n == "lazarus_consumer_lag_seconds"]


def test_an_age_not_read_in_time_keeps_the_last_one_read() -> None:
    """Dropping the series would start a `for:` clause of LazarusLagSecondsHigh over."""
    book = LagBook(["g"], started_at=T0)
    book.record("g", [PartitionLag("g", "t", 0, 5, 9, 4, 700.0, T0)], at=T0)
    book.record("g", [PartitionLag("g", "t", 0, 5, 12, 7, None, T0 + 5)], at=T0 + 5)
    s = scraped(book, T0 + 5)
    assert value(s, "lazarus_consumer_lag_messages", group="g") == 7
    assert value(s, "lazarus_consumer_lag_seconds", group="g") == 700.0
    book.record("g", [PartitionLag("g", "t", 0, 12, 12, 0, 0.0, T0 + 10)], at=T0 + 10)
    assert value(scraped(book, T0 + 10), "lazarus_consumer_lag_seconds", group="g") == 0.0
    book.retain([])  # a group gone from the broker: its ages go too
    book.record("g", [PartitionLag("g", "t", 0, 12, 15, 3, None, T0 + 15)], at=T0 + 15)
    assert not [n for n, _ in scraped(book, T0 + 15) if n == "lazarus_consumer_lag_seconds"]


def test_a_lag_whose_log_end_was_not_read_is_marked_a_lower_bound() -> None:
    book = LagBook(["g"], started_at=T0)
    book.record(
        "g",
        [
            PartitionLag("g", "t", 0, 5, 9, 4, 1.0, T0),
            PartitionLag("g", "t", 1, 5, 8, 3, None, T0, end_exact=False),
        ],
        at=T0,
    )
    s = scraped(book, T0)
    assert value(s, "lazarus_consumer_lag_exact", group="g", partition="0") == 1
    assert value(s, "lazarus_consumer_lag_exact", group="g", partition="1") == 0
    assert value(s, "lazarus_consumer_lag_messages", group="g", partition="1") == 3


def test_the_thread_reads_until_stopped(exporter: tuple[LagExporter, Broker, Clock]) -> None:
    ex, broker, _ = exporter
    ex.interval = 0.05
    ex.start()
    try:
        assert broker.second_read.wait(30), "the exporter's thread did not read twice"
    finally:
        ex.stop(timeout=10)
    assert not ex.running


def test_lazarus_up_runs_one_exporter_unless_metrics_are_off() -> None:
    roles = demo_roles(scorers=1, rate=1.0, label_delay=0.0, seed=1)
    (exporter,) = [r for r in roles if r.name == "lag-exporter"]
    assert exporter.argv[-2:] == ("lazarus", "lag-exporter")
    assert exporter.group is None and "LAZARUS_SIGNING_PRIVATE_KEY" in exporter.drop_env
    off = demo_roles(scorers=1, rate=1.0, label_delay=0.0, seed=1, lag_exporter=False)
    assert "lag-exporter" not in [r.name for r in off]


def test_metrics_turned_off_is_a_bad_setting_named() -> None:
    with pytest.raises(ConfigError, match="LAZARUS_METRICS_PORT=-1"):
        run(Settings(metrics_port=-1))
