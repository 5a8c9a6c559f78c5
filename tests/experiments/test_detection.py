"""Detection by simulation end to end, checked with the replay background (it simulates the real day back, so a
clean window scores as the real one and only the injected episodes leave it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.detection_scores import METRICS
from mars_core.cli.app import app as mars_app
from mars_core.cli.detect import parse_episode
from mars_core.errors import ConfigError
from mars_core.experiments.detection import DetectConfig, EvaluationConfig, evaluate, flagged, score_day

SPAN = ("12:00", "12:09")


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict:
    config = EvaluationConfig(
        symbols=("GOOG",),
        span=SPAN,
        every_minutes=1,
        rollouts=1,
        background="replay",
        kinds=("spoofing", "quote_stuffing"),
        intensities=(4.0,),
        spacing=2,
        bootstrap=50,
    )
    return evaluate(config, tmp_path_factory.mktemp("detect"), str(data_dir), workers=1)


def test_the_windows_of_a_span(data_dir: Path) -> None:
    config = DetectConfig(symbol="GOOG", date="2012-06-21", span=SPAN, every_minutes=2)
    assert [c // 60_000_000_000 for c in config.starts()] == [721, 723, 725, 727]
    with pytest.raises(ConfigError, match="fewer than two"):
        DetectConfig(symbol="GOOG", date="2012-06-21", span=("12:00", "12:01")).starts()


def test_clean_windows_replayed_score_as_the_real_ones(tmp_path: Path, data_dir: Path) -> None:
    config = DetectConfig(symbol="GOOG", date="2012-06-21", span=("12:00", "12:03"), rollouts=1, background="replay")
    scores = score_day(config, tmp_path, str(data_dir), workers=1)
    table = scores.table
    assert list(table["clock"]) == ["12:01:00", "12:02:00"]
    # the replayed book as the recorder samples it: the real one but in a few seconds of a minute
    assert (table["mars_spread"] >= 0.95).all() and (table["mars_depth"] >= 0.95).all()
    assert (table["mars"] < table["baseline"]).all()  # the window before is another market than the replay
    real, simulated = scores.spreads[table["start"].iloc[0]]
    assert len(real) == len(simulated) == 60 and np.mean(real == simulated) >= 0.95


def test_injected_episodes_leave_the_replayed_market(evaluation: dict) -> None:
    assert evaluation["clean_windows"] == 8 and evaluation["episodes"] == 8  # 2 kinds x every 2nd of 8 windows
    assert evaluation["same_start_state"] == 1.0
    # a replayed clean window differs from the real one by little, so the episodes stand out against it
    assert evaluation["auc"]["mars"] >= 0.9 and evaluation["per_type"]["quote_stuffing"]["mars"] == 1.0
    assert set(evaluation["per_type"]) == {"spoofing", "quote_stuffing"}
    assert 0.0 <= evaluation["auc"]["baseline"] <= 1.0
    lo, hi = evaluation["ci"]["mars"]
    assert lo < evaluation["auc"]["mars"] < hi
    assert Path(evaluation["dir"], "windows.csv").exists() and Path(evaluation["dir"], "summary.json").exists()


def test_flagged_windows_name_the_rows_that_fell() -> None:
    rows = {f"mars_{m}": np.linspace(0.6, 1.0, 21) for m in METRICS}  # MAD 0.1
    rows["mars_order_size"][7] = 0.4  # far below the row's median (0.8)
    rows["mars_depth"][3] = 0.55  # within 3 MADs of the median
    rows["mars_spread"][12] = 0.3
    by = flagged(pd.DataFrame(rows))
    assert by[7] == "order_size" and by[12] == "spread" and (by.drop([7, 12]) == "").all()
    flat = pd.DataFrame({f"mars_{m}": np.r_[np.full(10, 0.9), 0.87] for m in METRICS})
    assert (flagged(flat) == "").all()  # a 0.03 dip is within 3 x the 0.05 floor


def test_an_episode_on_the_command_line() -> None:
    spec = parse_episode("layering@14:40:30,intensity=3,side=-1,seconds=20")
    assert (spec.kind, spec.start, spec.intensity, spec.side, spec.seconds) == ("layering", "14:40:30", 3, -1, 20)
    with pytest.raises(ConfigError, match="kind"):
        parse_episode("pumping@14:40")
    with pytest.raises(ConfigError, match="not key=value"):
        parse_episode("spoofing@14:40,3")


def test_mars_detect_inject_writes_a_day_that_verifies(tmp_path: Path, data_dir: Path) -> None:
    runner = CliRunner()
    args = ["detect", "inject", "--symbol", "GOOG", "--date", "2012-06-21", "--out", str(tmp_path), "--json"]
    result = runner.invoke(mars_app, [*args, "--episode", "spoofing@13:00,intensity=3", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    written = json.loads(result.output.strip().splitlines()[-1])
    assert [e["kind"] for e in written["episodes"]] == ["spoofing"] and len(written["files"]) == 3
    result = runner.invoke(mars_app, ["replay", "GOOG", "2012-06-21", "--json", "--data-dir", str(tmp_path)])
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["l1_match_rate"] == 1.0 and report["mismatch_causes"]["in_view"] == 0


def test_mars_detect_scores_a_span_into_a_folder_of_its_day(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARS_RUNS_DIR", str(tmp_path / "runs"))
    args = ["detect", "--symbol", "GOOG", "--date", "2012-06-21", "--span", "12:00", "12:03", "--rollouts", "1"]
    result = CliRunner().invoke(mars_app, [*args, "--background", "replay", "--json", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.output.strip().splitlines()[-1])
    assert [w["clock"] for w in scored["windows"]] == ["12:01:00", "12:02:00"]
    assert all(0 <= w["mars"] < w["baseline"] for w in scored["windows"])
    folder = Path(scored["dir"])
    assert folder.parent == tmp_path / "runs" / "detect" and folder.name.startswith("GOOG_2012-06-21-")
    missing = CliRunner().invoke(mars_app, [*args, "--json", "--data-dir", str(tmp_path / "nothing")])
    assert missing.exit_code != 0 and "nothing" in str(missing.exception)
