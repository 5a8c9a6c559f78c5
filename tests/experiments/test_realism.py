"""The realism evaluation compares each background with the real windows, per minute, next to its ceiling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.minute_metrics import FLOW
from analysis.similarity import METRICS
from analysis.stylized_facts import FACTS
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments.realism import MARKER, RealismConfig, run_realism
from mars_core.store import claim_directory
from tests.run_lock import held_by_another_run

TRAINING = ("10:00", "11:00")  # tests never look at the held-out afternoon


def test_evaluation_scores_every_row_against_its_ceiling_and_resumes(tmp_path: Path, data_dir: Path) -> None:
    config = RealismConfig(
        symbol="GOOG",
        backgrounds=("noise",),
        window=TRAINING,
        ceiling_window=("12:00", "13:00"),
        minutes=10,
        every_minutes=10,
        rollouts=2,
        bootstrap=30,
    )
    assert config.start_times() == ["10:00", "10:10", "10:20", "10:30", "10:40", "10:50"]
    assert RealismConfig(symbol="GOOG").start_times()[::15] == ["14:30", "15:00", "15:30"]  # the defaults: every 2 min
    result = run_realism(config, tmp_path / "r", str(data_dir), workers=2)
    assert result["protocol"] == "per-minute" and result["starts"] == 6 and result["ceiling"]["starts"] == 6
    assert "12:00-12:50" in result["ceiling"]["definition"] and "overlap" not in result["ceiling"]["definition"]
    assert (
        "overlap, so this ceiling is optimistic"
        in RealismConfig(symbol="GOOG", window=("10:00", "13:45")).ceiling_definition()
    )
    noise = result["backgrounds"]["noise"]
    assert set(noise["similarity"]["rows"]) == set(METRICS) == set(noise["accuracy"])
    assert 0 <= noise["similarity"]["mean"] <= 1 and len(noise["similarity"]["ci"]) == 2
    assert all(len(noise["fidelity"][k]) == 2 for k in FLOW)  # two 5-minute buckets of a 10-minute future
    replay = result["backgrounds"]["replay"]
    assert replay["similarity"]["mean"] == 1.0 and replay["fidelity"]["spread"] == [1.0, 1.0]
    assert set(result["facts"]["replay"]) == set(FACTS) and set(result["facts"]) == {"replay", "noise"}
    noise_run = json.loads((tmp_path / "r" / "runs" / "noise" / "GOOG_2012-06-21_1000" / "config.json").read_text())
    assert noise_run["noise_fit_until"] == "10:00"  # fitted on the orders before the evaluated window only
    for name in ("facts.json", "summary.json", "realism.json"):
        assert (tmp_path / "r" / name).is_file()
    again = run_realism(config, tmp_path / "r", str(data_dir))  # resumes: nothing left to simulate
    assert again["backgrounds"] == result["backgrounds"] and again["ceiling"] == result["ceiling"]


def test_bad_configs(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="not one of replay, noise, lmm"):
        RealismConfig.from_dict({"symbol": "GOOG", "backgrounds": ["agents"]})
    with pytest.raises(ConfigError, match="shorter than one"):
        RealismConfig(symbol="GOOG", window=("15:50", "16:00"), minutes=30).start_times()
    with pytest.raises(ConfigError, match="12:00-12:10 is shorter"):
        RealismConfig(symbol="GOOG", ceiling_window=("12:00", "12:10")).ceiling_times()
    with pytest.raises(ConfigError, match="no catalogued day of MSFT"):
        run_realism(RealismConfig(symbol="MSFT"), tmp_path / "x", str(data_dir))


def test_cli_last_line_is_the_issue_json_without_nan(tmp_path: Path, data_dir: Path) -> None:
    args = ["--symbol", "AMZN", "--backgrounds", "replay,noise", "--minutes", "10", "--starts-every", "20"]
    args += ["--rollouts", "1", "--window", *TRAINING, "--ceiling-window", "12:00", "13:00", "--bootstrap", "20"]
    done = subprocess.run(
        [sys.executable, "-m", "mars_core", "realism", *args, "--out", str(tmp_path / "a")]
        + ["--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("AMZN per-minute: 3 start windows x 1 rollouts") and "ceiling" in lines[2]
    result = json.loads(lines[-1], parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert result["protocol"] == "per-minute"
    assert set(result["ceiling"]) >= {"mean", "ci", "definition"} and len(result["ceiling"]["ci"]) == 2
    noise = result["backgrounds"]["noise"]
    assert set(noise["similarity"]) >= {"mean", "ci", "rows"}
    assert set(noise["fidelity"]) >= {
        "spread",
        "l1_size",
        "depth",
        "traded_volume",
        "executions",
        "submissions",
        "median_size",
        "volatility",
        "variance_ratio",
    }
    assert isinstance(noise["fidelity"]["volatility"], float) and len(noise["fidelity"]["spread"]) == 2
    assert result["paired"] == {}  # no order model in this run


def test_a_second_evaluation_into_the_same_directory_is_refused(tmp_path: Path, data_dir: Path) -> None:
    config = RealismConfig(
        symbol="GOOG", window=TRAINING, ceiling_window=("12:00", "13:00"), minutes=10, every_minutes=30, rollouts=1
    )
    out = tmp_path / "r"
    claim_directory(out, MARKER, config.model_dump(mode="json"), "realism evaluation")
    with held_by_another_run(out):
        with pytest.raises(MarsInputError, match="is in use by another run"):
            run_realism(config, out, str(data_dir), workers=1)
        assert not (out / "runs").exists()  # refused before simulating anything
