"""`lazarus dashboard` beside a running scorer, looked at in a real headless Chromium.

Needs Debian's `chromium` and `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver);
`scripts/test` installs them when run as root. Without them this test fails and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from lazarus.embedded.ports import free_port
from lazarus.groups import group_name
from lazarus.heartbeat import read_heartbeats
from lazarus.quality_store import write_quality
from lazarus.settings import Settings
from tests.conftest import REPO
from tests.integration.cli import cli_env, lazarus_bg
from tests.integration.scorerkit import ModelMaker, send_sensors, wait_until
from tests.integration.trainerkit import with_keys

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("LAZARUS_TEST_ARTIFACTS") or REPO / "artifacts")
"""Where the browser tests save screenshots (artifacts/ is git-ignored)."""
PAGE_TIMEOUT_S = 90


@pytest.fixture
def chrome() -> Iterator[webdriver.Chrome]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: the dashboard test drives a real browser. "
            "Install Debian's chromium and chromium-driver packages "
            "(sudo apt-get install chromium chromium-driver; scripts/test does it as root)."
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    except WebDriverException as exc:
        pytest.fail(f"chromium did not start under chromedriver: {exc.msg}")
    try:
        yield driver
    finally:
        driver.quit()


def stop(procs: list[subprocess.Popen[str]]) -> dict[str, str]:
    """Terminate each process, wait for it, and return what it printed (for failure messages)."""
    out = {}
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
        try:
            text, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            text, _ = proc.communicate(timeout=10)
        out[" ".join(proc.args[3:5]) if isinstance(proc.args, list) else str(proc.pid)] = text or ""
    return out


def wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"the dashboard exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                body: dict[str, Any] = json.load(response)
                return body
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, f"{url}/healthz did not answer in {timeout} s"
            time.sleep(0.1)


def until(driver: webdriver.Chrome, what: str, check: Callable[[webdriver.Chrome], Any]) -> Any:
    """WebDriverWait, failing with what the page last received instead of a bare timeout."""
    try:
        return WebDriverWait(driver, PAGE_TIMEOUT_S, poll_frequency=0.2).until(check)
    except TimeoutException:
        state = driver.execute_script("return window.lazarusState || null")
        summary = (
            {k: state[k] for k in ("sources", "roles", "lag", "models") if k in state}
            if state
            else "no state received"
        )
        pytest.fail(f"the page never showed {what}; it last had: {json.dumps(summary)[:3000]}")


def model_shown(page: dict[str, Any]) -> dict[str, Any] | None:
    """The page once it shows both versions on the timeline (what the test then asserts)."""
    return page if len(page["versions"]) == 2 and page["timeline"] == 2 else None


def served_shown(page: dict[str, Any]) -> dict[str, Any] | None:
    """The page once it shows v2's served quality, how much worse it is, the scores not judged,
    the model's figure over all versions, and no "no served" note."""
    served = any(
        v["version"] == "2" and "+0.0500" in v["text"] and "30" in v["text"]
        for v in page["versions"]
    )
    overall = page["servedOverall"] or ""
    shown = served and "Accuracy 0.7000 (worse by +0.0500)" in overall
    return page if shown and page["qualityNote"] is None else None


LAG_POINTS = """
const chart = window.lazarusCharts && window.lazarusCharts.lag;
if (!chart) return null;
const group = arguments[0];
const ds = chart.data.datasets.find((d) => d.label === group);
return {labels: chart.data.labels.length,
        points: ds ? ds.data.filter((v) => v !== null).length : 0,
        last: ds && ds.data.length ? ds.data[ds.data.length - 1] : null};
"""


def feeding(s: Settings) -> tuple[threading.Thread, threading.Event]:
    """Small batches of readings until the event is set: a steady, measurable throughput."""
    stop = threading.Event()

    def feed() -> None:
        seed = 1000
        while not stop.is_set():
            send_sensors(s, 40, seed=seed)
            seed += 1
            stop.wait(0.2)

    thread = threading.Thread(target=feed, name="feeder", daemon=True)
    thread.start()
    return thread, stop


def full_page_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1400, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        assert driver.save_screenshot(str(path))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


PAGE_FACTS = """
const text = (el) => (el ? el.innerText.trim() : null);
const model = document.querySelector('#models section[data-model="habitat"]');
const scorer = [...document.querySelectorAll('#roles tr[data-role="scorer:habitat"]')];
return {
  scorerVersions: scorer.map((r) => text(r.querySelector("td.model-version"))),
  roles: text(document.getElementById("roles")),
  problemsHidden: document.getElementById("problems").hidden,
  current: model && text(model.querySelector(".current-version")),
  versions: model ? [...model.querySelectorAll("table.versions tbody tr[data-version]")].map(
    (r) => ({version: r.dataset.version, current: r.classList.contains("current"), text: text(r)})) : [],
  qualityNote: model && text(model.querySelector(".quality-note")),
  servedOverall: model && text(model.querySelector(".served-overall")),
  timeline: model ? model.querySelectorAll("ol.timeline li").length : 0,
};
"""
"""What the page shows, read in one script: the page redraws every second, so reading element
by element could straddle a redraw."""


