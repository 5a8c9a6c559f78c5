"""`mars control-eval --stress`: the issue's JSON interface on its last line, the table above it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mars_core.cli.app import app as mars_app
from mars_core.cli.stress import stress_table
from mars_core.experiments.stress_eval import FIDELITY

ENSEMBLE = Path(__file__).resolve().parents[2] / "assets" / "models" / "ensemble" / "ensemble.pt"


@pytest.mark.skipif(not ENSEMBLE.is_file(), reason="no shipped ensemble")
def test_stress_suite_of_one_scenario_prints_the_issue_json_and_resumes(data_dir: Path, tmp_path: Path) -> None:
    args = [
        "control-eval",
        "--stress",
        "--scenario",
        "sharp_drop_1pct_3min",
        "--rollouts",
        "1",
        "--starts-per-day",
        "1",
    ]
    args += ["--symbols", "GOOG", "--workers", "1", "--data-dir", str(data_dir), "--out", str(tmp_path), "--json"]
    result = CliRunner().invoke(mars_app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["rollouts"] == 1 and out["starts"] == 1 and list(out["scenarios"]) == ["sharp_drop_1pct_3min"]
    s = out["scenarios"]["sharp_drop_1pct_3min"]
    assert s["target_bps"] == pytest.approx(-100.5, abs=0.1)  # log(0.99) in bps
    lo, hi = s["ratio"]["ci"]
    assert lo <= s["ratio"]["mean"] <= hi and s["target_side"] in (0.0, 1.0) and -1 <= s["corr"] <= 1
    assert s["rms_bps"] > 0 and set(s["fidelity"]) == set(FIDELITY)
    assert set(s["arms"]) == {"control", "no_control", "control_twap", "no_control_twap"}
    # the TWAP arms: their reach figures, and the agent's cost under the scenario, controlled and not
    for arm in ("control_twap", "no_control_twap"):
        f = s["arms"][arm]
        assert {"ratio", "target_side", "corr", "rms_bps"} <= set(f) and 0 < f["fulfillment"] <= 1
        assert f["cost_bps"] == s["twap_cost_bps"][arm.removesuffix("_twap")]
    cost = s["twap_cost_bps"]
    paired = cost["control_minus_no_control"]["mean"]
    assert paired == pytest.approx(cost["control"]["mean"] - cost["no_control"]["mean"], abs=0.02)  # one rollout
    assert "sharp_drop_1pct_3min" in result.output
    kept = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "units").iterdir()}
    assert len(kept) == 4  # one group per arm
    # run again into the same directory: nothing is simulated again, the same figures come back
    again = CliRunner().invoke(mars_app, args)
    assert again.exit_code == 0, again.output
    back = json.loads(again.output.strip().splitlines()[-1])
    assert back["scenarios"] == out["scenarios"] and back["unit_seconds"] == out["unit_seconds"]
    assert json.loads((tmp_path / "summary.json").read_text())["scenarios"] == out["scenarios"]
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "units").iterdir()} == kept


def test_the_table_prints_missing_figures_as_nan() -> None:
    figures = {"ratio": {"mean": 0.1, "ci": [0.0, 0.2]}, "target_side": 0.5, "corr": 0.3, "rms_bps": 9.0}
    s = {
        "starts": 1,
        "window": "held_out",
        "rollouts": 2,
        "seconds": 3.0,
        "scenarios": {
            "rally_1.5pct_5min": {
                **figures,
                "target_bps": 148.9,
                "fidelity": dict.fromkeys(FIDELITY),  # summary.json has no NaN: a ratio without data is null
                "arms": {"control": figures},
                "twap_cost_bps": {
                    "control": {"mean": 1.25, "ci": [0.5, 2.0]},
                    "no_control": {"mean": None, "ci": [None, None]},
                    "control_minus_no_control": {"mean": None, "ci": [None, None]},
                },
            }
        },
    }
    lines = stress_table(s).splitlines()
    assert lines[2].split()[-4:] == ["nan"] * 4
    assert lines[-2].split()[1:] == ["+1.2", "[+0.5,", "+2.0]", "+nan", "[+nan,", "+nan]", "+nan", "[+nan,", "+nan]"]
