"""The figure builders: grid sampling, depth binning and what the figures show."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analysis.charts import market
from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, NS_PER_SECOND

DATE = dt.date(2012, 6, 21)
T0 = 34_200 * NS_PER_SECOND  # 09:30:00


def two_level_book() -> tuple[np.ndarray, ...]:
    """Three messages; the book after each, two levels per side (prices in 1/10000 $)."""
    ts = np.array([T0, T0 + 10 * NS_PER_SECOND, T0 + 20 * NS_PER_SECOND])
    ask_prices = np.array([[1_000_100, 1_000_200], [1_000_100, 1_000_200], [1_000_200, DUMMY_ASK_PRICE]])
    ask_sizes = np.array([[100, 200], [50, 200], [300, 0]])
    bid_prices = np.array([[1_000_000, 999_900], [1_000_000, 999_900], [1_000_000, 999_900]])
    bid_sizes = np.array([[400, 500], [400, 500], [400, 500]])
    return ts, ask_prices, ask_sizes, bid_prices, bid_sizes


def test_time_grid_respects_the_point_budget_and_the_minimum_step() -> None:
    grid = market.time_grid(T0, T0 + 3600 * NS_PER_SECOND, max_points=100)
    assert len(grid) <= 101 and grid[0] == T0 and np.all(np.diff(grid) == 36 * NS_PER_SECOND)
    fine = market.time_grid(T0, T0 + 10 * NS_PER_SECOND, max_points=1000)
    assert np.all(np.diff(fine) == NS_PER_SECOND) and len(fine) == 11
    assert len(market.time_grid(T0, T0, 10)) == 0


def test_sample_rows_takes_the_last_event_at_or_before_each_time() -> None:
    ts = np.array([10, 20, 20, 30])
    assert market.sample_rows(ts, np.array([5, 10, 20, 25, 40])).tolist() == [-1, 0, 2, 2, 3]


def test_quote_grid_gives_mid_and_spread_as_of_each_grid_time() -> None:
    ts, ap, asz, bp, bsz = two_level_book()
    quotes = market.quote_grid(ts, ap, asz, bp, bsz, T0, T0 + 25 * NS_PER_SECOND, max_points=5)
    assert quotes.ts.tolist() == [T0 + k * 5 * NS_PER_SECOND for k in range(6)]
    assert quotes.spread.tolist() == [100, 100, 100, 100, 200, 200]
    assert quotes.mid[0] == 1_000_050


def test_quote_grid_is_nan_where_a_side_is_empty() -> None:
    ts, ap, asz, bp, bsz = two_level_book()
    ap, asz = ap.copy(), asz.copy()
    ap[1, 0], asz[1, 0] = DUMMY_ASK_PRICE, 0
    bp = bp.copy()
    bp[2, 0] = DUMMY_BID_PRICE
    quotes = market.quote_grid(ts, ap, asz, bp, bsz, T0 + 10 * NS_PER_SECOND, T0 + 20 * NS_PER_SECOND, max_points=1)
    assert np.isnan(quotes.best_ask[0]) and np.isnan(quotes.mid).all()


def test_book_grid_puts_each_visible_size_in_its_price_bin() -> None:
    ts, ap, asz, bp, bsz = two_level_book()
    grid = market.book_grid(ts, ap, asz, bp, bsz, T0, T0 + 20 * NS_PER_SECOND, tick_size=100, max_columns=2)
    assert grid.ts.tolist() == [T0, T0 + 10 * NS_PER_SECOND, T0 + 20 * NS_PER_SECOND]
    assert grid.prices.tolist() == [999_900, 1_000_000, 1_000_100, 1_000_200]  # one bin per tick
    assert np.nan_to_num(grid.bid_depth).tolist() == [[500, 500, 500], [400, 400, 400], [0, 0, 0], [0, 0, 0]]
    assert np.nan_to_num(grid.ask_depth).tolist() == [[0, 0, 0], [0, 0, 0], [100, 50, 0], [200, 200, 300]]
    assert np.isnan(grid.ask_depth[0, 0])  # empty cells are transparent, not zero


def test_book_grid_widens_bins_to_stay_within_the_row_budget() -> None:
    ts, ap, asz, bp, bsz = two_level_book()
    grid = market.book_grid(ts, ap, asz, bp, bsz, T0, T0 + 20 * NS_PER_SECOND, tick_size=100, max_rows=2)
    assert grid.prices.tolist() == [999_900, 1_000_100]  # 2-tick bins
    assert np.nan_to_num(grid.bid_depth[:, 0]).tolist() == [900, 0]
    assert np.nan_to_num(grid.ask_depth[:, 0]).tolist() == [0, 300]


def test_price_figure_splits_trades_by_aggressor_and_labels_axes() -> None:
    ts, ap, asz, bp, bsz = two_level_book()
    quotes = market.quote_grid(ts, ap, asz, bp, bsz, T0, T0 + 20 * NS_PER_SECOND)
    trade_ts = np.array([T0 + NS_PER_SECOND, T0 + 2 * NS_PER_SECOND])
    fig = market.price_figure(
        DATE,
        quotes.ts,
        quotes.mid,
        trade_ts,
        np.array([1_000_100, 1_000_000]),
        np.array([10, 20]),
        np.array([-1, 1]),
        title="X",
    )
    mid, buys, sells = fig.data
    assert mid.y[0] == 100.005 and buys.y.tolist() == [100.01] and sells.y.tolist() == [100.0]
    assert buys.name == "Buyer-initiated trade" and pd.Timestamp(buys.x[0]) == pd.Timestamp("2012-06-21 09:30:01")
    assert fig.layout.yaxis.title.text == "Price ($)" and fig.layout.xaxis.tickformat == "%H:%M"
    assert "2012-06-21" in fig.layout.xaxis.title.text


def test_price_figure_thins_trades_and_says_so() -> None:
    n = market.MAX_TRADE_MARKERS * 2
    fig = market.price_figure(
        DATE,
        np.array([T0]),
        np.array([1e6]),
        np.arange(n) + T0,
        np.full(n, 1_000_000),
        np.ones(n, dtype=int),
        np.full(n, -1),
        title="X",
    )
    assert len(fig.data[1].x) == market.MAX_TRADE_MARKERS
    assert f"showing {market.MAX_TRADE_MARKERS:,} of {n:,} trades" in fig.layout.title.text


def test_spread_figure_is_in_cents() -> None:
    fig = market.spread_figure(DATE, np.array([T0]), np.array([2_500.0]))
    assert fig.data[0].y.tolist() == [25.0] and fig.layout.yaxis.title.text == "Spread (¢)"


def test_order_flow_figure_stacks_the_three_message_kinds() -> None:
    counts = pd.DataFrame({"submits": [5, 6], "cancels": [3, 4], "executions": [1, 0]})
    minutes = np.array([T0, T0 + 60 * NS_PER_SECOND])
    fig = market.order_flow_figure(DATE, minutes, counts)
    assert [trace.name for trace in fig.data] == ["Submits", "Cancels", "Executions"]
    assert fig.layout.barmode == "stack" and fig.data[0].y.tolist() == [5, 6]


def test_depth_figure_draws_bids_asks_and_the_mid() -> None:
    ts, ap, asz, bp, bsz = two_level_book()
    grid = market.book_grid(ts, ap, asz, bp, bsz, T0, T0 + 20 * NS_PER_SECOND, tick_size=100)
    fig = market.depth_figure(DATE, grid)
    assert [trace.type for trace in fig.data] == ["heatmap", "heatmap", "scatter"]
    assert fig.data[0].y.tolist() == [99.99, 100.0, 100.01, 100.02]


def test_book_grid_leaves_out_stale_far_away_prices() -> None:
    # 300 rows of a tight book plus one far-away ask, as often seen at the open.
    n = 300
    ts = T0 + np.arange(n) * NS_PER_SECOND
    ap = np.tile([1_000_100, 1_000_200], (n, 1))
    ap[0, 1] = 1_100_000  # $110, far from the $100 market
    sizes = np.full((n, 2), 100)
    bp = np.tile([1_000_000, 999_900], (n, 1))
    grid = market.book_grid(ts, ap, sizes, bp, sizes, T0, ts[-1], tick_size=100)
    assert grid.prices.min() == 999_900 and grid.prices.max() == 1_000_200
