"""The Detection page: a short span scored from a few noise futures, with and without an injected episode."""

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
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("pages/detection.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _score(page: AppTest, inject: bool) -> AppTest:
    page.radio(key="dt_bg").set_value("noise")
    page.number_input(key="dt_rollouts").set_value(2)
    page.text_input(key="dt_from").set_value("14:40")
    page.text_input(key="dt_to").set_value("14:46")
    page.checkbox(key="dt_inject").set_value(inject)
    page.selectbox(key="dt_kind").set_value("quote_stuffing")
    page.text_input(key="dt_at").set_value("14:43:05")
    page.button(key="dt_run").click().run()
    assert not page.exception, [e.value for e in page.exception]
    return page


def test_an_injected_quote_stuffing_window_is_flagged(page: AppTest) -> None:
    _score(page, inject=True)
    flagged = next(m.value for m in page.markdown if m.value.startswith("**Flagged windows:**"))
    assert "14:43:00 (" in flagged
    assert page.selectbox(key="dt_win").value == flagged.split("** ")[1].split(" (")[0]
    rows = page.dataframe[0].value
    assert list(rows["row"])[:2] == ["Spread", "Visible depth"] and rows["MarS"].between(0, 1).all()


def test_a_span_too_short_is_explained(page: AppTest) -> None:
    page.text_input(key="dt_from").set_value("14:40")
    page.text_input(key="dt_to").set_value("14:41")
    page.radio(key="dt_bg").set_value("noise")
    page.button(key="dt_run").click().run()
    assert not page.exception
    assert "fewer than two" in page.error[0].value


def test_a_span_that_is_not_a_time_is_named_without_pydantics_wording(page: AppTest) -> None:
    page.text_input(key="dt_from").set_value("abc")
    page.radio(key="dt_bg").set_value("noise")
    page.button(key="dt_run").click().run()
    assert not page.exception
    message = page.error[0].value
    assert "detection: span: time 'abc' is not HH:MM or HH:MM:SS" in message  # the field named once
    assert "validation error" not in message and "errors.pydantic.dev" not in message
