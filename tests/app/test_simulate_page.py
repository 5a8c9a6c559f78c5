"""AppTest smoke tests of the Simulate page, routed through app.py like the real app."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mars_core import paths

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
LOBSTER_DIR = REPO.parent / "shared" / "data" / "lobster"
SIMULATE = "pages/simulate.py"


@pytest.fixture
def runs_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    if not LOBSTER_DIR.is_dir():
        pytest.skip(f"the LOBSTER sample data is not at {LOBSTER_DIR}")
    monkeypatch.setenv("MARS_DATA_DIR", str(LOBSTER_DIR))
    monkeypatch.setenv("MARS_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(SIMULATE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def short_run(at: AppTest, symbol: str = "GOOG") -> AppTest:
    at.selectbox(key="sim_symbol").select(symbol)
    at.number_input(key="sim_minutes").set_value(1)
    at.number_input(key="sim_rollouts").set_value(2)
    return at


def click_run(at: AppTest) -> AppTest:
    at.button(key="sim_run_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:  # noqa: ANN001 (AppTest element lists)
    return "\n".join(str(e.value) for e in elements)


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


def array(values: object) -> np.ndarray:
    """A trace's data array from Plotly's JSON (plain lists, or base64 typed arrays)."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
    return np.asarray(values)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_page_renders_every_control_with_small_defaults(runs_dir: Path) -> None:
    at = open_page()
    assert at.title[0].value == "Simulate"
    assert at.selectbox(key="sim_symbol").value == "AMZN" and at.selectbox(key="sim_date").value == dt.date(2012, 6, 21)
    assert at.time_input(key="sim_start").value == dt.time(10, 0)
    assert at.number_input(key="sim_minutes").value == 5 and at.number_input(key="sim_rollouts").value == 8
    assert at.number_input(key="sim_seed").value == 0
    background = at.radio(key="sim_background")
    assert background.value == "noise" and background.options == [
        "Noise traders",
        "Replay",
        "Order model (LMM)",
    ]  # shipped
    assert at.toggle(key="sim_paired").value is False and at.toggle(key="sim_paired").disabled  # no orders yet
    assert at.button(key="sim_twap_add") and at.file_uploader(key="sim_orders_upload")
    assert "8 rollouts = 8 simulations of 5 min" in texts(at.caption)
    assert "No runs yet" in texts(at.info) and not at.get("plotly_chart")


def test_lmm_is_listed_but_disabled_without_a_shipped_model(
    runs_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path / "no-models")
    at = open_page()
    assert at.radio(key="sim_background").options[2] == "Order model (LMM) — not available"
    at.radio(key="sim_background").set_value("lmm").run()
    assert "needs a trained order model" in texts(at.info) and at.button(key="sim_run_button").disabled


def test_a_short_run_completes_and_draws_its_charts(runs_dir: Path) -> None:
    at = click_run(short_run(open_page()))
    assert not at.error
    progress = at.get("progress")[0]
    assert progress.value == 100 and progress.text.startswith("Finished: 2 of 2 simulations")
    [run] = list(runs_dir.iterdir())
    assert run.name.endswith(tuple("0123456789abcdef")) and "-GOOG-" in run.name
    assert at.selectbox(key="sim_run").value == run.name
    assert chart_titles(at) == [
        "GOOG 2012-06-21 — mid price: real day vs 2 simulated futures (noise)",
        "GOOG 2012-06-21 — spread and traded volume per minute",
    ]
    fan = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    names = [t.get("name") for t in fan]
    assert "Simulated: median of 2 rollouts" in names and "Real day (LOBSTER)" in names
    median = array(next(t for t in fan if t.get("name") == "Simulated: median of 2 rollouts")["y"])
    assert len(median) == 61 and 400 < median.mean() < 700  # a 1 s grid over 1 min, in dollars (GOOG ~ $570)
    values = metrics(at)
    assert values["Simulations"] == "2 / 2" and int(values["Orders"].replace(",", "")) > 0
    assert [b.proto.label for b in at.get("download_button")] == [
        "Whole run (Parquet, zip)",
        "Rollout as LOBSTER CSVs (zip)",
    ]

    # the same settings again: the deterministic run is reused, not redone
    at = click_run(at)
    assert "already run" in texts(at.info) and len(list(runs_dir.iterdir())) == 1
    assert len(at.get("plotly_chart")) == 2

    # a new session reopens it from the runs folder with the same charts
    again = open_page()
    assert again.selectbox(key="sim_run").value == run.name and not again.get("progress")
    assert chart_titles(again) == chart_titles(at) and metrics(again)["Orders"] == values["Orders"]


