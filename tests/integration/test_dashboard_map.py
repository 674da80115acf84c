"""The dashboard's site map in a real headless Chromium, with readings and scores flowing.

Readings of the simulated sites are on the broker before any scorer runs, so the map first
shows every site in grey (no score yet); then a scorer serves v1 and the same dots take the
colour of their latest score. A screenshot of the map lands in $LAZARUS_TEST_ARTIFACTS (default
artifacts/ at the repository root) as dashboard-map.png.

Needs Debian's `chromium` and `chromium-driver`, as tests/integration/test_dashboard.py does.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from lazarus.embedded.ports import free_port
from lazarus.producers.sensor_sim import SimConfig
from lazarus.settings import Settings
from tests.integration import test_dashboard
from tests.integration.cli import cli_env, lazarus_bg
from tests.integration.scorerkit import ModelMaker, send_sensors, wait_until
from tests.integration.test_dashboard import (
    ARTIFACTS,
    PAGE_TIMEOUT_S,
    scorer_serving,
    stop,
    wait_healthy,
)
from tests.integration.trainerkit import with_keys

chrome = test_dashboard.chrome
"""The headless Chromium fixture of the dashboard test."""

SITES = SimConfig().sites
UNSCORED = "#a0aab4"
"""map.js's colour of a site with no score yet."""

MAP_FACTS = """
const box = document.querySelector('#site-maps .site-map[data-model="habitat"]');
const noMap = [...document.querySelectorAll('#site-maps p.no-map')].map((p) => p.innerText);
if (!box) return {dots: [], noMap: noMap, land: 0};
return {
  land: (box.querySelector("path.land").getAttribute("d") || "").length,
  borders: (box.querySelector("path.borders").getAttribute("d") || "").length,
  legend: box.querySelector(".legend").innerText,
  summary: box.querySelector(".summary").innerText,
  noMap: noMap,
  dots: [...box.querySelectorAll("circle.site")].map((c) => ({
    site: c.dataset.site,
    fill: c.getAttribute("fill"),
    scored: c.classList.contains("scored"),
    version: c.dataset.version,
    cx: Number(c.getAttribute("cx")),
    cy: Number(c.getAttribute("cy")),
    px: c.getBoundingClientRect().width,
    title: c.querySelector("title").textContent,
  })),
};
"""
"""What the map shows, read in one script (the page redraws every second)."""


def map_facts(driver: webdriver.Chrome) -> dict[str, Any]:
    facts: dict[str, Any] = driver.execute_script(MAP_FACTS)
    return facts


def until(driver: webdriver.Chrome, what: str, check: Any) -> Any:
    """WebDriverWait, failing with what the map and /api/sites last had."""
    try:
        return WebDriverWait(driver, PAGE_TIMEOUT_S, poll_frequency=0.2).until(check)
    except TimeoutException:
        sites = driver.execute_script("return window.lazarusSites || null")
        pytest.fail(
            f"the map never showed {what}; it last had {json.dumps(map_facts(driver))[:2000]} "
            f"from /api/sites {json.dumps(sites)[:2000]}"
        )


def all_grey(facts: dict[str, Any]) -> dict[str, Any] | None:
    dots = facts["dots"]
    return facts if len(dots) == SITES and all(not d["scored"] for d in dots) else None


def all_scored(facts: dict[str, Any]) -> dict[str, Any] | None:
    dots = facts["dots"]
    return facts if len(dots) == SITES and all(d["scored"] for d in dots) else None


@pytest.mark.timeout(240)
def test_the_map_places_each_site_and_colours_it_by_its_latest_score(
    settings: Settings, topics: list[str], chrome: webdriver.Chrome
) -> None:
    s = with_keys(settings)
    version = ModelMaker(s).publish().version
    procs: list[subprocess.Popen[str]] = []
    try:
        send_sensors(s, 5 * SITES * 5)  # five rounds of every sensor of every site
        port = free_port()
        dashboard = lazarus_bg("dashboard", "--port", str(port), "--interval", "1", env=cli_env(s))
        procs.append(dashboard)
        url = f"http://127.0.0.1:{port}"
        assert wait_healthy(url, dashboard)["status"] == "ok"
        chrome.get(url)

        # Before any scorer: every site at its place, grey, "no score yet".
        grey = until(chrome, f"{SITES} grey sites", lambda d: all_grey(map_facts(d)))
        assert grey["land"] > 10_000 and grey["borders"] > 1_000, "no world outline drawn"
        assert {d["fill"] for d in grey["dots"]} == {UNSCORED}
        assert all("no score yet" in d["title"] for d in grey["dots"])
        sites = chrome.execute_script("return window.lazarusSites")
        habitat = next(m for m in sites["models"] if m["model"] == "habitat")
        for row in habitat["sites"]:
            dot = next(d for d in grey["dots"] if d["site"] == row["site"])
            assert dot["cx"] == pytest.approx((row["lon"] + 180) * 10, abs=0.1)
            assert dot["cy"] == pytest.approx((90 - row["lat"]) * 10, abs=0.1)
            assert 4 <= dot["px"] <= 16, "a dot should be a few pixels wide"
        assert any("viability: its inputs" in n and "no map" in n for n in grey["noMap"])

        # A scorer serving v1 scores the same readings: each dot takes its score's colour.
        procs.append(lazarus_bg("score", "habitat", env=cli_env(s)))
        wait_until(lambda: scorer_serving(s, version), 60, f"the scorer serving v{version}")
        scored = until(chrome, f"{SITES} scored sites", lambda d: all_scored(map_facts(d)))
        for dot in scored["dots"]:
            assert dot["fill"].startswith("rgb(") and dot["fill"] != UNSCORED, dot
            assert dot["version"] == str(version)
            title = dot["title"].splitlines()
            assert title[0] == dot["site"]
            assert title[1].startswith("P(True) 0.") and "predicted" in title[1], title
            assert title[2].startswith(f"model v{version} · scored "), title
            assert title[3].startswith("lat "), title
        assert "P(True)" in scored["legend"] and "no score yet" in scored["legend"]
        assert f"{SITES} sites · {SITES} scored by v{version}" in scored["summary"]

        card = chrome.find_element(By.ID, "sites")
        chrome.execute_script("arguments[0].scrollIntoView()", card)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert card.screenshot(str(ARTIFACTS / "dashboard-map.png"))
    finally:
        outputs = stop(procs)
    for name, proc in zip(outputs, procs, strict=True):
        assert proc.returncode == 0, f"`lazarus {name}` exited {proc.returncode}:\n{outputs[name]}"
