"""Prometheus metrics at `/metrics` on every long-running role.

A role hands `RoleMetrics` a `collect()` function that reads its counters at
scrape time, so the hot path pays nothing per event; only latency histograms
are observed as work happens (once per batch). Every role serves its own
registry on `LAZARUS_METRICS_PORT` (0: any free port, announced in the log and
in the role's heartbeat as `metrics_url`; -1: off).

Names (all prefixed `lazarus_`): events_in_total, events_out_total and
dead_letters_total by role and topic; consumer_lag by group, topic and
partition (from librdkafka statistics); processing_seconds (histogram);
model_version and snapshot_age_seconds (staleness); label_latency_seconds and
pending_joins (trainers); prequential_metric and served_metric by model,
version and metric.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from lazarus.errors import ConfigError
from lazarus.settings import Settings

log = logging.getLogger(__name__)

Kind = Literal["counter", "gauge"]


@dataclass(frozen=True)
class Sample:
    name: str
    """Without the `lazarus_` prefix (and without `_total` for counters)."""
    kind: Kind
    doc: str
    labels: dict[str, str]
    value: float


Collect = Callable[[], Iterable[Sample]]


class _Adapter(Collector):
    def __init__(self, collect: Collect) -> None:
        self._collect = collect

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
        try:
            samples = list(self._collect())
        except Exception as exc:  # a scrape must never take a role down
            log.warning("metrics collection failed: %s", exc)
            return
        for s in samples:
            family = families.get(s.name)
            if family is None:
                cls = CounterMetricFamily if s.kind == "counter" else GaugeMetricFamily
                family = families[s.name] = cls(f"lazarus_{s.name}", s.doc, labels=sorted(s.labels))
            family.add_metric([s.labels[k] for k in sorted(s.labels)], s.value)
        yield from families.values()


@dataclass
class RoleMetrics:
    role: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _server: Any = None

    def histogram(self, name: str, doc: str, buckets: tuple[float, ...] | None = None) -> Histogram:
        kwargs: dict[str, Any] = {"buckets": buckets} if buckets else {}
        return Histogram(f"lazarus_{name}", doc, ["role"], registry=self.registry, **kwargs)

    def collect_with(self, collect: Collect) -> None:
        self.registry.register(_Adapter(collect))

    def serve(self, settings: Settings) -> str | None:
        """Serve /metrics; returns the URL (None when LAZARUS_METRICS_PORT is -1)."""
        port = settings.metrics_port
        if port < 0:
            return None
        host = settings.metrics_host
        try:
            socket.getaddrinfo(host, None)
        except (OSError, UnicodeError) as exc:
            raise ConfigError(
                f"LAZARUS_METRICS_HOST={host!r} is not an address this machine has ({exc}); "
                "use 0.0.0.0 for every interface"
            ) from None
        try:
            server, _ = start_http_server(port, host, registry=self.registry)
        except OSError as exc:
            log.warning(
                "metrics port %d is taken (%s); serving on a free port instead. Give each role "
                "its own LAZARUS_METRICS_PORT, or 0 for any",
                port,
                exc,
            )
            try:
                server, _ = start_http_server(0, host, registry=self.registry)
            except OSError as again:
                raise ConfigError(
                    f"LAZARUS_METRICS_HOST={host!r}: cannot serve metrics there ({again})"
                ) from None
        self._server = server
        host = (
            settings.metrics_host
            if settings.metrics_host not in ("0.0.0.0", "")
            else socket.gethostname()
        )
        url = f"http://{host}:{server.server_port}/metrics"
        log.info("%s metrics at %s", self.role, url)
        return url

    def close(self) -> None:
        if self._server is not None:
            threading.Thread(target=self._server.shutdown, daemon=True).start()
            self._server.server_close()
            self._server = None


class KafkaStats:
    """Consumer lag per partition, from librdkafka's statistics callback (`stats_cb`)."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._lag: dict[tuple[str, int], int] = {}

    def __call__(self, raw: str) -> None:
        try:
            stats = json.loads(raw)
        except ValueError:
            return
        lag: dict[tuple[str, int], int] = {}
        for topic, t in (stats.get("topics") or {}).items():
            for pid, p in (t.get("partitions") or {}).items():
                value = p.get("consumer_lag", -1)
                if int(pid) >= 0 and value is not None and value >= 0:
                    lag[(topic, int(pid))] = int(value)
        self._lag = lag

    def samples(self) -> Iterator[Sample]:
        for (topic, partition), value in self._lag.items():
            yield Sample(
                "consumer_lag",
                "gauge",
                "messages behind the log end (librdkafka statistics)",
                {"group": self.group, "topic": topic, "partition": str(partition)},
                value,
            )


def counted(name: str, doc: str, role: str, by_topic: dict[str, int]) -> Iterator[Sample]:
    for topic, value in by_topic.items():
        yield Sample(name, "counter", doc, {"role": role, "topic": topic}, value)


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
STATS_INTERVAL_MS = 5000
