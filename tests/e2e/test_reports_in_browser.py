"""The results report and the training report, laid out by headless Chromium: the plots and
tables are there and fit a laptop's window (1280 px) without sideways scrolling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers.browser import layout
from tests.helpers.uplift import planted
from training import results_html
from training.cli import main as cli
from training.dataset import plan_timeline, synthetic_rows
from training.report import write_report
from training.results_cmd import compute
from training.synthetic_ledger import Planted, ledger_items
from training.train import train_all

END = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


def _fits(page: dict) -> None:
    assert page["scroll_width"] <= page["viewport"], "the page scrolls sideways"
    for table in page["tables"]:
        assert table["right"] <= page["viewport"] + 1 or table["clipped"] is False
        assert table["rows"] >= 2


def test_results_report_shows_its_plots_and_tables_in_a_browser(tmp_path: Path) -> None:
    (document,) = compute(ledger_items(8_000, END, Planted(), seed=4), None, END)
    page = tmp_path / "latest.html"
    page.write_text(results_html.render(document), encoding="utf-8")
    shown = layout(page)
    assert len(shown["plots"]) == 3  # lift on each metric over time, and the arm sizes
    for plot in shown["plots"]:
        assert plot["width"] > 400 and plot["right"] <= shown["viewport"] and plot["height"] > 150
        assert plot["marks"] > 10  # lines, bands, axes: something is drawn
    assert len(shown["tables"]) == 2
    _fits(shown)
    narrow = layout(page, width=800)  # a smaller window: the plots shrink with it
    assert all(plot["right"] <= narrow["viewport"] for plot in narrow["plots"])


@pytest.mark.slow
def test_training_report_shows_its_plots_and_tables_in_a_browser(tmp_path: Path) -> None:
    end = datetime(2026, 11, 1, tzinfo=UTC)
    timeline = plan_timeline(end - timedelta(days=70), end)
    rows, truth = synthetic_rows(1500, 70, 11, end, timeline.cutoffs, timeline.horizon)
    page = write_report(train_all(rows, timeline, tmp_path, truth), tmp_path)
    shown = layout(page)
    assert len(shown["images"]) == 3 and all(image["loaded"] for image in shown["images"])  # two models, segments
    assert all(image["right"] <= shown["viewport"] for image in shown["images"])
    assert len(shown["tables"]) >= 3
    _fits(shown)


def test_uplift_report_shows_its_qini_curves_and_table_in_a_browser(tmp_path: Path) -> None:
    scenario = planted(tmp_path, 1_200, END - timedelta(days=40))
    argv = ["uplift", "--ledger-file", str(scenario.ledger), "--campaigns", str(scenario.campaigns), "--source",
            str(scenario.lake), "--as-of", scenario.as_of.isoformat(), "--out", str(tmp_path / "uplift"), "--workers", "1"]  # fmt: skip
    assert cli(argv) == 0
    shown = layout(tmp_path / "uplift" / "report.html")
    assert len(shown["plots"]) == 1 and shown["plots"][0]["marks"] > 10 and shown["plots"][0]["width"] > 400
    assert len(shown["tables"]) == 1
    _fits(shown)
