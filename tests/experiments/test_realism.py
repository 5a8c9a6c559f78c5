"""The realism evaluation compares each background with the real held-out windows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.similarity import METRICS
from analysis.stylized_facts import FACTS
from mars_core.errors import ConfigError
from mars_core.experiments.realism import RealismConfig, run_realism


def test_evaluation_writes_tables_and_reports_every_metric_and_fact(tmp_path: Path, data_dir: Path) -> None:
    config = RealismConfig(symbol="GOOG", backgrounds=("noise",), minutes=10, every_minutes=30, rollouts=2)
    assert config.start_times() == ["14:30", "15:00", "15:30"]
    summary = run_realism(config, tmp_path / "r", str(data_dir), workers=2)
    assert set(summary["metrics"]) == set(METRICS) and set(summary["facts"]) == set(FACTS)
    spread = summary["metrics"]["spread"]["noise"]
    assert spread["n"] == 3 and spread["n_rollouts"] == 2 and 0 <= spread["similarity"] <= 1
    assert all(set(v) == {"replay", "noise"} for v in summary["facts"].values())
    for name in ("facts.json", "table6.csv", "table7.json", "summary.json", "realism.json"):
        assert (tmp_path / "r" / name).is_file()
    again = run_realism(config, tmp_path / "r", str(data_dir))  # resumes: nothing left to simulate
    assert again["metrics"] == summary["metrics"]


def test_bad_configs(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="not one of replay, noise, lmm"):
        RealismConfig.from_dict({"symbol": "GOOG", "backgrounds": ["agents"]})
    with pytest.raises(ConfigError, match="shorter than one"):
        RealismConfig(symbol="GOOG", window=("15:50", "16:00"), minutes=30).start_times()
    with pytest.raises(ConfigError, match="no catalogued day of MSFT"):
        run_realism(RealismConfig(symbol="MSFT"), tmp_path / "x", str(data_dir))


def test_cli_prints_metrics_and_facts_on_the_last_line(tmp_path: Path, data_dir: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mars_core",
            "realism",
            "--symbol",
            "AMZN",
            "--backgrounds",
            "replay,noise",
            "--minutes",
            "10",
            "--every",
            "40",
            "--rollouts",
            "1",
            "--out",
            str(tmp_path / "a"),
            "--data-dir",
            str(data_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) == {"metrics", "facts"}
    assert result["facts"]["heavy_tails"].keys() == {"replay", "noise"}
