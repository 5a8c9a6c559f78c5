"""A rollout exported in LOBSTER format reads back through the data layer and replays to its book."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from mars_core.data import discover, load_day
from mars_core.engine import replay_day
from mars_core.errors import MarsInputError
from mars_core.sim.config import SimConfig
from mars_core.sim.export import export_lobster, export_parquet_zip
from mars_core.sim.rollouts import run_simulation
from mars_core.sim.store import RunDir
from mars_core.sim.twap import TWAPConfig


@pytest.fixture(scope="module")
def twap_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> RunDir:
    config = SimConfig(
        symbol="GOOG",
        date="2012-06-21",
        start="11:00",
        minutes=2,
        rollouts=1,
        background="noise",
        seed=5,
        twap=(TWAPConfig(volume=800, pvr=0.5, ap=2, duration_s=60),),
    )
    return RunDir(run_simulation(config, tmp_path_factory.mktemp("runs") / "r", str(data_dir), workers=1).run_dir)


@pytest.mark.parametrize("arm", ["treated", "baseline"])
def test_export_round_trips_through_the_data_layer(twap_run: RunDir, arm: str, tmp_path: Path) -> None:
    export_lobster(twap_run, 0, arm, tmp_path, levels=10)
    (info,) = discover(tmp_path)
    assert info.symbol == "GOOGSIM" and info.levels == 10
    day = load_day(info)
    _, report = replay_day(day)
    # the exported messages rebuild exactly the exported book; only levels resting deeper than
    # 10 at the start can appear unannounced, as in any LOBSTER file
    assert report.l1_match_rate == 1.0 and report.mismatch_causes["in_view"] == 0
    assert report.depth_match_rate > 0.95
    # the last exported row is the simulated book at the end of the run
    final = twap_run.table("book", 0, arm).drop(columns=["rollout", "arm", "ts"]).to_numpy()[-1]
    assert np.array_equal(day.book[-1], final)
    # every simulated trade is an execution message of the same total size
    trades = twap_run.table("trades", 0, arm)
    assert day.events.size[day.events.type == 4].sum() == trades["qty"].sum()


def test_parquet_zip_holds_every_table_and_the_config(twap_run: RunDir, tmp_path: Path) -> None:
    path = export_parquet_zip(twap_run, 0, "treated", tmp_path)
    names = set(zipfile.ZipFile(path).namelist())
    assert {
        "config.json",
        "orders.parquet",
        "trades.parquet",
        "book.parquet",
        "bars.parquet",
        "agent_fills.parquet",
    } <= names


def test_export_errors_name_the_problem(twap_run: RunDir, tmp_path: Path) -> None:
    with pytest.raises(MarsInputError, match="no finished rollout 7"):
        export_lobster(twap_run, 7, None, tmp_path)
    with pytest.raises(MarsInputError, match="no arm 'main'"):
        export_lobster(twap_run, 0, "main", tmp_path)
