"""Plotly figure builders for order-book data: pure functions, no Streamlit.

Inputs follow the project conventions (time: int ns since midnight of the
trading date; prices: int dollars x 10000; sizes: int shares). Conversion to
dollars, cents and wall-clock datetimes happens here, at the display edge, so
the dashboard pages and the reports draw the same figures from the same data.

Large inputs are reduced before they reach the browser: the book is sampled
on a regular time grid (`time_grid`, `sample_rows`) and trades are thinned
to at most `MAX_TRADE_MARKERS` points.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, NS_PER_SECOND

PRICE_SCALE = 10_000  # LOBSTER price units per dollar
MAX_TRADE_MARKERS = 5_000
BID_COLOR = "#1a9850"
ASK_COLOR = "#d73027"
MID_COLOR = "#1f2d3d"
FLOW_COLORS = {"submits": "#4c78a8", "cancels": "#f58518", "executions": "#54a24b"}


@dataclass(frozen=True, slots=True)
class QuoteGrid:
    """Best bid and ask sampled on a regular time grid (NaN where a side is empty)."""

    ts: np.ndarray  # (T,) int64 grid times, ns since midnight
    best_bid: np.ndarray  # (T,) float price units
    best_ask: np.ndarray  # (T,) float price units

    @property
    def mid(self) -> np.ndarray:
        return (self.best_bid + self.best_ask) / 2

    @property
    def spread(self) -> np.ndarray:
        return self.best_ask - self.best_bid


@dataclass(frozen=True, slots=True)
class BookGrid:
    """The visible book sampled on a regular time grid.

    Sizes are float32 (exact below 2**24 shares) because empty cells are NaN,
    drawn transparent; float32 halves what the browser receives.
    """

    ts: np.ndarray  # (T,) int64 grid times, ns since midnight
    prices: np.ndarray  # (P,) int64 lower edge of each price bin, price units
    bid_depth: np.ndarray  # (P, T) float shares resting on the bid side, NaN if none
    ask_depth: np.ndarray  # (P, T) float shares resting on the ask side, NaN if none
    best_bid: np.ndarray  # (T,) float price units, NaN when that side is empty
    best_ask: np.ndarray  # (T,) float price units, NaN when that side is empty

    @property
    def mid(self) -> np.ndarray:
        return (self.best_bid + self.best_ask) / 2

    @property
    def spread(self) -> np.ndarray:
        return self.best_ask - self.best_bid


def time_grid(start_ns: int, end_ns: int, max_points: int, min_step_ns: int = NS_PER_SECOND) -> np.ndarray:
    """Regular grid of at most `max_points` times in [start_ns, end_ns], at least `min_step_ns` apart."""
    if end_ns <= start_ns or max_points < 1:
        return np.empty(0, dtype=np.int64)
    step = max(min_step_ns, -(-(end_ns - start_ns) // max_points))
    return np.arange(start_ns, end_ns + 1, step, dtype=np.int64)


def sample_rows(event_ts: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Index of the last event at or before each grid time; -1 before the first event."""
    return np.searchsorted(event_ts, grid, side="right") - 1


def _best(prices: np.ndarray, sizes: np.ndarray, dummy: int) -> np.ndarray:
    """Level-1 price per row as float, NaN where the level is empty."""
    if prices.shape[1] == 0:
        return np.full(len(prices), np.nan)
    ok = (prices[:, 0] != dummy) & (sizes[:, 0] > 0)
    return np.where(ok, prices[:, 0], np.nan)


def quote_grid(
    event_ts: np.ndarray,
    ask_prices: np.ndarray,
    ask_sizes: np.ndarray,
    bid_prices: np.ndarray,
    bid_sizes: np.ndarray,
    start_ns: int,
    end_ns: int,
    max_points: int = 2_000,
) -> QuoteGrid:
    """Best bid/ask (from M x L book arrays) as of each time of a regular grid over [start_ns, end_ns]."""
    grid = time_grid(start_ns, end_ns, max_points)
    rows = sample_rows(event_ts, grid)
    grid, rows = grid[rows >= 0], rows[rows >= 0]
    return QuoteGrid(
        grid,
        _best(bid_prices[rows], bid_sizes[rows], DUMMY_BID_PRICE),
        _best(ask_prices[rows], ask_sizes[rows], DUMMY_ASK_PRICE),
    )


