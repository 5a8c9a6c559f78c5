"""`mars replay` prints the verification report, with one JSON object last."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mars_core.cli.app import app as mars_app
from mars_core.engine.replay import CAUSES

SAMPLE_DATE = "2012-06-21"
REPORT_KEYS = {
    "messages",
    "seconds",
    "msgs_per_s",
    "l1_match_rate",
    "depth_match_rate",
    "corrections",
    "levels",
    "mismatch_causes",
}


def test_mars_replay_prints_one_json_object_last(data_dir: Path) -> None:
    result = CliRunner().invoke(
        mars_app, ["replay", "GOOG", SAMPLE_DATE, "--verify", "--json", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert set(report) >= REPORT_KEYS
    assert (report["messages"], report["levels"], report["l1_match_rate"]) == (147_916, 10, 1.0)
    assert set(report["mismatch_causes"]) == set(CAUSES) and report["depth_match_rate"] >= 0.9575
    assert "L1 match 100.0000%" in result.output
