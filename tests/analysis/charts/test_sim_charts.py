"""Reductions and figures of simulation runs: mid paths on a grid, fans, paired differences, execution."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from analysis import rollout_fans
from analysis.charts import sim as sim_charts
from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, NS_PER_SECOND

DATE = dt.date(2012, 6, 21)
T0 = 36_000 * NS_PER_SECOND  # 10:00:00


def book(ts: list[int], asks: list[int], bids: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": ts,
            "ask_price_1": asks,
            "ask_size_1": [100 if a != DUMMY_ASK_PRICE else 0 for a in asks],
            "bid_price_1": bids,
            "bid_size_1": [100 if b != DUMMY_BID_PRICE else 0 for b in bids],
        }
    )


def test_book_mid_is_nan_where_a_side_is_empty() -> None:
    frame = book([T0, T0 + 1, T0 + 2], [1_000_200, DUMMY_ASK_PRICE, 1_000_400], [1_000_000, 1_000_000, DUMMY_BID_PRICE])
    mid = rollout_fans.book_mid(frame)
    assert mid[0] == 1_000_100 and np.isnan(mid[1]) and np.isnan(mid[2])


def test_mid_on_grid_takes_the_last_snapshot_at_or_before_each_time() -> None:
    frame = book([T0, T0 + 2 * NS_PER_SECOND], [1_000_200, 1_000_600], [1_000_000, 1_000_000])
    grid = np.array([T0 - 1, T0, T0 + NS_PER_SECOND, T0 + 2 * NS_PER_SECOND, T0 + 9 * NS_PER_SECOND])
    mid = rollout_fans.mid_on_grid(frame, grid)
    assert np.isnan(mid[0]) and mid[1:].tolist() == [1_000_100, 1_000_100, 1_000_300, 1_000_300]
    assert np.isnan(rollout_fans.mid_on_grid(frame.iloc[:0], grid)).all()


def test_arrival_mid_is_the_middle_of_the_starting_books_best_quotes() -> None:
    start = pd.DataFrame(
        {"side": [1, 1, -1, -1], "price": [999_900, 1_000_000, 1_000_200, 1_000_300], "qty": [1, 1, 1, 1]}
    )
    assert rollout_fans.arrival_mid(start) == 1_000_100
    assert np.isnan(rollout_fans.arrival_mid(start[start["side"] == 1]))


def test_fan_gives_quantiles_across_rollouts_and_leaves_empty_times_nan() -> None:
    paths = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan], [4.0, np.nan], [5.0, np.nan]])
    fan = rollout_fans.fan(paths)
    assert fan.rollouts == 5
    assert fan.q(0.5)[0] == 3.0 and fan.q(0.1)[0] == pytest.approx(1.4) and fan.q(0.9)[0] == pytest.approx(4.6)
    assert np.isnan(fan.values[:, 1]).all()
    empty = rollout_fans.fan(np.empty((0, 3)))
    assert empty.rollouts == 0 and empty.values.shape == (5, 3) and np.isnan(empty.values).all()


def test_fan_matches_numpys_nanquantile_with_gaps() -> None:
    rng = np.random.default_rng(7)
    paths = rng.normal(size=(9, 40))
    paths[rng.random(paths.shape) < 0.3] = np.nan
    paths[:, 5] = np.nan
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanquantile(paths, rollout_fans.FAN_QUANTILES, axis=0)
    np.testing.assert_allclose(rollout_fans.fan(paths).values, expected, equal_nan=True)
    np.testing.assert_allclose(
        rollout_fans.fan(paths[:, 6:8].copy()).values[:, 0], np.nanquantile(paths[:, 6], rollout_fans.FAN_QUANTILES)
    )


def test_paired_difference_is_in_bps_of_each_rollouts_arrival_mid() -> None:
    treated = np.array([[1_000_000.0, 1_001_000.0], [2_000_000.0, 1_998_000.0]])
    baseline = np.array([[1_000_000.0, 1_000_000.0], [2_000_000.0, 2_000_000.0]])
    diff = rollout_fans.paired_difference_bps(treated, baseline, np.array([1_000_000.0, 2_000_000.0]))
    assert diff.tolist() == [[0.0, 10.0], [0.0, -10.0]]


def test_minute_stats_summarise_rollouts_per_arm_and_minute() -> None:
    bars = pd.DataFrame(
        {
            "rollout": [0, 1, 2, 0, 1, 2],
            "arm": ["main"] * 6,
            "minute": [T0] * 3 + [T0 + 60 * NS_PER_SECOND] * 3,
            "spread": [100.0, 200.0, 300.0, 100.0, 100.0, 100.0],
            "volume": [10, 20, 30, 0, 0, 60],
        }
    )
    stats = rollout_fans.minute_stats(bars).set_index("minute")
    assert stats.loc[T0, "spread_q50"] == 200.0 and stats.loc[T0, "volume_q50"] == 20 and stats.loc[T0, "rollouts"] == 3
    assert stats.loc[T0, "spread_q10"] == pytest.approx(120.0) and stats.loc[T0, "volume_q90"] == pytest.approx(28.0)
    assert stats.loc[T0 + 60 * NS_PER_SECOND, "volume_q50"] == 0
    assert rollout_fans.minute_stats(pd.DataFrame()).empty


def test_execution_summary_measures_fulfillment_and_vwap_against_arrival() -> None:
    fills = pd.DataFrame(
        {
            "rollout": [0, 0, 1, 0],
            "agent": [3, 3, 3, 4],
            "price": [1_000_100, 1_000_300, 1_000_000, 999_800],
            "qty": [100, 100, 50, 40],
        }
    )
    targets = [
        rollout_fans.ExecutionTarget(3, "TWAP 1", 1, 200),
        rollout_fans.ExecutionTarget(4, "TWAP 2", -1, 40),
        rollout_fans.ExecutionTarget(5, "TWAP 3", 1, 10),
    ]
    out = rollout_fans.execution_summary(
        fills, targets, pd.Series({0: 1_000_000.0, 1: 1_000_000.0, 2: 1_000_000.0}), [0, 1, 2]
    )
    buy, sell, idle = (out.iloc[k] for k in range(3))
    # rollout 0: 200 sh at 1_000_200 (+2 bps); rollout 1: 50 sh at arrival (0 bps); rollout 2: nothing filled
    assert buy["filled_mean"] == pytest.approx(250 / 3) and buy["fulfillment_mean"] == pytest.approx(1.25 / 3)
    assert buy["fulfillment_min"] == 0 and buy["slippage_bps_mean"] == pytest.approx(1.0)
    assert buy["vwap_mean"] == pytest.approx(1_000_100)
    # a sell 2 bps below arrival is a cost of +2 bps
    assert sell["fulfillment_mean"] == pytest.approx(1 / 3) and sell["slippage_bps_mean"] == pytest.approx(2.0)
    assert idle["filled_mean"] == 0 and np.isnan(idle["slippage_bps_mean"])


def _spec(fig) -> dict:  # noqa: ANN001
    return json.loads(fig.to_json())


def test_fan_figure_draws_bands_medians_the_real_day_and_fills_in_dollars() -> None:
    grid = T0 + np.arange(3) * NS_PER_SECOND
    fans = {
        "baseline": rollout_fans.fan(np.array([[1_000_000.0] * 3, [1_000_200.0] * 3])),
        "treated": rollout_fans.fan(np.array([[1_000_100.0] * 3, [1_000_300.0] * 3])),
    }
    fills = pd.DataFrame(
        {
            "ts": [T0, T0 + 1],
            "price": [1_000_200, 1_000_100],
            "qty": [100, 50],
            "side": [1, -1],
            "agent": [3, 3],
            "aggressive": [True, False],
            "rollout": [0, 1],
        }
    )
    fig = sim_charts.fan_figure(
        DATE, grid, fans, grid, np.array([1_000_000.0] * 3), fills, {3: "TWAP 1 (L1-P0.9)"}, title="t"
    )
    names = [t["name"] for t in _spec(fig)["data"] if t.get("name")]
    assert "Without your orders: median of 2 rollouts" in names and "With your orders: 10–90% of rollouts" in names
    assert sim_charts.REPLAY_LABEL in names
    assert "Your buy fills (aggressive)" in names and "Your sell fills (passive)" in names
    median = next(t for t in fig.data if t.name == "With your orders: median of 2 rollouts")
    assert list(median.y) == [100.02] * 3  # the median of 100.01 and 100.03 dollars
    buy = next(t for t in fig.data if t.name == "Your buy fills (aggressive)")
    assert list(buy.y) == [100.02] and buy.marker.symbol == "triangle-up"
    assert fig.layout.xaxis.tickformat == "%H:%M:%S"  # a short window shows seconds


def test_impact_figure_shows_the_median_difference_with_a_zero_line() -> None:
    grid = T0 + np.arange(2) * NS_PER_SECOND
    fig = sim_charts.impact_figure(DATE, grid, rollout_fans.fan(np.array([[0.0, 4.0], [0.0, 6.0]])))
    median = next(t for t in fig.data if t.name == "Difference: median of 2 rollouts")
    assert list(median.y) == [0.0, 5.0]
    assert fig.layout.shapes[0].y0 == 0


def test_minute_figure_shows_spread_in_cents_and_volume_for_the_real_day_and_each_arm() -> None:
    stats = pd.DataFrame(
        {
            "arm": ["main"],
            "minute": [T0],
            "spread_q10": [100.0],
            "spread_q50": [200.0],
            "spread_q90": [300.0],
            "volume_q10": [5.0],
            "volume_q50": [10.0],
            "volume_q90": [15.0],
            "rollouts": [3],
        }
    )
    replay = pd.DataFrame({"minute": [T0], "spread": [150.0], "volume": [40]})
    fig = sim_charts.minute_figure(DATE, stats, replay)
    spread = next(t for t in fig.data if t.name == "Simulated (median, 10–90%)")
    assert list(spread.y) == [2.0] and list(spread.error_y.array) == [1.0]  # cents
    bars = [t for t in fig.data if t.type == "bar"]
    assert [list(b.y) for b in bars] == [[40], [10.0]]


def test_fan_figure_marks_the_fills_of_the_first_rollouts_only_when_there_are_many() -> None:
    grid = T0 + np.arange(2) * NS_PER_SECOND
    rollouts = np.arange(20)
    fills = pd.DataFrame(
        {
            "ts": T0 + rollouts,
            "price": 1_000_000,
            "qty": 10,
            "side": 1,
            "agent": 3,
            "aggressive": True,
            "rollout": rollouts,
        }
    )
    fig = sim_charts.fan_figure(DATE, grid, {}, fills=fills, title="t")
    [marks] = [t for t in fig.data if t.name == "Your buy fills (aggressive)"]
    assert len(marks.x) == sim_charts.MAX_FILL_ROLLOUTS
    assert fig.layout.title.text == f"t (fills of the first {sim_charts.MAX_FILL_ROLLOUTS} of 20 rollouts)"