def test_a_paired_twap_run_shows_the_effect_and_the_execution(runs_dir: Path) -> None:
    at = short_run(open_page())
    at.button(key="sim_twap_add").click().run()
    assert at.toggle(key="sim_paired").value is True  # on by default once there is an agent
    at.number_input(key="sim_twap_1_volume").set_value(400)
    at = click_run(at)
    assert not at.error
    assert [t.split(" — ")[1] for t in chart_titles(at)] == [
        "mid price: real day vs 2 simulated futures (noise)",
        "effect of your orders on the mid (paired rollouts)",
        "spread and traded volume per minute",
    ]
    values = metrics(at)
    assert values["Simulations"] == "4 / 4" and values["TWAP fulfillment"].endswith("%")
    assert values["VWAP vs arrival"].endswith("bps") and values["Effect at the end"].endswith("bps")
    execution = at.dataframe[-1].value
    assert execution["Agent"].tolist() == ["TWAP 1 · L1-P0.9"] and execution["Volume (sh)"].tolist() == [400]
    assert "TWAP buy 400 L1-P0.9 · paired" in at.selectbox(key="sim_run").format_func(at.selectbox(key="sim_run").value)


def test_a_bad_injected_order_is_named_by_its_row_and_the_table_is_kept(runs_dir: Path) -> None:
    at = short_run(open_page())
    csv = b"time,action,side,price,qty,client_id\n10:00:20,market,buy,,100,\n10:00:30,limit,sell,580.5,-5,s1\n"
    at.file_uploader(key="sim_orders_upload").set_value(("orders.csv", csv, "text/csv")).run()
    assert at.toggle(key="sim_paired").value is True
    assert "Injected orders, row 2: qty must be positive, was -5" in texts(at.error)  # as typed: no Run needed
    assert at.button(key="sim_run_button").disabled
    assert len(at.session_state["sim_orders"]) == 2  # the user's table is kept to fix
    assert at.number_input(key="sim_minutes").value == 1  # and so are the other inputs
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_a_start_outside_the_day_and_zero_rollouts_are_errors(runs_dir: Path) -> None:
    at = short_run(open_page())
    at.time_input(key="sim_start").set_value(dt.time(17, 0)).run()
    assert "start 17:00:00 is outside GOOG 2012-06-21's trading window 09:30:00-" in texts(at.error)
    assert at.button(key="sim_run_button").disabled
    at.time_input(key="sim_start").set_value(dt.time(10, 0))
    at.number_input(key="sim_rollouts").set_value(0).run()
    assert "Rollouts: choose between 1 and 64 (was 0)." in texts(at.error)
    assert at.button(key="sim_run_button").disabled
    assert at.time_input(key="sim_start").value == dt.time(10, 0)
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_an_unreadable_orders_file_leaves_the_table_alone(runs_dir: Path) -> None:
    at = open_page()
    at.file_uploader(key="sim_orders_upload").set_value(
        ("o.csv", b"time,action,side\n10:00,limit,buy\n", "text/csv")
    ).run()
    assert "o.csv: missing column(s) qty" in texts(at.error) and "The table was left as it was" in texts(at.error)
    assert at.session_state["sim_orders"].empty


def test_the_form_survives_a_visit_to_another_page(runs_dir: Path) -> None:
    at = short_run(open_page())
    at.button(key="sim_twap_add").click().run()
    at.slider(key="sim_twap_1_pvr").set_value(0.5).run()
    at.switch_page("pages/home.py").run()
    at.switch_page(SIMULATE).run()
    assert not at.exception
    assert at.selectbox(key="sim_symbol").value == "GOOG" and at.number_input(key="sim_rollouts").value == 2
    assert at.slider(key="sim_twap_1_pvr").value == 0.5 and "L1-P0.5" in texts(at.markdown)


def test_a_twap_beyond_the_market_is_warned_about_and_its_near_zero_fill_explained(runs_dir: Path) -> None:
    at = short_run(open_page())
    at.button(key="sim_twap_add").click().run()
    at.number_input(key="sim_twap_1_volume").set_value(1_000_000_000).run()
    warning = texts(at.warning)
    assert "TWAP 1 wants 1,000,000,000 shares in 1 min:" in warning and "expect a fulfilment near 0%" in warning
    assert not at.button(key="sim_run_button").disabled  # allowed: a warning, not an error
    at = click_run(at)
    values = metrics(at)
    assert values["TWAP fulfillment"] == "0.0%"
    note = texts(at.caption)
    assert "Fulfilment near 0%: the TWAP agents executed" in note and "of the 1,000,000,000 shares they wanted" in note
