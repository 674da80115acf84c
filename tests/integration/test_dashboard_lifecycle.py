"""The dashboard shows each model's lifecycle (issue #17, item 6) in a real headless Chromium: the
champion, a challenger with its paired comparison and verdict, the rollback guard, the last drift
and automatic action, and the drift marked on the model's quality chart. The lineup is written
through `Lineup` on the real Redis. A screenshot of the model's card lands in
$LAZARUS_TEST_ARTIFACTS (default artifacts/) as dashboard-lifecycle.png.

Needs Debian's `chromium` and `chromium-driver`, as tests/integration/test_dashboard.py does.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from typing import Any

import pytest
import redis
from selenium import webdriver
from selenium.webdriver.common.by import By

from lazarus.embedded.ports import free_port
from lazarus.registry.lineup import Lineup
from lazarus.settings import Settings
from tests.integration import test_dashboard
from tests.integration.cli import cli_env, lazarus_bg
from tests.integration.scorerkit import ModelMaker
from tests.integration.test_dashboard import ARTIFACTS, stop, until, wait_healthy
from tests.integration.test_status_lifecycle import FRESH, drift, gate_report
from tests.integration.trainerkit import store_of, with_keys

chrome = test_dashboard.chrome
"""The headless Chromium fixture of the dashboard test."""

LIFECYCLE = """
const card = document.querySelector('#models section[data-model="habitat"]');
if (!card) return null;
const text = (el) => (el ? el.innerText.trim() : null);
const rows = [...card.querySelectorAll("table.lifecycle tbody tr")].map(
  (r) => ({line: r.dataset.line, as: r.dataset.as, cells: [...r.cells].map(text)}));
const entry = window.lazarusCharts.models.habitat;
const chart = entry && entry.chart;
const marks = chart ? chart.options.plugins.lazarusMarkers.marks : [];
const area = chart && chart.chartArea;
return {
  rows,
  drift: text(card.querySelector(".last-drift")),
  action: text(card.querySelector(".last-action")),
  evidence: text(card.querySelector(".evidence")),
  lineOf: text(document.querySelector('#models section[data-model="habitat.fresh"] .line-of')),
  datasets: chart ? chart.data.datasets.map((d) => [d.label, d.data.length]) : [],
  marks: marks.map((m) => ({kind: m.kind, at: m.at,
    inside: !!area && chart.scales.x.getPixelForValue(m.at) >= area.left
      && chart.scales.x.getPixelForValue(m.at) <= area.right})),
};
"""


def shown(page: dict[str, Any] | None) -> dict[str, Any] | None:
    """The page once the lifecycle and both chart markers are drawn."""
    if not page or len(page["rows"]) < 3 or len(page["marks"]) < 2:
        return None
    return page


@pytest.mark.timeout(240)
def test_the_dashboard_shows_the_lifecycle_and_marks_the_drift(
    settings: Settings, topics: list[str], chrome: webdriver.Chrome
) -> None:
    s = with_keys(settings)
    maker = ModelMaker(s)
    maker.publish()
    sealed, _ = maker.sealed_next()
    assert store_of(s).publish(FRESH, 1, sealed, 10).outcome == "ok"
    drifted = drift()
    maker.publish()  # a version after the drift
    client = redis.Redis.from_url(s.redis_url_value)
    lineup = Lineup(client, s.redis_key_prefix)
    lineup.join("habitat", FRESH)
    lineup.set_baseline("habitat", "habitat", 1)
    lineup.write("habitat", "drift", drifted)
    lineup.write("habitat", "gate", gate_report(time.time()))
    evidence = {"events": 520, "metric": "Accuracy", "champion": 0.8, "challenger": 0.86,
                "difference": 0.06, "interval": [0.02, 0.1], "confidence": 0.95,
                "method": "mcnemar-exact", "p_value": 0.003}  # fmt: skip
    action = {"kind": "promote", "at": time.time(), "line": FRESH, "version": 1}
    lineup.write("habitat", "action", action | {"reason": "promotion gate", "evidence": evidence})
    client.close()

    procs: list[subprocess.Popen[str]] = []
    try:
        port = free_port()
        dashboard = lazarus_bg("dashboard", "--port", str(port), "--interval", "1", env=cli_env(s))
        procs.append(dashboard)
        url = f"http://127.0.0.1:{port}"
        assert wait_healthy(url, dashboard)["status"] == "ok"
        chrome.get(url)
        page = until(
            chrome, "the lifecycle of habitat", lambda d: shown(d.execute_script(LIFECYCLE))
        )

        rows = {(r["line"], r["as"]): r["cells"] for r in page["rows"]}
        assert rows[("habitat", "champion")][2:] == ["v2", "", "", "serving"]
        fresh = rows[(FRESH, "challenger")]
        assert fresh[2:] == [
            "v1",
            "240 of 500",
            "+0.05 (95% CI +0.01..+0.09)",
            "waiting: 240 of 500 judged events",
        ]
        assert rows[("habitat", "baseline")][2] == "v1"
        assert "prequential error 0.100 -> 0.300 (ADWIN, 1,500 seen)" in page["drift"]
        assert "a fresh challenger started from the drift point" in page["drift"]
        assert page["action"].startswith(f"last automatic action: promote {FRESH} v1")
        assert "Accuracy 0.800 -> 0.860 (+0.06, 95% CI +0.02..+0.1" in page["evidence"]
        assert page["lineOf"] == "habitat"
        labels = dict(page["datasets"])
        assert labels.get("habitat prequential (recent)", labels.get("habitat prequential")) == 2
        assert any(label.startswith(FRESH) for label in labels)
        marks = {m["kind"]: m for m in page["marks"]}
        assert marks["drift"]["inside"] and marks["promote"]["inside"]
        detected = datetime.fromisoformat(drifted["detected_at"]).timestamp()
        assert marks["drift"]["at"] == pytest.approx(detected)

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        card = chrome.find_element(By.CSS_SELECTOR, '#models section[data-model="habitat"]')
        assert card.screenshot(str(ARTIFACTS / "dashboard-lifecycle.png"))
    finally:
        outputs = stop(procs)
    for name, proc in zip(outputs, procs, strict=True):
        assert proc.returncode == 0, f"`lazarus {name}` exited {proc.returncode}:\n{outputs[name]}"
