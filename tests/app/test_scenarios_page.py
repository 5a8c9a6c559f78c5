"""The Scenarios page (AppTest) and its helpers: prompt -> spec -> filter -> cases, replay curves, feedback on bad
prompts, missing control models, and small controlled / TWAP simulations on the sample days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mars_core.control.scenarios import ScenarioSpec
from mars_core.control.signals import ControlSignal
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments import scenario
from pages import _scenario_ui as ui

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
PAGE = "pages/scenarios.py"
ENSEMBLE = REPO / "assets" / "models" / "ensemble" / "ensemble.pt"


@pytest.fixture(autouse=True)
def sample_data(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("MARS_DATA_DIR", str(data_dir))


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:  # noqa: ANN001 (AppTest element lists)
    return "\n".join(str(e.value) for e in elements)


def cases_frame(at: AppTest):  # noqa: ANN201
    return next(d.value for d in at.dataframe if "Window" in d.value.columns)


# ---- helpers -------------------------------------------------------------------------------------------


def test_twap_truncate_and_spec_fields() -> None:
    twap = scenario.twap_config("sell", 700, 3)
    assert (twap.side, twap.volume, twap.duration_s, twap.interval_s) == (-1, 700, 180.0, 30.0)
    with pytest.raises(ConfigError, match="volume"):
        scenario.twap_config("buy", 0, 3)
    signal = ControlSignal("s", np.log([1.0, 0.999, 0.998, 0.99]))
    short = ui.truncate(signal, 2)
    assert (
        short.minutes == 2
        and short.logret == pytest.approx(np.log([1.0, 0.999, 0.998]))
        and short.meta["truncated_to"] == 2
    )
    assert ui.truncate(signal, 5) is signal
    spec = ScenarioSpec(kind="trend_reversal", direction="down_up", magnitude_pct=0.5, duration_min=12)
    assert ui.spec_fields(spec) == [
        ("Kind", "Trend reversal (down, then up)"),
        ("Magnitude", "0.5%"),
        ("Duration", "12 min"),
        ("Symbol", "all days"),
    ]


def test_scenario_run_impacts_pair_the_arms() -> None:
    run = scenario.ScenarioRun("t", np.zeros(2), twap=scenario.twap_config("buy", 100, 2))
    run.paths = {"no_control": np.zeros((2, 2)), "no_control_twap": np.log(np.full((2, 2), 1.0005))}
    run.labels = {"no_control": "Not controlled", "no_control_twap": "Not controlled + TWAP"}
    run.fills = {"no_control": np.zeros(2), "no_control_twap": np.array([100, 60])}
    impacts = run.impacts()
    assert list(impacts) == ["no_control"] and impacts["no_control"] == pytest.approx(np.full((2, 2), 5.0))
    assert ui.fills_text(run) == "TWAP buy agent filled, on average, Not controlled + TWAP: 80 of 100 shares."


def test_reach_table_measures_the_move_as_the_stress_evaluation_does() -> None:
    target = np.log([0.998, 0.995, 0.99])
    run = scenario.ScenarioRun("t", target, kind="sharp_drop")
    run.paths = {"control": np.stack([target, target / 2]), "control_twap": np.zeros((2, 3))}
    run.labels = {"control": "Controlled"}
    table = ui.reach_table(run, run.kind)
    assert list(table["Run"]) == ["Controlled"] and table["Rollouts"].tolist() == [2]
    row = table.iloc[0]
    assert row["Target (%)"] == pytest.approx(np.log(0.99) * 100)
    assert row["Realised, mean (%)"] == pytest.approx(0.75 * np.log(0.99) * 100)
    assert row["Realised / target"] == pytest.approx(0.75) and row["On the target's side"] == 1.0
    assert row["Per rollout (%)"] == "-1.01, -0.50"
    assert "2 rollouts × 3 minutes is too small" in ui.too_small(2, 3) and ui.too_small(8, 5) is None
    flow = ui.fidelity_table({"traded_volume": 1.2, "spread": 0.5})
    assert flow["Measure"].tolist() == ["Traded volume", "Mean spread"] and flow["Within 0.67–1.5"].tolist() == [
        True,
        False,
    ]


# ---- the page ------------------------------------------------------------------------------------------
def test_default_prompt_shows_spec_filter_and_cases() -> None:
    at = open_page()
    assert at.title[0].value == "Scenarios"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Kind": "Sharp drop", "Magnitude": "1%", "Duration": "10 min", "Symbol": "all days"}
    assert "**Parsed:** Sharp drop of 1% over 10 minutes" in texts(at.markdown)
    assert "- the return over the 10 minutes is -2 σ or beyond" in texts(at.markdown)
    frame = cases_frame(at)
    assert frame["Window"][0] == "AMZN 2012-06-21 12:20-12:30" and frame["Real return (%)"][0] == pytest.approx(
        -0.7577, abs=1e-3
    )
    assert (frame["Real return (%)"] < 0).all() and frame["Target end (%)"].to_numpy() == pytest.approx(-1.0)
    assert len(at.get("plotly_chart")) == 1
    # the simulation starts where the chosen case comes from
    assert at.selectbox(key="sc_sim_symbol").value == "AMZN" and at.time_input(key="sc_sim_time").value == dt.time(
        12, 20
    )
    assert "× 4 rollouts × 10 min from AMZN 2012-06-21 12:20" in texts(at.caption)
    at.selectbox(key="sc_case").set_value("GOOG 2012-06-21 11:06-11:16").run()
    assert at.selectbox(key="sc_sim_symbol").value == "GOOG" and at.time_input(key="sc_sim_time").value == dt.time(
        11, 6
    )


def test_without_data_the_page_says_how_to_add_some(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MARS_DATA_DIR", str(tmp_path))
    at = open_page()
    assert "No LOBSTER datasets found" in texts(at.info) and not at.text_input


def test_unreadable_and_unmatched_prompts_get_clear_feedback() -> None:
    at = open_page()
    at.text_input(key="sc_prompt").set_value("make it interesting").run()
    assert not at.exception
    error = texts(at.error)
    assert "Cannot read this scenario." in error and "could not find a scenario in 'make it interesting'" in error
    assert "sharp drop of 2% over 10 minutes" in error  # examples to copy
    assert not at.dataframe and "sc_run" not in [b.key for b in at.button]  # no cases, no simulation form

    at.text_input(key="sc_prompt").set_value("GOOG rises sharply 1.5% in 10 min").run()
    assert not at.exception
    warning = texts(at.warning)
    assert "No historical case matches." in warning and "the closest, GOOG 2012-06-21 14:33-14:43" in warning
    assert {m.label: m.value for m in at.metric}["Symbol"] == "GOOG"

    at.text_input(key="sc_prompt").set_value("drop of 50% over 10 minutes").run()
    error = texts(at.error)
    assert "the size 50% is out of range: a scenario's size is above 0% and at most 20%" in error
    assert "magnitude_pct" not in error


def test_replay_curve_target_starts_the_simulation_at_its_own_moment() -> None:
    at = open_page()
    at.segmented_control(key="sc_source").set_value("Replay curve").run()
    at.selectbox(key="sc_replay_symbol").set_value("GOOG")
    at.time_input(key="sc_replay_time").set_value(dt.time(11, 6))
    at.number_input(key="sc_replay_minutes").set_value(5).run()
    assert not at.exception
    assert at.selectbox(key="sc_sim_symbol").value == "GOOG" and at.time_input(key="sc_sim_time").value == dt.time(
        11, 6
    )
    assert at.number_input(key="sc_minutes").value == 5
    assert "× 4 rollouts × 5 min from GOOG 2012-06-21 11:06" in texts(at.caption)
    at.time_input(key="sc_replay_time").set_value(dt.time(15, 58)).run()
    assert "runs past the end of the data" in texts(at.error) and not at.exception


def test_language_model_reading_is_shown_after_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_llm(text: str, url: str, model: str, api_key: str | None = None, timeout: float = 30.0) -> ScenarioSpec:
        calls.append((text, url, model, api_key))
        if "nonsense" in text:
            raise MarsInputError("the language model did not answer with JSON: 'hmm'")
        return ScenarioSpec(kind="sharp_rise", magnitude_pct=0.5, duration_min=5, symbol="AMZN")

    monkeypatch.setattr(ui, "parse_with_llm", fake_llm)
    at = open_page()
    at.radio(key="sc_parser").set_value("llm").run()
    assert "Press **Ask**" in texts(at.info) and not calls  # nothing is sent before Ask
    at.text_input(key="sc_llm_model").set_value("tiny")
    at.text_input(key="sc_prompt").set_value("AMZN pops half a percent in 5 minutes").run()
    at.button(key="sc_llm_ask").click().run()
    assert calls == [("AMZN pops half a percent in 5 minutes", "http://127.0.0.1:8080/v1", "tiny", None)]
    assert {m.label: m.value for m in at.metric}["Kind"] == "Sharp rise"
    assert cases_frame(at)["Window"][0] == "AMZN 2012-06-21 10:49-10:54"
    at.text_input(key="sc_prompt").set_value("nonsense").run()
    assert "Press **Ask**" in texts(at.info)  # the reading belongs to the previous text
    at.button(key="sc_llm_ask").click().run()
    assert "The language model's answer cannot be used." in texts(at.error) and not at.exception


@pytest.mark.slow
def test_without_control_models_uncontrolled_runs_and_twap_impact_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: object) -> None:
        raise MarsInputError("no ensemble model at assets/models/ensemble")

    monkeypatch.setattr(scenario, "cached_control_kit", missing)
    at = open_page()
    at.segmented_control(key="sc_source").set_value("Replay curve").run()
    at.selectbox(key="sc_replay_symbol").set_value("GOOG")
    at.time_input(key="sc_replay_time").set_value(dt.time(11, 6)).run()
    assert "**Controlled runs are not available:** no ensemble model at assets/models/ensemble" in texts(at.warning)
    at.number_input(key="sc_minutes").set_value(2)
    at.number_input(key="sc_rollouts").set_value(1)
    at.toggle(key="sc_twap").set_value(True).run()
    at.number_input(key="sc_twap_volume").set_value(200).run()
    assert "2 runs (Not controlled, Not controlled + TWAP) × 1 rollouts × 2 min" in texts(at.caption)
    at.button(key="sc_run").click().run()
    assert not at.exception and not at.error, texts(at.error)
    result = at.session_state["sc_result"]
    assert set(result.paths) == {"no_control", "no_control_twap"} and result.paths["no_control"].shape == (1, 2)
    assert len(result.target) == 2 and result.real == pytest.approx(result.target)  # a replay target is the real future
    assert 0 < result.fills["no_control_twap"][0] <= 200 and result.fills["no_control"][0] == 0
    assert len(at.get("plotly_chart")) == 3  # the replay curve, target vs simulated, impact
    assert "TWAP buy agent filled, on average, Not controlled + TWAP:" in texts(at.caption)
    assert "1 rollout × 2 minutes is too small to judge" in texts(at.warning)
    reached = next(d.value for d in at.dataframe if "Realised / target" in d.value.columns)
    assert list(reached["Run"]) == ["Not controlled"]
    assert {m.label for m in at.metric} >= {"Not controlled: realised move", "Not controlled: correlation with target"}


@pytest.mark.slow
@pytest.mark.skipif(not ENSEMBLE.is_file(), reason="the control models (assets/models/ensemble) are not there yet")
def test_a_small_controlled_simulation_runs_through_the_page() -> None:
    at = open_page()  # the default scenario: its best case is AMZN 12:20-12:30, rescaled to -1%
    at.number_input(key="sc_minutes").set_value(2)
    at.number_input(key="sc_rollouts").set_value(1).run()
    assert not [w for w in at.warning if "Controlled runs are not available" in str(w.value)]
    assert "2 runs (Controlled, Not controlled) × 1 rollouts × 2 min from AMZN 2012-06-21 12:20" in texts(at.caption)
    at.button(key="sc_run").click().run()
    assert not at.exception and not at.error, texts(at.error)
    result = at.session_state["sc_result"]
    signal = cases_frame(at)
    assert signal["Window"][0] == "AMZN 2012-06-21 12:20-12:30"
    assert set(result.paths) == {"control", "no_control"}
    assert result.paths["control"].shape == result.paths["no_control"].shape == (1, 2)
    assert np.isfinite(result.paths["control"]).all() and np.abs(result.paths["control"]).max() < 0.05
    assert len(result.target) == 2 and result.target[-1] < 0  # the first 2 minutes of the rescaled fall
    metrics = {m.label: m.value for m in at.metric}
    assert {"Controlled: correlation with target", "Not controlled: correlation with target"} <= set(metrics)
    follow = next(d.value for d in at.dataframe if "Run" in d.value.columns)
    assert list(follow["Run"]) == ["Controlled", "Not controlled"] and (follow["Rollouts"] == 1).all()
    assert len(at.get("plotly_chart")) == 2  # the cases, target vs simulated
    assert set(result.fidelity) == {"traded_volume", "spread", "submissions", "mean_size"}
    assert all(v > 0 for v in result.fidelity.values()) and not result.fidelity.keys() & {"no_control"}
    assert any("Controlled / real" in d.value.columns for d in at.dataframe)


def test_simulation_numbers_out_of_range_are_named_and_disable_run() -> None:
    at = open_page()
    at.segmented_control(key="sc_source").set_value("Replay curve").run()
    at.number_input(key="sc_replay_minutes").set_value(5).run()
    at.number_input(key="sc_minutes").set_value(99)
    at.number_input(key="sc_rollouts").set_value(0).run()
    errors = texts(at.error)
    assert "**Minutes to simulate** must be a whole number from 1 to 5, was 99" in errors
    assert "**Rollouts** must be a whole number from 1 to 32, was 0" in errors
    assert at.number_input(key="sc_minutes").value == 99  # said, not replaced
    assert at.button(key="sc_run").disabled
    at.number_input(key="sc_replay_minutes").set_value(100).run()
    assert "**Minutes** must be a whole number from 2 to 60, was 100" in texts(at.error)
