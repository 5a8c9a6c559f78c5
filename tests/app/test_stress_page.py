"""The Scenarios page's stress suite (AppTest) and its helpers: the form's settings and messages, the estimate,
the tables read off a suite's summary.json (the CLI's JSON), and an unfinished suite offered to resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mars_core.errors import ConfigError
from mars_core.experiments.stress_eval import DEFAULT_SUITE, MARKER, StressSettings
from pages import _stress_ui as ui

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
PAGE = "pages/scenarios.py"

ARM = {"ratio": {"mean": 0.03, "ci": [0.01, 0.04]}, "target_side": 0.66, "corr": 0.37, "rms_bps": 80.25}
COST = {"mean": 3.21, "ci": [1.0, 5.5], "starts": 4}
SUMMARY = {
    "scenarios": {
        "sharp_drop_1pct_3min": {
            "prompt": "sharp drop of 1% over 3 minutes",
            "window": "AMZN 2012-06-21 09:58",
            "target_bps": -100.5,
            **ARM,
            "fidelity": {"traded_volume": 0.97, "spread": 1.72, "submissions": 0.5, "mean_size": None},
            "arms": {
                "control": ARM,
                "no_control": {**ARM, "ratio": {"mean": -0.004, "ci": [-0.02, 0.01]}},
                "control_twap": {**ARM, "cost_bps": COST, "fulfillment": 0.9},
                "no_control_twap": {**ARM, "cost_bps": {**COST, "mean": 1.0}, "fulfillment": 0.95},
            },
            "twap_cost_bps": {
                "control": COST,
                "no_control": {**COST, "mean": 1.0},
                "control_minus_no_control": {"mean": 2.21, "ci": [-0.5, 4.0], "starts": 4},
            },
        },
        "volatility_spike_1pct_5min": {
            "prompt": "volatility spike of 1% over 5 minutes",
            "window": "GOOG 2012-06-21 09:36",
            "target_bps": 44.7,
            **ARM,
            "fidelity": {"traded_volume": 1.0, "spread": 0.8, "submissions": 1.2, "mean_size": 1.49},
            "arms": {"control": ARM},
        },
    },
    "rollouts": 8,
    "starts": 4,
    "start_points": ["GOOG 2012-06-21 14:50", "GOOG 2012-06-21 15:10"],
    "window": "held_out",
    "twap": True,
    "unit_seconds": 90.0,
    "seconds": 100.0,
}


@pytest.fixture(autouse=True)
def sample_data(monkeypatch: pytest.MonkeyPatch, data_dir: Path, tmp_path: Path) -> Path:
    monkeypatch.setenv("MARS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MARS_RUNS_DIR", str(tmp_path))
    return tmp_path


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def stress_button(at: AppTest):  # noqa: ANN201
    return next(b for b in at.button if b.label == "Run stress suite")


# ---- helpers -------------------------------------------------------------------------------------


def test_the_form_gives_the_suites_settings_or_names_the_field() -> None:
    fields = {"scenarios": ("sharp_drop_1pct_3min",), "symbols": ("GOOG",), "starts_per_day": 1.0, "rollouts": 2}
    settings = ui.settings_from_form({**fields, "window": "training", "twap": False})
    assert settings == StressSettings(
        scenarios=("sharp_drop_1pct_3min",),
        symbols=("GOOG",),
        starts_per_day=1,
        rollouts=2,
        window="training",
        twap=False,
    )
    with pytest.raises(ConfigError, match=r"\*\*Scenarios\*\*: choose at least one; \*\*Symbols\*\*"):
        ui.settings_from_form({**fields, "scenarios": (), "symbols": ()})
    with pytest.raises(ConfigError, match=r"\*\*Rollouts per start\*\* must be a whole number from 1 to 64, was 2.5"):
        ui.settings_from_form({**fields, "rollouts": 2.5})
    with pytest.raises(ConfigError, match=r"\*\*Starts per day\*\*: enter a whole number"):
        ui.settings_from_form({**fields, "starts_per_day": None})


def test_the_estimate_counts_groups_and_rollout_minutes() -> None:
    settings = StressSettings(scenarios=("sharp_drop_1pct_3min", "rally_1.5pct_5min"), starts_per_day=2, rollouts=4)
    p = ui.plan(settings, days=2)  # 4 starts x 4 arms (TWAP by default)
    assert p["starts"] == 4 and p["groups"] == 2 * 4 * 4 and p["rollout_minutes"] == (3 + 5) * 4 * 4 * 4
    assert p["seconds"] == round(32 * ui.GROUP_S + 512 * ui.ROLLOUT_MINUTE_S)
    assert ui.plan(settings.model_copy(update={"twap": False}), days=2)["groups"] == 16
    assert ui.too_small(4, 8) is None and "2 starts × 4 rollouts is too small" in ui.too_small(2, 4)


def test_the_tables_show_the_summarys_figures() -> None:
    reach = ui.reach_table(SUMMARY)
    assert len(reach) == 5 and list(reach["Run"][:4]) == list(ui.ARM_LABELS.values())
    first = reach.iloc[0]
    assert first["Scenario"] == "Sharp drop of 1% over 3 minutes" and first["Target (bps)"] == "-100.5"
    assert first["Realised / target [95% CI]"] == "0.03 [0.01, 0.04]" and first["On the target's side"] == "0.66"
    assert first["Correlation"] == "+0.37" and first["RMS distance (bps)"] == "80.2"
    assert reach.iloc[1]["Realised / target [95% CI]"] == "-0.00 [-0.02, 0.01]"
    assert first["TWAP shortfall (bps) [95% CI]"] == "–"
    assert reach.iloc[2]["TWAP shortfall (bps) [95% CI]"] == "+3.2 [+1.0, +5.5]"
    spike = reach.iloc[4]
    assert spike["Measured as"] == "1-minute volatility" and spike["Target (bps)"] == "44.7"
    flow = ui.flow_table(SUMMARY)
    assert list(flow["Outside 0.67–1.5"]) == ["mean spread, submissions, mean order size", "none"]
    assert list(flow["Mean spread"]) == ["1.72", "0.80"] and flow["Mean order size"][0] == "–"
    assert ui.out_of_band("1.72") and not ui.out_of_band("0.80") and not ui.out_of_band("–")
    cost = ui.cost_table(SUMMARY)
    assert len(cost) == 1 and cost.iloc[0].tolist()[1:] == [
        "+3.2 [+1.0, +5.5]",
        "+1.0 [+1.0, +5.5]",
        "+2.2 [-0.5, +4.0]",
    ]
    assert "TWAP shortfall (bps) [95% CI]" not in ui.reach_table({**SUMMARY, "twap": False})


# ---- the page ------------------------------------------------------------------------------------


def test_the_section_has_small_defaults_an_estimate_and_says_when_it_is_too_small() -> None:
    at = open_page()
    assert at.session_state["ss_scenarios"] == list(DEFAULT_SUITE)
    assert at.session_state["ss_starts"] == 1 and at.session_state["ss_rollouts"] == 4
    plan = next(c.value for c in at.caption if "groups" in c.value)
    assert "6 scenarios × 2 starts × 2 runs = **24 groups** of 4 rollouts" in plan and "min" in plan
    assert any("2 starts × 4 rollouts is too small" in w.value for w in at.warning)
    assert not stress_button(at).disabled
    assert any("No stress suite has run yet" in i.value for i in at.info)


def test_bad_inputs_are_named_and_disable_run() -> None:
    at = open_page()
    at.number_input(key="ss_starts").set_value(0).run()
    at.session_state["ss_scenarios"] = []
    at.run()
    (error,) = [e.value for e in at.error if "Cannot run this suite yet" in e.value]
    assert (
        "**Scenarios**: choose at least one" in error
        and "**Starts per day** must be a whole number from 1 to 20" in error
    )
    assert stress_button(at).disabled and not at.exception


def test_a_finished_suite_is_read_back_and_an_unfinished_one_offered_to_resume(sample_data: Path) -> None:
    done = sample_data / "stress" / "held_out-done"
    done.mkdir(parents=True)
    (done / MARKER).write_text(json.dumps(StressSettings().model_dump(mode="json")))
    (done / "summary.json").write_text(json.dumps(SUMMARY))
    at = open_page()
    tables = [t.value for t in at.table]
    assert [len(t) for t in tables] == [5, 2, 1]
    assert tables[0].iloc[0]["Realised / target [95% CI]"] == "0.03 [0.01, 0.04]"
    assert tables[2].iloc[0]["Controlled − uncontrolled (paired)"] == "+2.2 [-0.5, +4.0]"
    assert any("4 starts (held-out afternoon" in m.value for m in at.markdown)

    unfinished = sample_data / "stress" / "held_out-unfinished"
    (unfinished / "units").mkdir(parents=True)
    (unfinished / MARKER).write_text(json.dumps(StressSettings(rollouts=2).model_dump(mode="json")))
    (unfinished / "units" / "a.npz").write_bytes(b"")
    at.session_state["ss_selected"] = str(unfinished)
    at.run()
    assert any("This stress suite has not finished: 1 of its groups is done" in w.value for w in at.warning)
    assert any(b.label == "Resume this stress suite" for b in at.button) and not at.exception
