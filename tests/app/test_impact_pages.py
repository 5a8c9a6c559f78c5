"""AppTest smoke tests of the Market Impact and Impact Factors pages: no study, a finished study, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mars_core import paths
from mars_core.errors import ConfigError
from pages import _impact_ui

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
IMPACT, FACTORS = "pages/market_impact.py", "pages/impact_factors.py"


@pytest.fixture(scope="module")
def finished_study(tiny_study_dir: Path) -> Path:
    """The session's tiny impact study (tests/conftest.py)."""
    return tiny_study_dir


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path) -> Path:
    monkeypatch.setenv("MARS_DATA_DIR", str(data_dir))
    monkeypatch.setenv(paths.RUNS_ENV, str(tmp_path / "runs"))
    return tmp_path / "runs"


@pytest.fixture
def runs_with_study(runs: Path, finished_study: Path) -> Path:
    target = runs / "studies" / "tiny-0001"
    shutil.copytree(
        finished_study, target, ignore=shutil.ignore_patterns("base", "points")
    )  # results only: enough to view
    return target


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:  # noqa: ANN001 (AppTest element lists)
    return "\n".join(str(e.value) for e in elements)


def test_pages_without_a_study_explain_what_to_do(runs: Path) -> None:
    at = open_page(IMPACT)
    assert at.title[0].value == "Market impact"
    assert "No studies yet" in texts(at.info) and str(runs) in texts(at.info)
    assert at.button(key="mi_run").disabled is False  # the paper's four agents and five Q/V values are a valid study
    assert "4 agents × 5 Q/V × 16 rollouts" in texts(at.caption) and "320 paired trajectories" in texts(at.caption)
    at = open_page(FACTORS)
    assert "No finished study" in texts(at.info)


def test_finished_study_shows_its_results_on_both_pages(runs_with_study: Path) -> None:
    results = json.loads((runs_with_study / "results.json").read_text())
    pooled = results["sqrt_law"]["pooled"]
    at = open_page(IMPACT)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Paired trajectories"] == "12" and metrics["Exponent δ (pooled)"] == f"{pooled['delta']:.2f}"
    assert f"95% CI {pooled['delta_ci'][0]:.2f}–{pooled['delta_ci'][1]:.2f}" in texts(at.markdown)
    assert len(at.get("plotly_chart")) == 4  # impact curves, fulfillment, slippage, square-root law
    impact = next(d.value for d in at.dataframe if "End of execution (bps)" in d.value.columns)
    assert set(impact["Configuration"]) == {"L1-P0.9", "L5-P0.1"} and set(impact["Trajectories"]) == {6}
    assert [b.label for b in at.get("download_button")][:2] == ["Report (HTML)", "Report (PDF)"]

    at = open_page(FACTORS)
    assert results["symbolic"]["formula"] in texts(at.code)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["α (LOB pressure)"] == "0.5" and metrics["Pre-trade window"] == "30 min"
    assert metrics["Learned ODE held-out MSE"] == f"{results['decay']['test_mse_learned']:.3e}"
    assert len(at.get("plotly_chart")) == 4  # correlations, factor scatter, decay autocorrelation, W
    at.selectbox(key="if_factor").set_value("lob_pressure").run()
    assert not at.exception


def test_bad_form_input_names_the_field_and_keeps_the_input(runs: Path) -> None:
    at = open_page(IMPACT)
    at.text_input(key="mi_q").set_value("0.05, abc 1.5; 0").run()
    errors = texts(at.error)
    assert (
        "**Q/V values**: rejected 'abc' is not a number; 1.5 is outside (0, 1]" in errors and "; 0 is outside" in errors
    )
    assert at.text_input(key="mi_q").value == "0.05, abc 1.5; 0"  # nothing the user typed is lost
    assert at.button(key="mi_run").disabled
    at.number_input(key="mi_rollouts").set_value(0)
    at.number_input(key="mi_horizon").set_value(400.0).run()
    errors = texts(at.error)
    assert "**Rollouts** must be a whole number from 1 to 256, was 0" in errors
    assert "**Observation after (min)** must be a number from 0 to 120, was 400" in errors
    assert at.button(key="mi_run").disabled  # never a run of the values from before
    at.number_input(key="mi_rollouts").set_value(2)
    at.number_input(key="mi_horizon").set_value(1.0)
    at.text_input(key="mi_q").set_value("0.05").run()
    assert not at.error and at.button(key="mi_run").disabled is False
    at.multiselect(key="mi_starts").set_value(["25:99"]).run()
    assert "Start times" in texts(at.error) and "'25:99' is not HH:MM" in texts(at.error)


