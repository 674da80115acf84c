"""deploy/grafana/lazarus.json: a Grafana dashboard that parses, shows what operators watch,
and queries only metrics Lazarus exports, in PromQL that promtool accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.exported_metrics import ROOT, exported, names_in
from tests.unit.test_alert_rules import promtool

pytestmark = pytest.mark.timeout(60)

DASHBOARD = ROOT / "deploy" / "grafana" / "lazarus.json"
SHOWN = (
    "lazarus_consumer_lag_messages",
    "lazarus_consumer_lag_seconds",
    "lazarus_lag_sample_age_seconds",
    "lazarus_events_in_total",
    "lazarus_model_version",
    "lazarus_served_metric",
    "lazarus_dead_letters_total",
)
"""What the dashboard must chart: lag in messages and seconds (and its age), events/s, model
versions, served quality and dead letters."""


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def queries() -> list[str]:
    return [
        t["expr"]
        for p in dashboard()["panels"]
        if p.get("type") != "row"
        for t in p.get("targets", [])
    ]


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    d = dashboard()
    assert d["uid"] == "lazarus" and d["title"] == "Lazarus"
    assert isinstance(d["schemaVersion"], int)
    panels = d["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for p in panels:
        assert {"h", "w", "x", "y"} <= set(p["gridPos"]), p["title"]
        if p["type"] == "row":
            continue
        assert p["targets"], f"panel {p['title']!r} queries nothing"
        for source in (p["datasource"], *(t["datasource"] for t in p["targets"])):
            assert source == {"type": "prometheus", "uid": "${datasource}"}, p["title"]


def test_it_queries_only_exported_metrics_and_shows_the_essentials() -> None:
    known = exported()
    used: set[str] = set()
    for expr in queries():
        names = names_in(expr)
        assert names, f"a query reads no lazarus_ metric: {expr}"
        used |= names
    assert not sorted(used - known), f"metrics Lazarus does not export: {sorted(used - known)}"
    missing = [name for name in SHOWN if name not in used]
    assert not missing, f"the dashboard does not chart {missing}"


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool checks each query as the expression of a recording rule."""
    lines = ["groups:", "  - name: grafana", "    rules:"]
    for i, expr in enumerate(queries()):
        # a JSON string is a YAML double-quoted scalar
        lines += [f"      - record: grafana_query_{i}", f"        expr: {json.dumps(expr)}"]
    rules = tmp_path / "queries.yml"
    rules.write_text("\n".join(lines) + "\n")
    result = promtool("check", "rules", rules.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries())} rules found" in result.stdout
