"""The Forecast page: one moment's forecast from a few noise futures, and the scoreboard."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from test_pages_apptest import APP, LOBSTER_DIR


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, tmp_path) -> AppTest:
    if not LOBSTER_DIR.is_dir():
        pytest.skip(f"the LOBSTER sample data is not at {LOBSTER_DIR}")
    monkeypatch.setenv("MARS_DATA_DIR", str(LOBSTER_DIR))
    monkeypatch.setenv("MARS_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/forecast.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_moment_is_forecast_with_probabilities_per_horizon(page: AppTest) -> None:
    page.radio(key="fc_bg").set_value("noise")
    page.number_input(key="fc_rollouts").set_value(4)
    page.text_input(key="fc_at").set_value("15:10")
    page.button(key="fc_run").click().run()
    assert not page.exception, [e.value for e in page.exception]
    table = page.dataframe[0].value
    assert list(table["horizon"]) == ["1 min", "2 min", "3 min", "4 min", "5 min"]
    shares = table[["P(down)", "P(flat)", "P(up)"]].to_numpy()
    assert shares.sum(axis=1) == pytest.approx([1.0] * 5) and ((shares * 4) % 1 == 0).all()
    assert set(table["forecast"]) <= {"down", "flat", "up"} and set(table["actual"]) <= {"down", "flat", "up"}
    assert any("4 rollouts in" in c.value for c in page.caption)


def test_a_moment_without_data_after_it_is_explained(page: AppTest) -> None:
    page.radio(key="fc_bg").set_value("noise")
    page.text_input(key="fc_at").set_value("15:58")
    page.button(key="fc_run").click().run()
    assert not page.exception
    assert "leaves no 5 minutes" in page.error[0].value
