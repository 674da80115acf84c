"""What the CLI prints for people: one `error:` prefix, tables not cut when piped, role names
never cut, and producers' events/s counting events, not their outcomes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import click
import pytest
import redis
from rich.console import Console

from lazarus.cli.context import UNCUT_WIDTH, make_console
from lazarus.cli.main import cli, main
from lazarus.cli.status_render import roles_table
from lazarus.kafka.producer import DeliveryCounts
from lazarus.producers.app import Report, feed_beat
from lazarus.producers.feed import FeedStats
from lazarus.rates import RateTracker
from lazarus.statusview import StatusView


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_a_click_failure_is_one_error_line_as_lazarus_prints_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @click.command()
    def failing() -> None:
        raise click.ClickException("no snapshots of 'x'")

    monkeypatch.setitem(cli.commands, "failing", failing)
    assert run_main(["failing"], capsys) == (1, "", "error: no snapshots of 'x'\n")


def test_a_usage_error_keeps_click_usage_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["models", "history"], capsys)
    assert code == 2 and "Usage: lazarus models history" in err
    assert "Error: Missing argument 'MODEL'" in err


def test_output_to_a_pipe_is_not_cut_to_80_columns() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    result = subprocess.run(
        [sys.executable, "-m", "lazarus", "config", "show"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in env.items() if not k.startswith("LAZARUS_")},
    )
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "LAZARUS_SCORER_POLL" in line)
    assert "(they swap on notifications at once)." in row and len(row) > 120


def test_a_console_to_a_pipe_is_wide_unless_columns_say(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert make_console().width == UNCUT_WIDTH
    monkeypatch.setenv("COLUMNS", "132")
    assert make_console().width == 132


def role(name: str, instance: str) -> dict[str, Any]:
    return {
        "role": name,
        "instance": instance,
        "state": "running",
        "model_version": "3",
        "events_in": "1000",
        "scored": None,
        "events_out": None,
        "outcomes_out": None,
        "dead_lettered": "0",
        "metrics_url": "http://127.0.0.1:40001/metrics",
        "unjoined_expired": None,
    }


def test_role_and_instance_are_never_cut_in_status() -> None:
    roles = [role("scorer:habitat_occupancy", f"a-long-host-name-{pid}") for pid in (4101, 4102)]
    out = io.StringIO()
    Console(file=out, width=70).print(roles_table(roles))
    for r in roles:
        assert r["instance"] in out.getvalue()
    assert out.getvalue().count("scorer:habitat_occupancy") == 2


def test_worker_names_are_never_cut_in_the_up_table() -> None:
    names = ("producer:sensors", "scorer:habitat_occupancy#1", "scorer:habitat_occupancy#2")
    children = [
        SimpleNamespace(
            spec=SimpleNamespace(name=n, group=None, topics=()),
            proc=SimpleNamespace(pid=1000 + i),
            state="running",
        )
        for i, n in enumerate(names)
    ]
    nothing = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    view = StatusView(children, nothing, "lazarus", {}, "")  # type: ignore[arg-type]
    try:
        out = io.StringIO()
        Console(file=out, width=60).print(view.render(3.0))
    finally:
        view.close()
    for name in names:
        assert name in out.getvalue()


def test_producer_events_per_second_count_events_not_outcomes() -> None:
    stats = FeedStats(events=0, outcomes=0)
    tracker = RateTracker()
    rates = []
    for second in range(3):  # --rate 200 with a label delay 0: 200 events and 200 outcomes/s
        stats.events, stats.outcomes = 200 * second, 200 * second
        beat = {k: str(v) for k, v in feed_beat(stats, DeliveryCounts(sent=400 * second)).items()}
        beat.update(role="producer:sensors", instance="h-1", updated_at=str(1000.0 + second))
        rates.append(tracker.update([beat])[("producer:sensors", "h-1")])
    assert rates == [None, 200.0, 200.0]
    assert feed_beat(stats, DeliveryCounts(sent=800, failed=2)) == {
        "events_out": 400,
        "outcomes_out": 400,
        "acked": 798,
        "failed": 2,
    }


def test_the_report_gives_events_and_outcomes_apart_with_their_rates() -> None:
    line = Report(400, 380, 780, 780, 0, 0, 2.0).line()
    assert line.startswith("sent 780 (events 400, outcomes 380), acked 780, failed 0")
    assert line.endswith("in 2.0s (200 events/s, 190 outcomes/s)")
