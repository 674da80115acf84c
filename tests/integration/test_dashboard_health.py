"""The dashboard's health banner in a real browser: a scorer that refused a snapshot version
in the last 10 minutes (its heartbeat, in the real Redis) turns the banner red with the reason. A screenshot of the
top of the page lands in $LAZARUS_TEST_ARTIFACTS (default artifacts/) as dashboard-health.png."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
import redis
from selenium import webdriver

from lazarus.embedded.ports import free_port
from lazarus.heartbeat import HeartbeatThread
from lazarus.settings import Settings
from tests.integration import test_dashboard
from tests.integration.cli import cli_env, lazarus_bg
from tests.integration.test_dashboard import ARTIFACTS, stop, until, wait_healthy

chrome = test_dashboard.chrome

BANNER = """
const box = document.getElementById("health");
const lag = document.getElementById("lag-chart");
return {
  state: box.dataset.state || null,
  headline: box.querySelector("#health-state").innerText,
  reasons: [...box.querySelectorAll("li")].map((li) => ({code: li.dataset.code, text: li.innerText})),
  colour: getComputedStyle(box).borderLeftColor,
  above: box.getBoundingClientRect().bottom <= lag.getBoundingClientRect().top,
};
"""


def banner(driver: webdriver.Chrome) -> dict[str, Any]:
    shown: dict[str, Any] = driver.execute_script(BANNER)
    return shown


@pytest.mark.timeout(180)
def test_the_banner_says_failing_and_why_when_a_scorer_refuses_versions(
    settings: Settings, topics: list[str], chrome: webdriver.Chrome
) -> None:
    client = redis.Redis.from_url(settings.redis_url_value)
    refused_at = time.time() - 30
    beat = HeartbeatThread(
        client,
        settings.redis_key_prefix,
        "scorer:habitat",
        "test-host-1",
        lambda: {
            "refused": 2,
            "last_refused_at": refused_at,
            "model_version": 1,
            "events_in": 10,
            "scored": 10,
        },
        interval=1.0,
    )
    beat.start()
    procs: list[subprocess.Popen[str]] = []
    try:
        port = free_port()
        env = cli_env(settings)
        procs.append(lazarus_bg("dashboard", "--port", str(port), "--interval", "1", env=env))
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, procs[0])
        chrome.get(url)
        shown = until(
            chrome,
            "a failing health banner",
            lambda d: (b := banner(d))["state"] == "failing" and b["reasons"] and b,
        )
        assert shown["headline"].startswith("health: failing")
        refusing = [r for r in shown["reasons"] if r["code"] == "scorer_refusing"]
        assert refusing, shown
        assert "refused a snapshot version" in refusing[0]["text"], shown
        assert "keeps serving v1" in refusing[0]["text"], shown
        assert shown["colour"] == "rgb(192, 57, 43)"  # --bad
        assert shown["above"], "the banner is not at the top of the page"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert chrome.save_screenshot(str(ARTIFACTS / "dashboard-health.png"))  # the top
    finally:
        beat.stop()
        client.close()
        outputs = stop(procs)
    for name, proc in zip(outputs, procs, strict=True):
        assert proc.returncode == 0, f"`lazarus {name}` exited {proc.returncode}:\n{outputs[name]}"