def test_a_start_outside_the_day_fails_on_run_with_a_clear_error(runs: Path) -> None:
    at = open_page(IMPACT)
    at.selectbox(key="mi_symbol").set_value("GOOG").run()
    at.multiselect(key="mi_starts").set_value(["15:55"]).run()
    at.button(key="mi_run").click().run()
    assert not at.exception
    assert "could not run" in texts(at.error) and "15:55" in texts(at.error)
    assert not list(runs.glob("studies/*/base"))  # nothing simulated


def test_lmm_background_needs_a_model(runs: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path / "no-models")
    at = open_page(IMPACT)
    at.radio(key="mi_background").set_value("lmm").run()
    assert at.button(key="mi_run").disabled and "needs a trained model" in texts(at.warning)


def test_unfinished_study_offers_to_resume(runs: Path, finished_study: Path) -> None:
    path = runs / "studies" / "half"
    path.mkdir(parents=True)
    (path / "study.json").write_text((finished_study / "study.json").read_text())
    at = open_page(IMPACT)
    assert "has not finished: 0 of 15 simulations" in texts(at.warning)
    assert at.button(key="mi_resume_button").label == "Resume this study"
    assert "No finished study" in texts(open_page(FACTORS).info)


def test_uploaded_study_files_are_validated_with_the_file_and_field_named() -> None:
    good = _impact_ui.study_from_upload(
        "s.yaml", b"symbols: [GOOG]\ndates: ['2012-06-21']\nstart_times: ['11:00']\nq_over_v: [0.1]\n"
    )
    assert good.configs == ("L1-P0.1", "L1-P0.9", "L5-P0.1", "L5-P0.9")
    with pytest.raises(ConfigError, match=r"s\.yaml: .*q_over_v.*must lie in \(0, 1\]"):
        _impact_ui.study_from_upload(
            "s.yaml", b"symbols: [GOOG]\ndates: ['2012-06-21']\nstart_times: ['11:00']\nq_over_v: [2]\n"
        )
    with pytest.raises(ConfigError, match=r"bad\.json: not valid YAML/JSON"):
        _impact_ui.study_from_upload("bad.json", b"{symbols: [GOOG")
    with pytest.raises(ConfigError, match=r"list\.yaml: expected a mapping"):
        _impact_ui.study_from_upload("list.yaml", b"- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"twice\.yaml: .*key 'seed' is given twice"):  # as `mars impact` says
        _impact_ui.study_from_upload("twice.yaml", b"seed: 1\nseed: 2\n")
    with pytest.raises(ConfigError, match=r"latin\.yaml: not UTF-8 text \(byte 0xe9 at offset 2\)"):
        _impact_ui.study_from_upload("latin.yaml", b"# \xe9\n")
    with pytest.raises(ConfigError, match="TWAP agents: row 2: set both"):
        _impact_ui.agent_names(_impact_ui.default_agents().assign(PVR=[0.1, None, 0.1, 0.9]))
    assert "**Q/V values**" in _impact_ui.friendly(ConfigError("study: q_over_v.0: Value error, bad"))


def test_run_a_small_study_from_the_form(runs: Path) -> None:
    at = open_page(IMPACT)
    at.selectbox(key="mi_symbol").set_value("GOOG").run()
    at.multiselect(key="mi_starts").set_value(["11:00"])
    at.number_input(key="mi_exec").set_value(1.0)
    at.number_input(key="mi_horizon").set_value(1.0)
    at.number_input(key="mi_rollouts").set_value(2)
    at.text_input(key="mi_q").set_value("0.05 20% 0.05").run()
    assert "4 agents × 2 Q/V × 2 rollouts × 1 start = **16 paired trajectories**: 18 simulations of 2 min" in texts(
        at.caption
    )
    at.button(key="mi_run").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert "Finished: 16 paired trajectories" in at.get("progress")[0].proto.text
    (study,) = runs.glob("studies/impact-study-*")
    assert (study / "results.json").is_file() and at.selectbox(key="mi_study").value == str(study)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Paired trajectories"] == "16" and metrics["Fulfillment"].endswith("%")
    assert json.loads((study / "study.json").read_text())["q_over_v"] == [0.05, 0.2]


def test_impact_under_a_scenario_opens_the_scenarios_page_with_the_agent(runs: Path) -> None:
    at = open_page(IMPACT)
    at.text_input(key="mi_scenario").set_value("sharp rise of 0.5% over 10 minutes").run()
    at.button(key="mi_scenario_go").click().run()
    assert not at.exception
    assert at.title[0].value == "Scenarios"
    assert at.text_input(key="sc_prompt").value == "sharp rise of 0.5% over 10 minutes"
    assert at.toggle(key="sc_twap").value is True and at.session_state["sc_twap_side"] == "buy"  # the study's side
