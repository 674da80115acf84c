"""The dashboard's `/metrics`: every live role's metrics on one page.

The roles of `lazarus up` serve `/metrics` on free ports that change with every run; the
dashboard's port is the one a Prometheus can be told. So the dashboard reads, at scrape time,
the `/metrics` of every role whose heartbeat names one (`metrics_url`), concurrently and each
within `FETCH_TIMEOUT_S`, and serves them merged:

- every sample gets the label `instance`, the role's heartbeat instance (`host-pid`), so the
  workers of one role stay apart (scrape with `honor_labels: true` to keep it);
- `lazarus_role_metrics_up{role, instance}` is 1 for each role read, 0 for one that did not
  answer or did not parse.

The lag exporter is one of those roles, so its lag metrics come through too. `merge()` is pure;
`aggregate()` does the reading.
"""

from __future__ import annotations

import logging
import socket
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from lazarus.metrics import RoleMetrics, Sample

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 2.0
"""Seconds to wait for one role's /metrics."""
FETCHERS = 8
"""Roles read at once."""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Target:
    """A role instance that serves /metrics."""

    role: str
    instance: str
    url: str


def targets(roles: Iterable[Mapping[str, Any]], here: str | None = None) -> list[Target]:
    """The role rows (the dashboard's `roles`) that name a `metrics_url`. A URL on this host's
    name (`here`, default this machine's; a role listening on every interface announces it)
    is read through 127.0.0.1, which always reaches it.

    >>> row = {"role": "scorer:habitat", "instance": "vm-42",
    ...        "details": {"metrics_url": "http://vm:41234/metrics"}}
    >>> targets([row, {"role": "dashboard", "instance": "vm-7", "details": {}}], here="vm")
    [Target(role='scorer:habitat', instance='vm-42', url='http://127.0.0.1:41234/metrics')]
    """
    here = socket.gethostname() if here is None else here
    out = []
    for row in roles:
        url = (row.get("details") or {}).get("metrics_url")
        if not url:
            continue
        parts = urlsplit(url)
        if parts.hostname == here and parts.port is not None:
            url = parts._replace(netloc=f"127.0.0.1:{parts.port}").geturl()
        out.append(Target(str(row.get("role", "")), str(row.get("instance", "")), url))
    return out


def fetch(url: str, timeout: float = FETCH_TIMEOUT_S) -> str:
    """The text of one /metrics page; raises OSError (urllib's errors) when it cannot be read."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read()
    return body.decode("utf-8")


def merge(pages: Sequence[tuple[Target, str | None]]) -> bytes:
    """One exposition of every page (None: not read), each sample labelled with its target's
    `instance`, and `lazarus_role_metrics_up` per target. Families of the same name from
    several roles become one; a page that does not parse counts as not read."""
    families: dict[str, Metric] = {}
    up: list[Sample] = []
    for target, text in pages:
        parsed = _parse(target, text) if text is not None else None
        up.append(
            Sample(
                "role_metrics_up",
                "gauge",
                "1 when the dashboard read this role's /metrics on this scrape, else 0",
                {"role": target.role, "instance": target.instance},
                0 if parsed is None else 1,
            )
        )
        for family in parsed or []:
            into = families.get(family.name)
            if into is None:
                into = families[family.name] = Metric(
                    family.name, family.documentation, family.type, family.unit
                )
            into.samples += [
                s._replace(labels={**s.labels, "instance": target.instance}) for s in family.samples
            ]
    metrics = RoleMetrics("dashboard")
    metrics.collect_with(lambda: up)
    metrics.registry.register(_Families(list(families.values())))
    return generate_latest(metrics.registry)


def aggregate(
    roles: Iterable[Mapping[str, Any]],
    read: Callable[[str], str] = fetch,
) -> bytes:
    """Read every role's /metrics at once (`read`: url -> text) and `merge()` them."""
    found = targets(roles)
    if not found:
        return merge([])
    with ThreadPoolExecutor(max_workers=min(FETCHERS, len(found))) as pool:
        texts = list(pool.map(lambda t: _read(read, t), found))
    return merge(list(zip(found, texts, strict=True)))


def _read(read: Callable[[str], str], target: Target) -> str | None:
    try:
        return read(target.url)
    except (OSError, ValueError) as exc:  # urllib's errors are OSErrors; bad bytes ValueError
        log.debug("cannot read %s's metrics at %s: %s", target.role, target.url, exc)
        return None


def _parse(target: Target, text: str) -> list[Metric] | None:
    try:
        return list(text_string_to_metric_families(text))
    except ValueError as exc:
        log.warning("%s's metrics at %s do not parse: %s", target.role, target.url, exc)
        return None


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families
