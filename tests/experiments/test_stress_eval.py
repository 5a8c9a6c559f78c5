"""Stress scenarios (issue 15): how reach is measured, where the starts lie, the flow fidelity, one real unit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mars_core.data import LobsterDay
from mars_core.data.schema import BPS, NS_PER_MINUTE
from mars_core.engine import parse_clock
from mars_core.experiments.stress_eval import (
    FIDELITY,
    StressSettings,
    StressUnit,
    evaluate_unit,
    reach,
    real_minutes,
    stress_starts,
    summarize,
    target_of,
)

ENSEMBLE = Path(__file__).resolve().parents[2] / "assets" / "models" / "ensemble" / "ensemble.pt"
needs_models = pytest.mark.skipif(not ENSEMBLE.is_file(), reason="no shipped ensemble")


def test_reach_is_the_move_at_the_end_at_the_turn_or_the_one_minute_volatility() -> None:
    drop = np.array([-0.002, -0.006, -0.01])
    ratio, side = reach(np.stack([drop / 2, -drop]), drop, "sharp_drop")
    assert ratio.tolist() == pytest.approx([0.5, -1.0]) and side.tolist() == [True, False]
    reversal = np.array([-0.002, -0.005, -0.003, 0.0])  # the first leg ends at minute 2 (index 1)
    ratio, side = reach(np.stack([np.array([0.0, -0.005, 0.01, 0.02])]), reversal, "trend_reversal")
    assert ratio.tolist() == pytest.approx([1.0]) and side.tolist() == [True]
    spike = np.array([0.004, -0.004, 0.004])  # 1-minute returns of 40, 80, 80 bps
    ratio, side = reach(np.stack([spike, spike / 2, np.zeros(3)]), spike, "volatility_spike")
    assert ratio.tolist() == pytest.approx([1.0, 0.5, 0.0]) and side.tolist() == [True, False, False]


def test_starts_lie_in_their_window_and_leave_the_longest_scenario_room(goog_day: LobsterDay) -> None:
    held = stress_starts(goog_day, 3, "held_out", 30)
    assert len(held) == 3 and held == sorted(held) and all(t % NS_PER_MINUTE == 0 for t in held)
    assert parse_clock("14:30") < held[0] and held[-1] + 30 * NS_PER_MINUTE < parse_clock("16:00")
    train = stress_starts(goog_day, 2, "training", 30)
    assert train[0] > parse_clock("10:00") and train[-1] + 30 * NS_PER_MINUTE < parse_clock("14:30")


def test_the_summary_reports_reach_against_the_target_and_flow_against_its_real_window(data_dir: Path) -> None:
    name = "sharp_drop_1pct_3min"
    target = target_of(name, str(data_dir))
    path = target.signal.logret[1:]
    assert path[-1] == pytest.approx(np.log(0.99)) and target.minutes == 3
    real = real_minutes(target, str(data_dir))
    results = [
        {
            "scenario": name,
            "start": f"s{i}",
            "arm": arm,
            "paths": np.stack([path * (0.5 + i), path * (1.5 + i)]) if arm == "control" else np.stack([-path, path]),
            "target": path,
            "seconds": 1.0,
            "orders": 10,
            "minutes": real.assign(rollout=0) if arm == "control" else None,
        }
        for i in range(2)
        for arm in ("control", "no_control")
    ]
    s = summarize(results, {name: target}, str(data_dir))[name]
    assert s["target_bps"] == pytest.approx(np.log(0.99) * BPS, abs=0.01)
    assert s["ratio"]["mean"] == pytest.approx(1.5) and s["target_side"] == 1.0 and s["corr"] == pytest.approx(1.0)
    assert (
        s["arms"]["no_control"]["ratio"]["mean"] == pytest.approx(0.0) and s["arms"]["no_control"]["target_side"] == 0.5
    )
    assert s["fidelity"] == {c: pytest.approx(1.0) for c in FIDELITY}


@needs_models
def test_a_controlled_unit_returns_its_paths_and_its_flow_minute_by_minute(data_dir: Path) -> None:
    settings = StressSettings(rollouts=2)
    unit = StressUnit(
        "sharp_drop_1pct_3min", "GOOG", "2012-06-21", parse_clock("14:40"), "control", settings, str(data_dir)
    )
    out = evaluate_unit(unit)
    assert out["paths"].shape == (2, 3) and np.isfinite(out["paths"]).all() and out["orders"] > 50
    table: pd.DataFrame = out["minutes"]
    assert (
        sorted(table["rollout"].unique()) == [0, 1]
        and table.groupby("rollout")["minute"].apply(list).tolist() == [[0, 1, 2]] * 2
    )
    assert (table["submissions"] > 0).all() and (table["spread"] > 0).all()
