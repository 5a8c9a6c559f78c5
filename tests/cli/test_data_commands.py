"""`mars data list/show`: human tables and the one-JSON-object-last convention."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mars_core.cli.data import data_app
from mars_core.errors import DatasetNotFoundError, MarsInputError

REPO = Path(__file__).resolve().parents[2]


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def _invoke(*args: str):
    return CliRunner().invoke(data_app, list(args))


def test_list_json_lists_both_days(data_dir):
    result = _invoke("list", "--data-dir", str(data_dir), "--json")
    assert result.exit_code == 0, result.output
    report = _last_json(result.output)
    assert report["data_dir"] == str(data_dir) and report["problems"] == []
    rows = {(d["symbol"], d["date"], d["levels"], d["messages"], d["tick_size"]) for d in report["datasets"]}
    assert rows == {("AMZN", "2012-06-21", 5, 155_935, 100), ("GOOG", "2012-06-21", 10, 147_916, 100)}
    goog = next(d for d in report["datasets"] if d["symbol"] == "GOOG")
    assert (goog["ts_start"], goog["ts_end"]) == (34_200_015_105_074, 57_599_871_751_084)


def test_list_prints_a_readable_table(data_dir):
    lines = _invoke("list", "--data-dir", str(data_dir)).output.splitlines()
    assert lines[0] == f"data dir: {data_dir}"
    assert lines[1].split() == ["SYMBOL", "DATE", "LEVELS", "MESSAGES", "FIRST", "LAST", "TICK", "FILE"]
    assert lines[3].split()[:6] == ["GOOG", "2012-06-21", "10", "147,916", "09:30:00.015", "15:59:59.871"]


def test_list_reports_problems_next_to_good_days(tiny_lobster, tmp_path):
    tiny_lobster(symbol="GOOD", folder="a")
    bad = tiny_lobster(symbol="LONELY", folder="b")
    bad.orderbook.unlink()
    result = _invoke("list", "--data-dir", str(tmp_path), "--json")
    report = _last_json(result.output)
    assert [d["symbol"] for d in report["datasets"]] == ["GOOD"]
    assert report["problems"] == [f"{bad.message}: no orderbook file {bad.orderbook.name} next to it"]
    assert f"problem: {bad.message}: no orderbook file" in result.output


def test_show_json_describes_one_day(data_dir):
    result = _invoke("show", "goog", "2012-06-21", "--data-dir", str(data_dir), "--json")
    assert result.exit_code == 0, result.output
    info = _last_json(result.output)
    assert (info["symbol"], info["levels"], info["first_time"], info["last_time"]) == (
        "GOOG",
        10,
        "09:30:00.015105074",
        "15:59:59.871751084",
    )
    assert sum(info["event_counts"].values()) == info["messages"] == 147_916
    assert "first:    09:30:00.015105074" in result.output


def test_show_an_unknown_day_names_what_exists(data_dir):
    result = _invoke("show", "MSFT", "2012-06-21", "--data-dir", str(data_dir))
    assert isinstance(result.exception, DatasetNotFoundError)
    assert "available: AMZN 2012-06-21 (5 levels), GOOG 2012-06-21 (10 levels)" in str(result.exception)


def test_a_missing_data_dir_is_an_input_error(tmp_path):
    result = _invoke("list", "--data-dir", str(tmp_path / "absent"), "--json")
    assert isinstance(result.exception, MarsInputError) and "does not exist" in str(result.exception)


def test_mars_data_list_and_offline_fetch_through_the_real_command(data_dir, tmp_path):
    env = {**os.environ, "MARS_DATA_DIR": str(data_dir)}
    listed = subprocess.run(
        [sys.executable, "-m", "mars_core", "data", "list", "--json"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert [d["symbol"] for d in _last_json(listed.stdout)["datasets"]] == ["AMZN", "GOOG"]
    offline = subprocess.run(
        [
            sys.executable,
            "-m",
            "mars_core",
            "data",
            "fetch-samples",
            "--base-url",
            "http://127.0.0.1:9/",
            "--dest",
            str(tmp_path),
            "--timeout",
            "5",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert offline.returncode != 0
    assert "cannot reach http://127.0.0.1:9 (offline?)" in offline.stderr and "Traceback" not in offline.stderr
