"""Stress scenarios (issue 15): how reach is measured, where the starts lie, the flow fidelity, one real unit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mars_core.control.run import ControlledRun
from mars_core.data import LobsterDay
from mars_core.data.schema import BPS, NS_PER_MINUTE
from mars_core.engine import parse_clock
from mars_core.experiments.stress_eval import (
    DEFAULT_SUITE,
    FIDELITY,
    SUITE,
    StressSettings,
    StressUnit,
    evaluate_unit,
    keep_unit,
    load_unit,
    reach,
    real_minutes,
    shortfall_bps,
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


def test_the_default_suite_is_the_issues_six_with_the_30_minute_decline() -> None:
    assert len(DEFAULT_SUITE) == 6 and StressSettings().scenarios == DEFAULT_SUITE
    assert "steady_decline_0.5pct_30min" in DEFAULT_SUITE and "steady_decline_0.5pct_10min" not in DEFAULT_SUITE
    assert SUITE["steady_decline_0.5pct_30min"] == "steady decline of 0.5% over 30 minutes"
    assert StressSettings(scenarios=("steady_decline_0.5pct_10min",)).scenarios == ("steady_decline_0.5pct_10min",)
    with pytest.raises(ValueError, match="unknown scenario steady_decline_1pct"):
        StressSettings(scenarios=("steady_decline_1pct",))


def test_the_shortfall_is_the_side_signed_gap_of_the_average_fill_to_the_arrival_mid_in_bps() -> None:
    # arrival mid 100.00 (price units x 10,000); rollout 0 fills 200 at 100.10 and 100.30, rollout 1 nothing
    run = ControlledRun(
        paths=np.zeros((2, 1)),
        target=np.zeros(1),
        seconds=0.0,
        orders=0,
        steps=0,
        candidate_seconds=0.0,
        twap_volume=300,
        fills=np.array([200, 0]),
        notional=np.array([100 * 1_001_000 + 100 * 1_003_000, 0.0]),
        arrival_mid=1_000_000.0,
    )
    buy, sell = shortfall_bps(run, 1), shortfall_bps(run, -1)
    assert buy[0] == pytest.approx(20.0) and sell[0] == pytest.approx(-20.0)  # a buyer paid 20 bps over the mid
    assert np.isnan(buy[1]) and np.isnan(sell[1])


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
    assert "twap_cost_bps" not in s and "cost_bps" not in s["arms"]["control"]


def test_the_twap_cost_is_reported_controlled_uncontrolled_and_paired(data_dir: Path) -> None:
    name = "sharp_drop_1pct_3min"
    target = target_of(name, str(data_dir))
    path = target.signal.logret[1:]
    costs = {  # per (start, arm): the shortfall of two rollouts (NaN: nothing filled)
        (0, "control_twap"): [4.0, 6.0],
        (0, "no_control_twap"): [1.0, 3.0],
        (1, "control_twap"): [2.0, np.nan],
        (1, "no_control_twap"): [1.0, 2.0],
    }
    results = [
        {
            "scenario": name,
            "start": f"s{i}",
            "arm": arm,
            "paths": np.stack([path, path]),
            "target": path,
            "seconds": 1.0,
            "orders": 10,
            "fulfillment": np.array([1.0, 0.5]),
            "cost_bps": np.array(cost),
            "minutes": None,
        }
        for (i, arm), cost in costs.items()
    ]
    s = summarize(results, {name: target}, str(data_dir))[name]
    arms = s["arms"]
    assert set(arms) == {"control_twap", "no_control_twap"} and arms["control_twap"]["ratio"]["mean"] == 1.0
    assert arms["control_twap"]["cost_bps"]["mean"] == pytest.approx((5.0 + 2.0) / 2)
    assert arms["control_twap"]["fulfillment"] == pytest.approx(0.75)
    cost = s["twap_cost_bps"]
    assert cost["control"]["mean"] == pytest.approx(3.5) and cost["no_control"]["mean"] == pytest.approx(1.75)
    # paired by start and seed: start 0 differs by 3 and 3, start 1 by 1 (its second rollout did not fill)
    assert cost["control_minus_no_control"]["mean"] == pytest.approx(2.0)
    lo, hi = cost["control_minus_no_control"]["ci"]
    assert lo <= 2.0 <= hi and cost["control_minus_no_control"]["starts"] == 2


def test_a_kept_unit_reads_back_as_it_was_computed(tmp_path: Path, data_dir: Path) -> None:
    unit = StressUnit("sharp_drop_1pct_3min", "GOOG", "2012-06-21", parse_clock("14:40"), "control", StressSettings())
    minutes = pd.DataFrame({"minute": [0, 1], **{c: [1.5, 2.5] for c in FIDELITY}, "rollout": [0, 0]})
    result = {
        "unit": unit,
        "paths": np.array([[0.001, -0.002, 0.003]]),
        "target": np.array([-0.003, -0.006, -0.01]),
        "seconds": 2.5,
        "orders": 123,
        "fulfillment": np.array([np.nan]),
        "cost_bps": np.array([np.nan]),
        "minutes": minutes,
    }
    keep_unit(tmp_path, result)
    back = load_unit(tmp_path, unit)
    assert back["scenario"] == unit.scenario and back["arm"] == "control" and back["start"] == "GOOG 2012-06-21 14:40"
    assert np.array_equal(back["paths"], result["paths"]) and back["seconds"] == 2.5 and back["orders"] == 123
    assert np.isnan(back["cost_bps"]).all()
    pd.testing.assert_frame_equal(back["minutes"], minutes.astype(np.float64))


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