def facts(driver: webdriver.Chrome) -> dict[str, Any]:
    result: dict[str, Any] = driver.execute_script(PAGE_FACTS)
    return result


def scorer_busy(driver: webdriver.Chrome) -> bool:
    """The throughput chart has a bar above 0 for the scorer."""
    return bool(
        driver.execute_script(
            "const c = window.lazarusCharts.throughput.data;"
            "const i = c.labels.indexOf('scorer:habitat');"
            "return i >= 0 && c.datasets[0].data[i] > 0"
        )
    )


def scorer_serving(s: Settings, version: int) -> bool:
    client = redis.Redis.from_url(s.redis_url_value)
    try:
        beats = read_heartbeats(client, s.redis_key_prefix)
    finally:
        client.close()
    return any(
        b.get("role") == "scorer:habitat" and b.get("model_version") == str(version) for b in beats
    )


@pytest.mark.timeout(240)
def test_dashboard_shows_lag_roles_and_versions_in_a_browser(
    settings: Settings, topics: list[str], chrome: webdriver.Chrome
) -> None:
    s = with_keys(settings)
    maker = ModelMaker(s)
    maker.publish()
    current = maker.publish().version
    assert current == 2
    procs: list[subprocess.Popen[str]] = []
    feed: tuple[threading.Thread, threading.Event] | None = None
    try:
        procs.append(lazarus_bg("score", "habitat", env=cli_env(s)))
        wait_until(lambda: scorer_serving(s, current), 60, "the scorer serving v2")
        send_sensors(s, 300)

        port = free_port()
        dashboard = lazarus_bg("dashboard", "--port", str(port), "--interval", "1", env=cli_env(s))
        procs.append(dashboard)
        url = f"http://127.0.0.1:{port}"
        assert wait_healthy(url, dashboard)["status"] == "ok"

        chrome.get(url)
        scorer_group = group_name(s.topic_prefix, "scorer", "habitat")
        # Lag: at least two samples of the scorer's group, and it catches up with the 300 readings.
        until(
            chrome,
            "two lag samples of the scorer group",
            lambda d: (d.execute_script(LAG_POINTS, scorer_group) or {}).get("points", 0) >= 2,
        )
        until(
            chrome,
            "the scorer group caught up (lag 0)",
            lambda d: (d.execute_script(LAG_POINTS, scorer_group) or {}).get("last") == 0,
        )
        # Roles: the scorer, serving the current version.
        until(
            chrome,
            "the scorer serving v2 in the role table",
            lambda d: facts(d)["scorerVersions"] == [f"v{current}"],
        )
        # Throughput: a steady feed (on until the end) shows as the scorer's events/s.
        feed = feeding(s)
        until(chrome, "the scorer's events/s above 0", scorer_busy)
        # The model: current v2, both versions with their prequential metrics, no served outcomes.
        page = until(chrome, "both versions and their timeline", lambda d: model_shown(facts(d)))
        assert page["current"] == f"v{current}"
        assert [(v["version"], v["current"]) for v in page["versions"]] == [
            ("2", True),
            ("1", False),
        ]
        assert page["qualityNote"] == "no served outcomes yet"
        assert page["timeline"] == 2
        assert "scorer:habitat" in page["roles"] and "serving" in page["roles"]
        assert page["problemsHidden"], "the page reports a problem with Redis or Kafka"

        # Served quality, once measured, sits beside the prequential metric, with how much worse.
        client = redis.Redis.from_url(s.redis_url_value)
        write_quality(
            client,
            s.redis_key_prefix,
            "habitat",
            [
                {
                    "version": current,
                    "n": 120,
                    "learned_before_served": 30,
                    "position_unknown": 0,
                    "served": {"Accuracy": 0.70},
                    "prequential": {"Accuracy": 0.75},
                    "served_worse_by": {"Accuracy": 0.05},
                    "segments": {},
                    "updated_at": time.time(),
                }
            ],
            {
                "n": 120,
                "learned_before_served": 30,
                "position_unknown": 0,
                "served": {"Accuracy": 0.70},
                "prequential": {"Accuracy": 0.75},
                "served_worse_by": {"Accuracy": 0.05},
                "versions": [current],
                "updated_at": time.time(),
            },
        )
        client.close()
        page = until(
            chrome,
            "the served quality of v2",
            lambda d: served_shown(facts(d)),
        )
        assert page["qualityNote"] is None
        assert "0.7000" in page["versions"][0]["text"]

        until(chrome, "the scorer's events/s above 0", scorer_busy)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        full_page_screenshot(chrome, ARTIFACTS / "dashboard.png")
    finally:
        if feed is not None:
            feed[1].set()
            feed[0].join(30)
        outputs = stop(procs)
    for name, proc in zip(outputs, procs, strict=True):
        assert proc.returncode == 0, f"`lazarus {name}` exited {proc.returncode}:\n{outputs[name]}"
