"""Rollouts: determinism by seed, paired common random numbers, resume, atomic arms, the run store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mars_core.errors import ConfigError, MarsInputError
from mars_core.sim import runner
from mars_core.sim.agents.twap import TWAPConfig
from mars_core.sim.config import SimConfig
from mars_core.sim.runner import run_simulation
from mars_core.store import TABLES, RunDir, catalog

FAR_AWAY_ORDER = "time,action,side,price,qty,client_id\n10:00:10,limit,buy,100.00,100,far\n"


def config(**overrides) -> SimConfig:
    base = dict(symbol="GOOG", date="2012-06-21", start="10:00", minutes=1, rollouts=2, background="noise", seed=3)
    return SimConfig(**(base | overrides))


def _tables(run: RunDir) -> dict[str, pd.DataFrame]:
    return {t: run.table(t) for t in TABLES}


def test_same_seed_gives_identical_tables_and_another_seed_does_not(tmp_path: Path, data_dir: Path) -> None:
    a = run_simulation(config(), tmp_path / "a", str(data_dir), workers=2)
    b = run_simulation(config(), tmp_path / "b", str(data_dir), workers=1)
    c = run_simulation(config(seed=4), tmp_path / "c", str(data_dir), workers=1)
    ta, tb, tc = (_tables(RunDir(s.run_dir)) for s in (a, b, c))
    for name in ("orders", "trades", "book", "bars"):
        pd.testing.assert_frame_equal(ta[name], tb[name])
    assert not ta["orders"].equals(tc["orders"])
    # rollouts of one run differ from each other
    orders = ta["orders"]
    assert (
        not orders[orders.rollout == 0]
        .drop(columns="rollout")
        .reset_index(drop=True)
        .equals(orders[orders.rollout == 1].drop(columns="rollout").reset_index(drop=True))
    )


def test_paired_arms_share_the_background_draws(tmp_path: Path, data_dir: Path) -> None:
    """An order that never trades changes nothing else: treated and baseline flows are identical."""
    summary = run_simulation(config(inject_csv=FAR_AWAY_ORDER, rollouts=1), tmp_path / "p", str(data_dir), workers=1)
    run = RunDir(summary.run_dir)
    treated, baseline = (run.table("orders", 0, arm) for arm in ("treated", "baseline"))
    background = treated[treated.agent != 2].drop(columns="arm").reset_index(drop=True)
    pd.testing.assert_frame_equal(background, baseline.drop(columns="arm").reset_index(drop=True))
    injected = run.table("agent_orders", 0, "treated")
    assert injected["status"].tolist() == [0] and injected["client_id"].tolist() == ["far"]


def test_twap_moves_the_price_against_itself(tmp_path: Path, data_dir: Path) -> None:
    twap = TWAPConfig(side=1, volume=3000, pvr=0.1, ap=5, duration_s=120)
    summary = run_simulation(
        config(background="replay", minutes=3, rollouts=1, twap=(twap,)), tmp_path / "t", str(data_dir)
    )
    run = RunDir(summary.run_dir)
    bars = run.table("bars")
    mids = bars.pivot_table(index="minute", columns="arm", values="mid_close")
    assert (mids["treated"] - mids["baseline"]).iloc[1] > 0  # buying pushed the mid up
    agents = run.arm_summary(0, "treated")["agents"]["3"]
    assert agents["name"] == "L5-P0.1" and 0.8 < agents["fulfillment"] <= 1.0


def test_resume_skips_finished_arms_and_rejects_a_different_config(tmp_path: Path, data_dir: Path, monkeypatch) -> None:
    out = tmp_path / "r"
    calls: list[tuple[int, str]] = []
    real = runner.run_arm

    def failing_second(cfg, path, rollout, arm, data):  # the second arm "crashes" the first time
        calls.append((rollout, arm))
        if rollout == 1 and len(calls) == 2:
            raise KeyboardInterrupt
        return real(cfg, path, rollout, arm, data)

    monkeypatch.setattr(runner, "run_arm", failing_second)
    with pytest.raises(KeyboardInterrupt):
        run_simulation(config(), out, str(data_dir), workers=1)
    run = RunDir(out)
    assert run.finished() == [(0, "main")]
    assert not list(out.glob("rollout=0001/*"))  # the interrupted arm left nothing behind
    run_simulation(config(), out, str(data_dir), workers=1)
    assert calls == [(0, "main"), (1, "main"), (1, "main")]
    assert run.finished() == [(0, "main"), (1, "main")]
    with pytest.raises(MarsInputError, match="already holds a different run"):
        run_simulation(config(seed=9), out, str(data_dir), workers=1)


def test_memory_is_bounded_by_flushing_in_chunks(tmp_path: Path, data_dir: Path, monkeypatch) -> None:
    from mars_core.sim import recorder

    whole = run_simulation(config(rollouts=1), tmp_path / "whole", str(data_dir), workers=1)
    monkeypatch.setattr(recorder.Recorder, "__init__", _small_buffers(recorder.Recorder.__init__))
    chunked = run_simulation(config(rollouts=1), tmp_path / "chunked", str(data_dir), workers=1)
    for name in ("orders", "trades", "book", "bars"):
        pd.testing.assert_frame_equal(RunDir(whole.run_dir).table(name), RunDir(chunked.run_dir).table(name))


def _small_buffers(init):
    def wrapped(self, book, levels, interval_ns, sink, flush_every=50_000):
        init(self, book, levels, interval_ns, sink, flush_every=100)
        self._cap = 16
        self._snap_ts, self._snap = self._snap_ts[:16], self._snap[:16]

    return wrapped


def test_catalog_queries_across_runs(tmp_path: Path, data_dir: Path) -> None:
    run_simulation(config(rollouts=1), tmp_path / "runs" / "one", str(data_dir), workers=1)
    run_simulation(config(rollouts=1, background="replay"), tmp_path / "runs" / "two", str(data_dir), workers=1)
    con = catalog(tmp_path / "runs")
    rows = con.sql("select run, arm, count(*) as n from trades group by all order by run").fetchall()
    assert [r[0] for r in rows] == ["one", "two"] and all(r[1] == "main" and r[2] > 0 for r in rows)
    per_run = dict(con.sql("select run, count(distinct rollout) from bars group by run").fetchall())
    assert per_run == {"one": 1, "two": 1}


def test_bad_configs_and_not_a_run_directory(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="outside"):
        run_simulation(config(start="08:00"), tmp_path / "x", str(data_dir))
    with pytest.raises(ConfigError, match="after the end"):
        run_simulation(config(start="15:58", minutes=5), tmp_path / "x", str(data_dir))
    with pytest.raises(ConfigError, match="rollouts"):
        SimConfig.from_dict({"symbol": "GOOG", "date": "2012-06-21", "rollouts": 0})
    with pytest.raises(ConfigError, match="date"):
        SimConfig.from_dict({"symbol": "GOOG", "date": "21/06/2012"})
    with pytest.raises(MarsInputError, match="no dataset"):
        run_simulation(config(symbol="MSFT"), tmp_path / "x", str(data_dir))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    with pytest.raises(MarsInputError, match="not a MarS run"):
        RunDir.open(tmp_path / "junk")
    with pytest.raises(MarsInputError, match="not a MarS run"):
        run_simulation(config(), tmp_path / "junk", str(data_dir))


def test_summary_json_counts_every_arm(tmp_path: Path, data_dir: Path) -> None:
    summary = run_simulation(config(), tmp_path / "s", str(data_dir), workers=1)
    saved = json.loads((Path(summary.run_dir) / "summary.json").read_text())
    assert saved["arms"] == 2 and saved["orders"] == summary.orders > 0
    assert saved["orders"] == len(RunDir(summary.run_dir).table("orders"))
    assert np.isclose(summary.orders_per_s, summary.orders / summary.seconds)
