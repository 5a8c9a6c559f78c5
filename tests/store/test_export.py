"""A rollout exported in LOBSTER format reads back through the data layer and replays to its book."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mars_core.data import discover, load_day
from mars_core.data.schema import NS_PER_SECOND
from mars_core.engine import replay_day
from mars_core.errors import MarsInputError
from mars_core.sim.agents.twap import TWAPConfig
from mars_core.sim.config import SimConfig
from mars_core.sim.runner import run_simulation
from mars_core.store import RunDir, export_lobster, export_parquet_zip, lobster_zip_bytes, run_zip_bytes


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


def test_downloads_zip_the_run_and_one_rollout_as_lobster(paired_run: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(run_zip_bytes(paired_run))) as archive:
        names = set(archive.namelist())
    assert {
        "config.json",
        "summary.json",
        "rollout=0000/arm=treated/book.parquet",
        "rollout=0001/arm=baseline/trades.parquet",
    } <= names
    with zipfile.ZipFile(io.BytesIO(lobster_zip_bytes(paired_run, 1, "treated", levels=5))) as archive:
        names = sorted(archive.namelist())
        book = archive.read(names[1]).decode().splitlines()
    assert [n.split("_")[-2] for n in names] == ["message", "orderbook"] and names[0].startswith("GOOGSIM_2012-06-21_")
    assert len(book[0].split(",")) == 20


@pytest.fixture(scope="module")
def replay_exports(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, tuple[Path, Path]]:
    """GOOG 15:10 + 5 min replayed without agents and with a TWAP seller, exported as LOBSTER (issue 14's windows)."""
    twap = TWAPConfig(side=-1, volume=2000, pvr=0.5, ap=2, duration_s=120, interval_s=30)
    exports = {}
    for name, agents in (("replay", ()), ("replay+twap", (twap,))):
        config = SimConfig(
            symbol="GOOG", date="2012-06-21", start="15:10", minutes=5, rollouts=1, background="replay", twap=agents
        )
        base = tmp_path_factory.mktemp(name.replace("+", "-"))
        run = RunDir(run_simulation(config, base / "run", str(data_dir), workers=1).run_dir)
        exports[name] = tuple(export_lobster(run, 0, None, base / "lobster", levels=10))
    return exports


def _read_export(message: Path, book: Path) -> tuple[np.ndarray, np.ndarray]:
    """Exported message times (ns) and orderbook rows."""
    times = [line.split(",", 1)[0].split(".") for line in message.read_text().splitlines()]
    ts = np.array([int(s) * NS_PER_SECOND + int(f.ljust(9, "0")) for s, f in times], dtype=np.int64)
    return ts, np.loadtxt(book, delimiter=",", dtype=np.int64)


@pytest.mark.parametrize("name", ["replay", "replay+twap"])
def test_no_exported_book_row_is_crossed(replay_exports: dict, name: str) -> None:
    _, rows = _read_export(*replay_exports[name])
    two_sided = (rows[:, 1] > 0) & (rows[:, 3] > 0)
    assert two_sided.mean() > 0.99
    assert not (two_sided & (rows[:, 0] <= rows[:, 2])).any()


def test_a_replay_export_reproduces_the_real_files_rows(replay_exports: dict, goog_day) -> None:
    """After the last message of every timestamp, the exported book is the real file's, on all ten levels."""
    ts, rows = _read_export(*replay_exports["replay"])
    last = np.r_[ts[1:] != ts[:-1], True]
    real = goog_day.book[np.searchsorted(goog_day.events.ts, ts[last], side="right") - 1]
    assert last.sum() > 1500
    np.testing.assert_array_equal(rows[last], real)
