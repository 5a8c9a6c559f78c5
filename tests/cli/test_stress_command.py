"""`mars control-eval --stress`: the issue's JSON interface on its last line, the table above it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mars_core.cli.app import app as mars_app
from mars_core.experiments.stress_eval import FIDELITY

ENSEMBLE = Path(__file__).resolve().parents[2] / "assets" / "models" / "ensemble" / "ensemble.pt"


@pytest.mark.skipif(not ENSEMBLE.is_file(), reason="no shipped ensemble")
def test_stress_suite_of_one_scenario_prints_the_issue_json(data_dir: Path) -> None:
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
    args += ["--symbols", "GOOG", "--no-twap", "--workers", "1", "--data-dir", str(data_dir), "--json"]
    result = CliRunner().invoke(mars_app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["rollouts"] == 1 and out["starts"] == 1 and list(out["scenarios"]) == ["sharp_drop_1pct_3min"]
    s = out["scenarios"]["sharp_drop_1pct_3min"]
    assert s["target_bps"] == pytest.approx(-100.5, abs=0.1)  # log(0.99) in bps
    lo, hi = s["ratio"]["ci"]
    assert lo <= s["ratio"]["mean"] <= hi and s["target_side"] in (0.0, 1.0) and -1 <= s["corr"] <= 1
    assert s["rms_bps"] > 0 and set(s["fidelity"]) == set(FIDELITY) and set(s["arms"]) == {"control", "no_control"}
    assert "sharp_drop_1pct_3min" in result.output
