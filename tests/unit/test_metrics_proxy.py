"""The dashboard's /metrics without a network: the roles it reads, and their pages merged into
one that Prometheus parses, each sample labelled with its role instance."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lazarus.dashboard.metrics_proxy import Target, aggregate, merge, targets
from lazarus.metrics import RoleMetrics, Sample, counted


def page(role: str, events: int, with_histogram: bool = False) -> str:
    """A role's own /metrics page, as RoleMetrics renders it."""
    metrics = RoleMetrics(role)
    metrics.collect_with(
        lambda: [
            *counted("events_in", "messages consumed", role, {"t": events}),
            Sample("model_version", "gauge", "version", {"role": role, "model": "m"}, 3),
        ]
    )
    if with_histogram:
        metrics.histogram("processing_seconds", "per batch").labels(role=role).observe(0.02)
    return generate_latest(metrics.registry).decode()


def parsed(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def row(role: str, instance: str, url: str | None) -> dict[str, object]:
    return {"role": role, "instance": instance, "details": {"metrics_url": url} if url else {}}


W1 = Target("scorer:habitat", "vm-11", "http://127.0.0.1:1/metrics")
W2 = Target("scorer:habitat", "vm-12", "http://127.0.0.1:2/metrics")


def test_workers_of_one_role_stay_apart_by_instance() -> None:
    out = parsed(merge([(W1, page(W1.role, 5, True)), (W2, page(W2.role, 7))]))

    def at(name: str, **labels: str) -> float:
        return out[(name, tuple(sorted(labels.items())))]

    scorer = {"role": "scorer:habitat"}
    assert at("lazarus_events_in_total", **scorer, topic="t", instance="vm-11") == 5
    assert at("lazarus_events_in_total", **scorer, topic="t", instance="vm-12") == 7
    assert at("lazarus_processing_seconds_count", **scorer, instance="vm-11") == 1
    for instance in ("vm-11", "vm-12"):
        up = ("lazarus_role_metrics_up", (("instance", instance), ("role", "scorer:habitat")))
        assert out[up] == 1


def test_a_role_not_read_or_unparsable_is_down_and_the_rest_still_served() -> None:
    bad = Target("trainer:habitat", "vm-3", "http://127.0.0.1:3/metrics")
    out = parsed(merge([(W1, None), (bad, "this is {not metrics"), (W2, page(W2.role, 2))]))
    up = {ls: v for (n, ls), v in out.items() if n == "lazarus_role_metrics_up"}
    assert up == {
        (("instance", "vm-11"), ("role", "scorer:habitat")): 0,
        (("instance", "vm-3"), ("role", "trainer:habitat")): 0,
        (("instance", "vm-12"), ("role", "scorer:habitat")): 1,
    }
    assert sum(v for (n, _), v in out.items() if n == "lazarus_events_in_total") == 2


def test_targets_are_the_roles_that_serve_metrics() -> None:
    rows = [
        row("scorer:habitat", "vm-11", "http://vm:41234/metrics"),
        row("trainer:habitat", "other-5", "http://other:8000/metrics"),
        row("dashboard", "vm-9", None),
    ]
    assert targets(rows, here="vm") == [
        Target("scorer:habitat", "vm-11", "http://127.0.0.1:41234/metrics"),
        Target("trainer:habitat", "other-5", "http://other:8000/metrics"),
    ]


def test_aggregate_reads_every_role_and_survives_one_that_refuses() -> None:
    pages = {"http://127.0.0.1:1/metrics": page(W1.role, 4)}

    def read(url: str) -> str:
        if url not in pages:
            raise ConnectionRefusedError(111, "Connection refused")
        return pages[url]

    rows = [row(W1.role, W1.instance, W1.url), row(W2.role, W2.instance, W2.url)]
    out = parsed(aggregate(rows, read))
    assert out[("lazarus_role_metrics_up", (("instance", "vm-11"), ("role", W1.role)))] == 1
    assert out[("lazarus_role_metrics_up", (("instance", "vm-12"), ("role", W2.role)))] == 0
    assert parsed(aggregate([], read)) == {}


def test_the_merged_page_renders_in_prometheus_text_format() -> None:
    text = merge([(W1, page(W1.role, 1, True)), (W2, page(W2.role, 1, True))]).decode()
    # one HELP and TYPE per family, however many roles serve it
    assert text.count("# TYPE lazarus_events_in_total counter") == 1
    assert text.count("# TYPE lazarus_processing_seconds histogram") == 1
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"lazarus_events_in", "lazarus_processing_seconds", "lazarus_role_metrics_up"} <= names
