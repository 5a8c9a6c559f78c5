"""`mars simulate` and `mars export` from the command line: JSON last line, clean errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mars_core.paths import RUNS_ENV
from mars_core.sim.runs import list_simulations, simulation_dir


def mars(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess:
    extra = ["--data-dir", str(data_dir)] if data_dir else []
    return subprocess.run(
        [sys.executable, "-m", "mars_core", *args, *extra], capture_output=True, text=True, timeout=300
    )


def test_simulate_prints_the_summary_and_export_writes_lobster_files(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "run"
    done = mars(
        "simulate",
        "--symbol",
        "GOOG",
        "--date",
        "2012-06-21",
        "--start",
        "10:00",
        "--minutes",
        "1",
        "--rollouts",
        "2",
        "--background",
        "noise",
        "--seed",
        "7",
        "--twap",
        "side=buy,volume=500,pvr=0.9,ap=1,duration=60",
        "--out",
        str(out),
        "--json",
        data_dir=data_dir,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) >= {"run_dir", "rollouts", "orders", "trades", "seconds", "orders_per_s"}
    assert result["rollouts"] == 2 and result["arms"] == 4 and result["orders"] > 500
    exported = mars("export", str(out), "--rollout", "1", "--arm", "treated", "--out", str(tmp_path / "lob"), "--json")
    files = json.loads(exported.stdout.strip().splitlines()[-1])["files"]
    assert [Path(f).name.split("_")[-2] for f in files] == ["message", "orderbook"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "17:00"], "outside GOOG 2012-06-21's trading window"),
        (["--symbol", "XYZ"], "no dataset XYZ"),
        (["--twap", "side=up,volume=5"], "side must be buy or sell"),
        (["--twap", "volume=-5"], "volume"),
        (["--rollouts", "0"], "rollouts"),
        (["--twap", "volume=500,duration=120"], "twap 1: execution time 2 min is longer than the run (1 min)"),
    ],
)
def test_bad_input_gets_one_clear_line(args: list[str], message: str, tmp_path: Path, data_dir: Path) -> None:
    options = {
        "--symbol": "GOOG",
        "--date": "2012-06-21",
        "--minutes": "1",
        "--rollouts": "1",
        "--out": str(tmp_path / "x"),
    }
    options.update(zip(args[::2], args[1::2]))
    done = mars("simulate", *[x for item in options.items() for x in item], "--json", data_dir=data_dir)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and message in done.stderr
    assert "error" in json.loads(done.stdout.strip().splitlines()[-1])


def test_bad_injected_file_names_the_row(tmp_path: Path, data_dir: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("time,action,side,price,qty\n10:00:01,limit,buy,575.10,100\n10:00:02,limit,buy,575.10,-3\n")
    done = mars(
        "simulate",
        "--symbol",
        "GOOG",
        "--date",
        "2012-06-21",
        "--inject",
        str(csv),
        "--out",
        str(tmp_path / "x"),
        data_dir=data_dir,
    )
    assert done.returncode == 2 and f"{csv}, row 3: qty must be positive" in done.stderr


def test_injected_orders_outside_the_window_are_refused_as_on_the_page(tmp_path: Path, data_dir: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("time,action,side,price,qty\n10:00:30,limit,buy,575.10,100\n10:01:00,market,buy,,100\n")
    done = mars(
        "simulate",
        "--symbol",
        "GOOG",
        "--date",
        "2012-06-21",
        "--start",
        "10:00",
        "--minutes",
        "1",
        "--inject",
        str(csv),
        "--out",
        str(tmp_path / "x"),
        data_dir=data_dir,
    )
    assert done.returncode == 2
    assert "injected orders, row 3: time 10:01:00 is not before the run ends at 10:01:00" in done.stderr
    assert not (tmp_path / "x").exists()  # refused before anything was written


def test_export_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    done = mars("export", str(tmp_path), "--json")
    assert done.returncode == 2 and "not a MarS run directory" in done.stderr


def test_simulate_without_out_shares_the_pages_runs_root_and_identity(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "runs"
    args = ["simulate", "--symbol", "GOOG", "--date", "2012-06-21", "--minutes", "0.5", "--rollouts", "1", "--json"]
    env = {**os.environ, RUNS_ENV: str(root)}
    first = subprocess.run(
        [sys.executable, "-m", "mars_core", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert first.returncode == 0, first.stderr
    run_dir = Path(json.loads(first.stdout.strip().splitlines()[-1])["run_dir"])
    runs, problems = list_simulations(root)  # what the Simulate page lists
    assert [r.path for r in runs] == [run_dir] and not problems
    assert simulation_dir(runs[0].config, root) == (run_dir, True)
    again = subprocess.run(
        [sys.executable, "-m", "mars_core", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert Path(json.loads(again.stdout.strip().splitlines()[-1])["run_dir"]) == run_dir
    assert [p.name for p in root.iterdir()] == [run_dir.name]
