"""Per-minute measurements of a start window, on a hand-made book, order flow and trades."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import minute_metrics as mm
from analysis.similarity import METRICS
from mars_core.data.schema import NS_PER_MINUTE, NS_PER_SECOND

T0 = 10 * 60 * NS_PER_MINUTE
S = NS_PER_SECOND


def _window(levels: int = 2) -> mm.Window:
    # LOBSTER order per level: ask price, ask size, bid price, bid size; a third level the measurement must ignore
    book = np.array(
        [
            [1010, 10, 1000, 20, 1020, 5, 990, 7, 1100, 999, 900, 999],
            [1030, 4, 1000, 20, 1040, 8, 990, 7, 1100, 999, 900, 999],
        ]
    )
    orders = pd.DataFrame(
        {
            "ts": [T0 + 10 * S, T0 + 20 * S, T0 + 25 * S, T0 + 70 * S],
            "side": [1, -1, 1, -1],
            "price": [1000, 1005, 1010, 1030],
            "qty": [10, 30, 20, 5],
            "aggressive": [False, False, True, False],
        }
    )
    trades = pd.DataFrame(
        {"ts": [T0 + 25 * S, T0 + 90 * S, T0 + 95 * S], "price": [1010, 1030, 1030], "qty": [20, 4, 6]}
    )
    return mm.Window(T0, 2, levels, np.array([T0, T0 + 30 * S]), book, orders, trades)


def test_recorder_samples_are_the_start_and_the_first_message_of_each_second() -> None:
    ts = np.array([T0 - 5, T0 + S // 2, T0 + 7 * S // 10, T0 + 21 * S // 10, T0 + 22 * S // 10, T0 + 121 * S])
    assert mm.recorder_samples(ts, T0, T0 + 120 * S).tolist() == [0, 1, 3]


def test_book_rows_are_time_weighted_over_each_second_of_the_minute() -> None:
    t = mm.minute_table(_window())
    assert list(t.columns) == ["minute", *dict.fromkeys((*METRICS, *mm.FLOW))]
    assert t["spread"].tolist() == [20.0, 30.0]  # 10 for 30 s, then 30
    assert t["l1_size"].tolist() == [13.5, 12.0]  # (10 + 20) / 2, then (4 + 20) / 2
    assert t["depth"].tolist() == [13.5, 15.0]  # level 2 only: 5 + 7, then 8 + 7
    jump = np.log(1015 / 1005)
    assert t["volatility"][0] == pytest.approx(jump / np.sqrt(60))  # one jump in 60 one-second returns
    assert t["volatility"][1] == 0.0
    assert t["return_1min"].tolist() == pytest.approx([jump, 0.0])
    assert t["return_2min"][0] == pytest.approx(jump) and np.isnan(t["return_2min"][1])
    assert t["return_5min"].isna().all()


def test_flow_rows_count_submissions_and_place_them_against_the_book_before_them() -> None:
    t = mm.minute_table(_window())
    assert t["submissions"].tolist() == [3, 1]
    assert t["mean_order_volume"].tolist() == [20.0, 5.0] and t["median_size"].tolist() == [20.0, 5.0]
    assert t["aggressive_order_ratio"].tolist() == pytest.approx([1 / 3, 0.0])
    assert t["buy_order_ratio"].tolist() == pytest.approx([2 / 3, 0.0])
    assert t["at_best"].tolist() == [0.5, 1.0]  # the buy at the bid; then the sell at the new ask
    assert t["inside"].tolist() == [0.5, 0.0]  # the sell at 1005 inside 1000-1010
    assert t["traded_volume"].tolist() == [20.0, 10.0] and t["executions"].tolist() == [1.0, 2.0]


def test_depth_counts_only_the_levels_of_the_real_file() -> None:
    assert mm.minute_table(_window(levels=3))["depth"][0] == 13.5 + 2 * 999


def test_fact_bars_are_the_minutes_with_trades() -> None:
    bars = mm.fact_bars(_window())
    assert bars["minute"].tolist() == [T0, T0 + NS_PER_MINUTE]
    assert bars["last_close"].tolist() == [1010, 1030] and bars["volume"].tolist() == [20, 10]
    assert bars["vwap"].tolist() == [1010, 1030]


def test_a_quiet_window_has_zero_counts_and_undefined_shares() -> None:
    empty = {c: np.zeros(0, np.int64) for c in mm.ORDER_COLUMNS}
    window = mm.Window(
        T0,
        2,
        1,
        np.array([T0]),
        np.array([[110, 5, 100, 5]]),
        pd.DataFrame(empty),
        pd.DataFrame({c: np.zeros(0, np.int64) for c in mm.TRADE_COLUMNS}),
    )
    t = mm.minute_table(window)
    assert t["submissions"].tolist() == [0, 0] and t["traded_volume"].tolist() == [0, 0]
    assert t["spread"].tolist() == [10.0, 10.0] and t["volatility"].tolist() == [0.0, 0.0]
    assert t[["mean_order_volume", "median_size", "at_best", "inside"]].isna().all().all()
    assert mm.fact_bars(window).empty
