"""`mars forecast` for one moment: vote shares per horizon, the actual classes, one JSON object last."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mars_core.cli.app import app as mars_app

ARGS = ["forecast", "--symbol", "GOOG", "--at", "15:00", "--rollouts", "4", "--background", "noise", "--json"]


def test_forecast_of_one_moment(data_dir: Path) -> None:
    result = CliRunner().invoke(mars_app, [*ARGS, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["horizons"] == [1, 2, 3, 4, 5] and out["at"] == "15:00:00" and out["rollouts"] == 4
    for shares in out["probabilities"]:
        assert sum(shares) == pytest.approx(1) and all(s * 4 == round(s * 4) for s in shares)  # shares of 4 votes
    assert set(out["majority"]) <= {"down", "flat", "up"} and len(out["actual"]) == 5
    assert out["realised_vol"]["actual"] > 0 and out["mean_spread"]["naive"] > 0
    assert "1 min: down" in result.output
    again = json.loads(CliRunner().invoke(mars_app, [*ARGS, "--data-dir", str(data_dir)]).output.splitlines()[-1])
    assert again["probabilities"] == out["probabilities"]  # deterministic by seed


def test_a_moment_without_five_minutes_after_is_refused(data_dir: Path) -> None:
    result = CliRunner().invoke(mars_app, [*ARGS[:4], "15:58", *ARGS[5:], "--data-dir", str(data_dir)])
    assert result.exit_code != 0
    assert "leaves no 5 minutes" in str(result.exception)