def book_grid(
    event_ts: np.ndarray,
    ask_prices: np.ndarray,
    ask_sizes: np.ndarray,
    bid_prices: np.ndarray,
    bid_sizes: np.ndarray,
    start_ns: int,
    end_ns: int,
    tick_size: int,
    max_columns: int = 400,
    max_rows: int = 200,
    trim: float = 0.005,
) -> BookGrid:
    """Sample the visible book (M x L arrays) on a time grid and bin it by price.

    The price axis spans the visible prices between their `trim` and
    1 - `trim` quantiles, so a few stale orders far from the market (common
    at the open) do not squash the picture; prices outside are left out.
    Bins are whole multiples of the tick, wide enough that at most
    `max_rows` bins cover that span.
    """
    grid = time_grid(start_ns, end_ns, max_columns)
    rows = sample_rows(event_ts, grid)
    keep = rows >= 0
    grid, rows = grid[keep], rows[keep]
    ap, asz, bp, bsz = ask_prices[rows], ask_sizes[rows], bid_prices[rows], bid_sizes[rows]  # (T, L)
    ask_ok = (ap != DUMMY_ASK_PRICE) & (asz > 0)
    bid_ok = (bp != DUMMY_BID_PRICE) & (bsz > 0)
    best_ask, best_bid = _best(ap, asz, DUMMY_ASK_PRICE), _best(bp, bsz, DUMMY_BID_PRICE)

    visible = np.concatenate([ap[ask_ok], bp[bid_ok]])
    if visible.size == 0:
        empty = np.empty((0, len(grid)), dtype=np.float32)
        return BookGrid(grid, np.empty(0, dtype=np.int64), empty, empty.copy(), best_bid, best_ask)
    tick = max(int(tick_size), 1)
    lo = int(np.quantile(visible, trim, method="lower"))
    hi = int(np.quantile(visible, 1 - trim, method="higher"))
    ask_ok &= (ap >= lo) & (ap <= hi)
    bid_ok &= (bp >= lo) & (bp <= hi)
    ticks_needed = (hi - lo) // tick + 1
    bin_width = tick * -(-ticks_needed // max_rows)
    n_bins = (hi - lo) // bin_width + 1
    prices = lo + bin_width * np.arange(n_bins, dtype=np.int64)

    def binned(prices_tl: np.ndarray, sizes_tl: np.ndarray, ok: np.ndarray) -> np.ndarray:
        depth = np.zeros((n_bins, len(grid)), dtype=np.float32)
        cols = np.broadcast_to(np.arange(len(grid))[:, None], ok.shape)[ok]
        np.add.at(depth, ((prices_tl[ok] - lo) // bin_width, cols), sizes_tl[ok])
        depth[depth == 0] = np.nan
        return depth

    return BookGrid(grid, prices, binned(bp, bsz, bid_ok), binned(ap, asz, ask_ok), best_bid, best_ask)


def to_datetimes(date: dt.date, ns: np.ndarray | pd.Series) -> pd.DatetimeIndex:
    """Wall-clock datetimes on `date` for ns-since-midnight values."""
    return pd.Timestamp(date) + pd.to_timedelta(np.asarray(ns, dtype=np.int64), unit="ns")


def thin(n: int, limit: int) -> np.ndarray:
    """Indices of at most `limit` evenly spread items out of `n`."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).astype(np.int64))


def _style(fig: go.Figure, title: str, date: dt.date, y_title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        hoverlabel={"namelength": -1},
    )
    fig.update_xaxes(
        title_text=f"Time (exchange local, {date.isoformat()})", tickformat="%H:%M", hoverformat="%H:%M:%S"
    )
    fig.update_yaxes(title_text=y_title)
    return fig


def price_figure(
    date: dt.date,
    grid_ts: np.ndarray,
    mid: np.ndarray,
    trade_ts: np.ndarray,
    trade_prices: np.ndarray,
    trade_sizes: np.ndarray,
    trade_sides: np.ndarray,
    title: str = "Mid price and trades",
    height: int = 420,
) -> go.Figure:
    """Mid price as a step line and trades as markers, split by aggressor side.

    `trade_sides` is LOBSTER's execution direction: the side of the resting
    order, so a resting sell (-1) filled means a buyer-initiated trade.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=to_datetimes(date, grid_ts),
            y=np.asarray(mid) / PRICE_SCALE,
            name="Mid price",
            mode="lines",
            line={"color": MID_COLOR, "width": 1.4, "shape": "hv"},
            hovertemplate="mid $%{y:.4f}<extra></extra>",
        )
    )
    keep = thin(len(trade_ts), MAX_TRADE_MARKERS)
    ts, px, sz, sd = (np.asarray(a)[keep] for a in (trade_ts, trade_prices, trade_sizes, trade_sides))
    for name, mask, color, symbol in (
        ("Buyer-initiated trade", sd == -1, BID_COLOR, "triangle-up"),
        ("Seller-initiated trade", sd == 1, ASK_COLOR, "triangle-down"),
    ):
        fig.add_trace(
            go.Scatter(
                x=to_datetimes(date, ts[mask]),
                y=px[mask] / PRICE_SCALE,
                name=name,
                mode="markers",
                marker={"color": color, "size": 6, "symbol": symbol, "opacity": 0.7},
                customdata=sz[mask],
                hovertemplate="trade $%{y:.2f} × %{customdata} sh<extra></extra>",
            )
        )
    if len(trade_ts) > len(keep):
        title += f" (showing {len(keep):,} of {len(trade_ts):,} trades)"
    _style(fig, title, date, "Price ($)", height)
    fig.update_yaxes(tickprefix="$", tickformat=",.2f")
    return fig


def spread_figure(
    date: dt.date, grid_ts: np.ndarray, spread: np.ndarray, title: str = "Bid-ask spread", height: int = 340
) -> go.Figure:
    """Quoted spread in cents over time (price units / 100 = cents)."""
    cents = np.asarray(spread, dtype=float) / (PRICE_SCALE / 100)
    fig = go.Figure(
        go.Scatter(
            x=to_datetimes(date, grid_ts),
            y=cents,
            name="Spread",
            mode="lines",
            line={"color": "#7b3294", "width": 1.2, "shape": "hv"},
            fill="tozeroy",
            fillcolor="rgba(123,50,148,0.12)",
            hovertemplate="spread %{y:.1f}¢<extra></extra>",
        )
    )
    _style(fig, title, date, "Spread (¢)", height)
    fig.update_yaxes(rangemode="tozero")
    return fig


def depth_figure(date: dt.date, grid: BookGrid, title: str = "Visible book depth", height: int = 480) -> go.Figure:
    """Heatmap of resting size by price and time (bids green, asks red) with the mid price on top."""
    x = to_datetimes(date, grid.ts)
    y = grid.prices / PRICE_SCALE
    fig = go.Figure()
    finite = np.concatenate([grid.bid_depth[np.isfinite(grid.bid_depth)], grid.ask_depth[np.isfinite(grid.ask_depth)]])
    zmax = float(np.percentile(finite, 95)) if finite.size else 1.0  # a few huge orders would wash out the rest
    for name, depth, color, bar_x in (
        ("Bid size", grid.bid_depth, BID_COLOR, 1.0),
        ("Ask size", grid.ask_depth, ASK_COLOR, 1.09),
    ):
        fig.add_trace(
            go.Heatmap(
                x=x,
                y=y,
                z=depth,
                name=name,
                zmin=0,
                zmax=max(zmax, 1.0),
                colorscale=[[0, _tint(color, 0.25)], [1, color]],
                colorbar={"title": {"text": f"{name} (sh)", "side": "right"}, "x": bar_x, "len": 0.9, "thickness": 12},
                # sizes above the 95th percentile share the darkest colour; the hover shows the true size
                hovertemplate=f"{name.split()[0].lower()} %{{z:,.0f}} sh @ $%{{y:.2f}}<br>%{{x|%H:%M:%S}}<extra></extra>",
                hoverongaps=False,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=grid.mid / PRICE_SCALE,
            name="Mid price",
            mode="lines",
            opacity=0.8,
            line={"color": MID_COLOR, "width": 1, "shape": "hv"},
            hovertemplate="mid $%{y:.4f}<extra></extra>",
        )
    )
    _style(fig, title, date, "Price ($)", height)
    fig.update_layout(margin={"r": 110}, showlegend=False)
    fig.update_yaxes(tickprefix="$", tickformat=",.2f")
    return fig


def order_flow_figure(
    date: dt.date, minute_ns: np.ndarray, counts: pd.DataFrame, title: str = "Order flow per minute", height: int = 340
) -> go.Figure:
    """Stacked bars of message counts per minute; `counts` has columns submits, cancels, executions."""
    x = to_datetimes(date, minute_ns)
    fig = go.Figure()
    for column, color in FLOW_COLORS.items():
        fig.add_trace(
            go.Bar(
                x=x,
                y=np.asarray(counts[column]),
                name=column.capitalize(),
                marker_color=color,
                xperiod=60_000,
                xperiodalignment="middle",  # a bar spans its whole minute (period in ms)
                hovertemplate=f"{column} %{{y:,}}<extra></extra>",
            )
        )
    _style(fig, title, date, "Messages per minute", height)
    fig.update_layout(barmode="stack", bargap=0.1, hovermode="x unified", legend_traceorder="normal")
    return fig


def _tint(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
