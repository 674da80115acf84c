"""deploy/prometheus/: the alert rules pass their promtool tests, read only metrics Lazarus
exports, and each alert has its tests and its entry in docs/operations.md.

promtool is Debian's package `prometheus` (scripts/test installs it as root). Without it these
tests fail and say how to install it: they are never skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.exported_metrics import ROOT, exported, names_in

pytestmark = pytest.mark.timeout(60)

PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts_test.yml"
CONFIG = PROMETHEUS / "prometheus.yml"
OPERATIONS = ROOT / "docs" / "operations.md"

MISSING_PROMTOOL = (
    "promtool not found: install Debian's package with `apt-get install -y prometheus` "
    "(scripts/test does this when run as root)"
)


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    """promtool run in `cwd`; fails the test when it is not installed."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(MISSING_PROMTOOL)
    return subprocess.run([path, *args], cwd=cwd, capture_output=True, text=True, timeout=50)


def alerts() -> list[str]:
    return re.findall(r"^\s*- alert: (\w+)\s*$", RULES.read_text(), re.MULTILINE)


def test_the_rules_pass_their_promtool_tests() -> None:
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_rules_and_the_example_config_are_valid() -> None:
    rules = promtool("check", "rules", RULES.name)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in rules.stdout
    config = promtool("check", "config", CONFIG.name)
    assert config.returncode == 0, config.stdout + config.stderr


def test_every_metric_the_rules_and_their_tests_name_is_exported() -> None:
    known = exported()
    for path in (RULES, RULE_TESTS):
        used = names_in(path.read_text())
        assert used, f"{path.name} names no lazarus_ metric"
        unknown = sorted(used - known)
        assert not unknown, f"{path.name} reads metrics Lazarus does not export: {unknown}"


def test_every_alert_fires_in_a_test_and_stays_quiet_in_another() -> None:
    """promtool compares the whole list of alerts at each check, so a check that expects one
    alert also shows it quiet for the other series of its test; `exp_alerts: []` shows it
    quiet before its `for` has passed or once the cause is gone."""
    tests = RULE_TESTS.read_text()
    for alert in alerts():
        fires = re.search(rf"alertname: {alert}\n\s*exp_alerts:\n\s*- exp_labels:", tests)
        quiet = re.search(rf"alertname: {alert}\n\s*exp_alerts: \[\]", tests)
        assert fires, f"no test where {alert} fires"
        assert quiet, f"no test where {alert} stays quiet"


def test_every_alert_has_its_runbook_in_the_operations_guide() -> None:
    rules = RULES.read_text()
    headings = re.findall(r"^#### (Lazarus\w+)$", OPERATIONS.read_text(), re.MULTILINE)
    for alert in alerts():
        assert alert in headings, f"docs/operations.md has no '#### {alert}' section"
        assert f"runbook: docs/operations.md#{alert.lower()}" in rules, alert


def test_promtool_would_catch_a_broken_rule(tmp_path: Path) -> None:
    """The promtool tests do test the rules: the same tests against a rule that no longer joins
    on the inputs flowing fail."""
    broken = RULES.read_text().replace(
        '> 900\n          and on (role)\n          sum by (role) (rate(lazarus_events_in_total{role=~"scorer:.+"}[5m])) > 0',
        "> 900",
    )
    assert broken != RULES.read_text()
    (tmp_path / RULES.name).write_text(broken)
    (tmp_path / RULE_TESTS.name).write_text(RULE_TESTS.read_text())
    result = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "LazarusModelStale" in result.stdout + result.stderr


def test_the_drift_alert_catches_a_models_first_drift(tmp_path: Path) -> None:
    """A trainer exports `lazarus_drift_total` once it counts a drift, so the series starts at
    1 and increase() alone never sees the first drift: the same tests fail without the rule's
    second term (a counter above 0 that was not there 10 minutes earlier)."""
    second_term = (
        "\n          or\n          sum by (model, source) (\n"
        '            lazarus_drift_total{source=~"prequential|served"}\n'
        "              unless lazarus_drift_total offset 10m\n"
        "          ) > 0"
    )
    assert second_term in RULES.read_text()
    (tmp_path / RULES.name).write_text(RULES.read_text().replace(second_term, ""))
    (tmp_path / RULE_TESTS.name).write_text(RULE_TESTS.read_text())
    result = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "LazarusDriftDetected, time: 8m" in result.stdout + result.stderr
