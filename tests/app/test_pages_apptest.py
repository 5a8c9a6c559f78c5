"""AppTest smoke tests for every dashboard page, routed through app.py like the real app."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
LOBSTER_DIR = REPO.parent / "shared" / "data" / "lobster"
MARKET_DATA = "pages/market_data.py"


@pytest.fixture
def lobster_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    if not LOBSTER_DIR.is_dir():
        pytest.skip(f"the LOBSTER sample data is not at {LOBSTER_DIR}")
    monkeypatch.setenv("MARS_DATA_DIR", str(LOBSTER_DIR))
    return LOBSTER_DIR


@pytest.fixture
def empty_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("MARS_DATA_DIR", str(tmp_path))
    return tmp_path


def run_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:  # noqa: ANN001 (AppTest element lists)
    return "\n".join(str(e.value) for e in elements)


# ---- Home ----------------------------------------------------------------------------------------


def test_home_lists_the_sample_datasets(lobster_dir: Path) -> None:
    at = run_app()
    assert at.title[0].value.startswith("MarS")
    table = at.dataframe[0].value.set_index("Symbol")
    assert set(table.index) == {"GOOG", "AMZN"}
    assert table.loc["GOOG", "Levels"] == 10 and table.loc["AMZN", "Levels"] == 5
    assert table.loc["GOOG", "Messages"] == 147_916 and table.loc["AMZN", "Messages"] == 155_935
    assert table.loc["GOOG", "Date"] == "2012-06-21"
    assert table.loc["GOOG", "Time span"].startswith("09:30:00–")
    assert table.loc["GOOG", "Tick size"] == "$0.01"
    assert "order model" in texts([*at.info, *at.success]).lower()
    assert {link.proto.page for link in at.get("page_link")} >= {
        "market_data",
        "simulate",
        "market_impact",
        "impact_factors",
    }


def test_home_and_the_run_pages_say_when_runs_go_to_a_ray_cluster(
    lobster_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert "use this machine's cores" in texts(run_app().caption)
    assert "Ray cluster" not in texts(run_app("pages/simulate.py").caption)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")  # named only: nothing connects before a run starts
    assert "go to the Ray cluster at 10.0.0.5:6379" in texts(run_app().caption)
    for page in ("pages/simulate.py", "pages/market_impact.py", "pages/realism.py"):
        assert "go to the Ray cluster at 10.0.0.5:6379" in texts(run_app(page).caption), page


def test_home_without_data_says_where_it_looked_and_how_to_add_some(empty_dir: Path) -> None:
    at = run_app()
    message = texts(at.info)
    assert "No LOBSTER datasets found" in message
    assert str(empty_dir) in message and "MARS_DATA_DIR" in message
    assert "mars data fetch-samples" in message
    assert not at.dataframe


def test_home_warns_about_unusable_files(empty_dir: Path) -> None:
    (empty_dir / "LOBSTER_SampleFile_XYZ_2012-06-21_5.zip").write_bytes(b"not a zip")
    at = run_app()
    assert "Skipped:" in texts(at.warning) and "LOBSTER_SampleFile_XYZ_2012-06-21_5.zip" in texts(at.warning)


def test_home_reports_a_missing_data_dir_without_a_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MARS_DATA_DIR", str(tmp_path / "nowhere"))
    at = run_app()
    assert "does not exist" in texts(at.error)
    assert "mars data fetch-samples" in texts(at.info)


# ---- Market Data ---------------------------------------------------------------------------------


def test_market_data_draws_charts_and_bars_for_the_default_hour(lobster_dir: Path) -> None:
    at = run_app(MARKET_DATA)
    assert at.selectbox(key="md_symbol").value == "AMZN"  # first in the sorted catalog
    assert (at.time_input(key="md_start").value, at.time_input(key="md_end").value) == (dt.time(9, 30), dt.time(10, 30))
    assert len(at.get("plotly_chart")) == 4
    assert not at.error and not at.warning
    bars = at.dataframe[0].value
    assert len(bars) == 60 and bars["Time"].iloc[0] == "09:30" and bars["Time"].iloc[-1] == "10:29"
    assert (bars["Submits"] > 0).all() and bars["Volume (sh)"].sum() > 0
    assert int(at.metric[0].value.replace(",", "")) > 0  # messages in the window
    assert len(at.get("download_button")) == 1


def test_market_data_switches_symbol(lobster_dir: Path) -> None:
    at = run_app(MARKET_DATA)
    at.selectbox(key="md_symbol").select("GOOG").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 4
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]
    assert titles[-1] == "GOOG 2012-06-21 — visible book depth (10 levels per side)"
    assert all(title.startswith("GOOG 2012-06-21") for title in titles)


def test_market_data_rejects_start_after_end(lobster_dir: Path) -> None:
    at = run_app(MARKET_DATA)
    at.time_input(key="md_start").set_value(dt.time(10, 30))
    at.time_input(key="md_end").set_value(dt.time(10, 0)).run()
    assert not at.exception
    assert "start 10:30 is not before end 10:00" in texts(at.error)
    assert not at.get("plotly_chart")


def test_market_data_warns_for_a_window_outside_the_day(lobster_dir: Path) -> None:
    at = run_app(MARKET_DATA)
    at.time_input(key="md_start").set_value(dt.time(17, 0))
    at.time_input(key="md_end").set_value(dt.time(18, 0)).run()
    assert not at.exception
    assert "No data between 17:00 and 18:00" in texts(at.warning)
    assert not at.get("plotly_chart")


def test_market_data_without_data_explains_how_to_add_some(empty_dir: Path) -> None:
    at = run_app(MARKET_DATA)
    message = texts(at.info)
    assert "No LOBSTER datasets found" in message and str(empty_dir) in message
    assert not at.get("plotly_chart") and not at.selectbox


def test_market_data_warns_about_unusable_files(empty_dir: Path) -> None:
    name = "XYZ_2012-06-21_34200000_57600000_{}_1.csv"
    (empty_dir / name.format("message")).write_text("34200.1,1,1,100,1000000,1\n34200.2,1,2,100,1000100,-1\n")
    (empty_dir / name.format("orderbook")).write_text("1000000,100,-9999999999,0\n")  # one row short
    at = run_app(MARKET_DATA)
    assert "No LOBSTER datasets found" in texts(at.info)
    assert "orderbook has 1 rows but the message file has 2" in texts(at.warning)
    assert not at.get("plotly_chart")


def test_market_data_names_a_day_whose_book_is_bad(empty_dir: Path) -> None:
    # Discovery validates the orderbook's contents too: the day is skipped, its file, line and problem named.
    name = "XYZ_2012-06-21_34200000_57600000_{}_1.csv"
    (empty_dir / name.format("message")).write_text("34300.1,1,1,100,1000000,1\n34300.2,1,2,100,1000100,-1\n")
    (empty_dir / name.format("orderbook")).write_text("9999999999,0,1000000,100\n1000100,-5,1000000,100\n")
    at = run_app(MARKET_DATA)
    assert "No LOBSTER datasets found" in texts(at.info)
    warning = texts(at.warning)
    assert f"{name.format('orderbook')}, line 2" in warning and "sizes must not be negative" in warning
    assert not at.get("plotly_chart") and not at.exception
