"""A metric with nothing learned shows "–" (null in JSON), never river's 0.0 for nothing."""

from __future__ import annotations

from rich.console import Console

from lazarus.cli.models_render import fmt, signed
from lazarus.cli.status_render import models_table
from lazarus.dashboard.models_view import Pointers, VersionInfo, version_row
from lazarus.metric_text import NOTHING, learned, metric_text


def drawn(table: object) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_nothing_learned_means_no_metric() -> None:
    assert learned({"Accuracy": 0.0, "LogLoss": 0.0}, 0) == {"Accuracy": None, "LogLoss": None}
    assert learned({"MAE": 0.0}, None) == {"MAE": None}
    assert learned({"MAE": 0.0, "R2": float("nan")}, 5) == {"MAE": 0.0, "R2": None}


def test_metric_text_is_a_dash_for_none_and_the_value_otherwise() -> None:
    assert NOTHING == "–"
    assert (metric_text(None), metric_text(0.5), metric_text(0.912, 3)) == ("–", "0.5000", "0.912")
    assert (fmt(None), signed(None), signed(-0.002)) == ("–", "–", "-0.0020")


def test_status_models_table_shows_a_dash_for_a_model_that_learned_nothing() -> None:
    model = {
        "model": "habitat",
        "current": 1,
        "latest": 1,
        "pinned": None,
        "n_learned": 0,
        "staleness_s": 5.0,
        "metrics": learned({"Accuracy": 0.0}, 0),
        "served_quality": {"served": {"Accuracy": None}, "served_worse_by": {}},
    }
    text = drawn(models_table([model]))
    assert "Accuracy –" in text and "Accuracy – (–)" in text and "0.000" not in text


def test_dashboard_version_row_gives_null_until_something_is_learned() -> None:
    pointers = Pointers(current=1, latest=2, pinned=None)
    empty = VersionInfo(1, 0.0, 0, {"Accuracy": 0.0}, {"Accuracy": 0.0})
    some = VersionInfo(2, 0.0, 40, {"Accuracy": 0.0}, {"Accuracy": 0.25})
    row = version_row(1, pointers, True, empty, None, 0)
    assert row["prequential"] == {"Accuracy": None} and row["rolling"] == {"Accuracy": None}
    later = version_row(2, pointers, True, some, None, 0)
    assert later["prequential"] == {"Accuracy": 0.0} and later["rolling"] == {"Accuracy": 0.25}
