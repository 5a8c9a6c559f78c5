"""Per-minute measurements of one start window, taken the same way for the real market and for a simulation.

The unit is the paper's (App. J, Fig. 22): one value per minute. A `Window` holds what a study sees after one
start point: the visible book as the simulator's recorder samples it (the state at the start, then the state after
the first event of every second that has one; `Window.from_messages` samples a real message stream by the same rule),
the submitted orders and the visible trades. Both sides go through the same code:

* the book is put on a one-second grid (`second_grid`): the state at the start, then the last sample before the end
  of each second, so spread and depth are time-weighted over each minute and every mid return spans one second;
* depth counts the levels the real file has (`levels`): a simulated 10-level book is clipped to AMZN's 5;
* a passive submission is "at the best" when it joins its own side's best price and "inside" when it improves the
  spread, both against the last book sample before it.

`minute_table` gives, per minute, the Table-7 rows that have a per-minute value (`similarity.METRICS`: volatility of
the one-second mid log returns within the minute, mean spread, mean order size, aggressive and buy ratios of the
submissions, and the 1-5 minute mid log returns from the minute's start, NaN where they leave the window) and the
closed-loop flow of `FLOW` (best-level size, depth of the other levels, traded volume, executions, submissions,
mean and median submitted size, shares of passive submissions at the best and inside the spread).
`fact_bars` gives the minute bars of the trades that the stylized facts read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.similarity import METRICS, RETURN_HORIZONS
from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, NS_PER_MINUTE, NS_PER_SECOND

FLOW = (
    "spread",
    "l1_size",
    "depth",
    "traded_volume",
    "executions",
    "submissions",
    "mean_size",
    "median_size",
    "at_best",
    "inside",
)
FLOW_NAMES = {
    "spread": "Mean spread",
    "l1_size": "Best-level size",
    "depth": "Depth of the other levels",
    "traded_volume": "Traded volume",
    "executions": "Executions",
    "submissions": "Submissions",
    "mean_size": "Mean order size",
    "median_size": "Median order size",
    "at_best": "Passive submissions at the best",
    "inside": "Passive submissions inside the spread",
}
ORDER_COLUMNS = ("ts", "side", "price", "qty", "aggressive")  # submissions only
TRADE_COLUMNS = ("ts", "price", "qty")  # visible executions


@dataclass(frozen=True)
class Window:
    """One start window of `minutes` minutes: book samples, submissions and trades, all in price units of the file."""

    start_ns: int
    minutes: int
    levels: int  # book levels measured (the real file's)
    book_ts: np.ndarray  # (K,) int64 sample times, increasing; the first at or before start_ns
    book: np.ndarray  # (K, 4 * L') int64 book after each sample, LOBSTER column order, L' >= levels
    orders: pd.DataFrame  # ORDER_COLUMNS: the window's submissions
    trades: pd.DataFrame  # TRADE_COLUMNS: the window's visible executions

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.minutes * NS_PER_MINUTE


def recorder_samples(ts: np.ndarray, start_ns: int, end_ns: int) -> np.ndarray:
    """Indices of the messages (times `ts`, increasing) the simulator's recorder would sample in [start_ns, end_ns):
    the last one at or before the start (the starting book), then the first message of every second that has one."""
    lo, hi = np.searchsorted(ts, [start_ns, end_ns], side="left")
    inside = np.arange(lo, hi)
    second = ts[inside] // NS_PER_SECOND
    first = inside[np.r_[True, second[1:] != second[:-1]]] if len(inside) else inside
    before = np.searchsorted(ts, start_ns, side="right") - 1
    return np.r_[max(before, 0), first].astype(np.int64)


def second_grid(window: Window) -> np.ndarray:
    """(S + 1, 4 * levels) the book at the start, then at the end of each of the S seconds of the window."""
    seconds = window.minutes * 60
    edges = window.start_ns + np.arange(seconds + 1, dtype=np.int64) * NS_PER_SECOND
    idx = np.searchsorted(window.book_ts, edges, side="left") - 1
    idx[0] = np.searchsorted(window.book_ts, window.start_ns, side="right") - 1
    return window.book[np.clip(idx, 0, len(window.book_ts) - 1), : 4 * window.levels]


def _two_sided(book: np.ndarray) -> np.ndarray:
    ask, ask_size, bid, bid_size = book[:, 0], book[:, 1], book[:, 2], book[:, 3]
    return (ask != DUMMY_ASK_PRICE) & (bid != DUMMY_BID_PRICE) & (ask_size > 0) & (bid_size > 0)


def _per_minute(values: np.ndarray, minutes: int, reduce: str = "mean") -> np.ndarray:
    """(M,) NaN-skipping mean (or std) of a (60 * M,) per-second array, NaN for a minute without a value."""
    grid = values.reshape(minutes, 60)
    ok = np.isfinite(grid)
    count = ok.sum(axis=1)
    total = np.where(ok, grid, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        if reduce == "mean":
            return np.where(count > 0, mean, np.nan)
        square = np.where(ok, (grid - mean[:, None]) ** 2, 0.0).sum(axis=1)
        return np.where(count > 1, np.sqrt(square / (count - 1)), np.nan)


def _book_rows(window: Window) -> dict[str, np.ndarray]:
    grid = second_grid(window).astype(np.float64)  # (S + 1, 4L)
    ok = _two_sided(grid)
    mid = np.where(ok, (grid[:, 0] + grid[:, 2]) / 2.0, np.nan)
    log_mid = np.log(mid)
    m = window.minutes
    at_minute = log_mid[::60]  # (M + 1,) log mid at the start of each minute and at the end
    out = {
        "volatility": _per_minute(np.diff(log_mid), m, "std"),
        "spread": _per_minute(np.where(ok, grid[:, 0] - grid[:, 2], np.nan)[1:], m),
        "l1_size": _per_minute(np.where(ok, (grid[:, 1] + grid[:, 3]) / 2.0, np.nan)[1:], m),
        "depth": _per_minute((grid[:, 5::4].sum(axis=1) + grid[:, 7::4].sum(axis=1))[1:], m),
    }
    for k in RETURN_HORIZONS:
        ahead = np.full(m, np.nan)  # from minute i to minute i + k, inside the window while i + k <= m
        if k <= m:
            ahead[: m - k + 1] = at_minute[k:] - at_minute[: m + 1 - k]
        out[f"return_{k}min"] = ahead
    return out


def _minute_of(ts: np.ndarray, window: Window) -> np.ndarray:
    return (np.asarray(ts, dtype=np.int64) - window.start_ns) // NS_PER_MINUTE


def _order_rows(window: Window) -> dict[str, np.ndarray]:
    o, m = window.orders, window.minutes
    minute = _minute_of(o["ts"].to_numpy(), window)
    keep = (minute >= 0) & (minute < m)
    minute = minute[keep]
    qty = o["qty"].to_numpy(np.float64)[keep]
    side = o["side"].to_numpy()[keep]
    price = o["price"].to_numpy()[keep]
    aggressive = o["aggressive"].to_numpy(bool)[keep]
    # the book just before each order: its last sample strictly earlier
    before = np.clip(np.searchsorted(window.book_ts, o["ts"].to_numpy()[keep], side="left") - 1, 0, None)
    book = window.book[before]  # (N, 4L), also when N = 0
    ok = _two_sided(book)
    ask, bid = book[:, 0], book[:, 2]
    best = np.where(side > 0, bid, ask)
    passive = ~aggressive & ok
    at_best = passive & (price == best)
    inside = passive & (price > bid) & (price < ask)

    def count(flags: np.ndarray) -> np.ndarray:
        return np.bincount(minute, weights=flags.astype(np.float64), minlength=m)

    n = count(np.ones(len(minute), bool))
    n_passive = count(passive)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_size = np.bincount(minute, weights=qty, minlength=m) / n
        out = {
            "mean_order_volume": mean_size,
            "mean_size": mean_size,
            "aggressive_order_ratio": count(aggressive) / n,
            "buy_order_ratio": count(side > 0) / n,
            "submissions": n,
            "at_best": count(at_best) / n_passive,
            "inside": count(inside) / n_passive,
        }
    median = np.full(m, np.nan)
    for i in np.unique(minute):
        median[i] = np.median(qty[minute == i])
    out["median_size"] = median
    return out


def _trade_rows(window: Window) -> dict[str, np.ndarray]:
    t, m = window.trades, window.minutes
    minute = _minute_of(t["ts"].to_numpy(), window)
    keep = (minute >= 0) & (minute < m)
    return {
        "traded_volume": np.bincount(minute[keep], weights=t["qty"].to_numpy(np.float64)[keep], minlength=m),
        "executions": np.bincount(minute[keep], minlength=m).astype(np.float64),
    }


def minute_table(window: Window) -> pd.DataFrame:
    """One row per minute of the window: `minute` (0 = the first) and the columns of `METRICS` and `FLOW`."""
    rows = {**_book_rows(window), **_order_rows(window), **_trade_rows(window)}
    frame = pd.DataFrame({"minute": np.arange(window.minutes)})
    for name in dict.fromkeys((*METRICS, *FLOW)):
        frame[name] = rows[name]
    return frame


def fact_bars(window: Window) -> pd.DataFrame:
    """Minute bars of the window's trades (`minute` in ns since midnight, `last_close`, `volume`, `vwap`), the input
    of `analysis.stylized_facts`; minutes without a trade are left out (the facts forward-fill the price)."""
    t = window.trades
    minute = np.asarray(t["ts"].to_numpy(), dtype=np.int64) // NS_PER_MINUTE * NS_PER_MINUTE
    keep = (minute >= window.start_ns) & (minute < window.end_ns)
    rows = pd.DataFrame(
        {
            "minute": minute[keep],
            "price": t["price"].to_numpy(np.float64)[keep],
            "qty": t["qty"].to_numpy(np.float64)[keep],
        }
    )
    rows["notional"] = rows["price"] * rows["qty"]
    bars = rows.groupby("minute", sort=True).agg(
        last_close=("price", "last"), volume=("qty", "sum"), notional=("notional", "sum")
    )
    bars["vwap"] = bars["notional"] / bars["volume"]
    return bars.drop(columns="notional").reset_index()
