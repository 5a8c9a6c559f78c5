"""Minute bars of a LOBSTER day: mid and trade OHLC, volume, spread, depth, event counts.

Prices stay in LOBSTER units (dollars x 10000) but become floats here, since
mids are half-ticks and means are fractional; bars feed analysis and plots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, NS_PER_MINUTE, EventType, LobsterDay

BAR_COLUMNS = (
    "minute",
    "time",
    "mid_open",
    "mid_high",
    "mid_low",
    "mid_close",
    "last_open",
    "last_high",
    "last_low",
    "last_close",
    "volume",
    "trades",
    "spread",
    "bid_depth",
    "ask_depth",
    "submits",
    "cancels",
    "executions",
    "vwap",
)


def minute_bars(day: LobsterDay, start_ns: int | None = None, end_ns: int | None = None) -> pd.DataFrame:
    """One row per minute that has events in [start_ns, end_ns).

    Args:
        day: a loaded day.
        start_ns: first time included (ns since midnight); None from the first event.
        end_ns: first time excluded; None through the last event.

    Returns:
        Columns `BAR_COLUMNS`: `minute` (int ns of the minute's start) and `time`
        (its Timestamp on the trading date); mid OHLC from LOBSTER's book after
        each message, ignoring rows with an empty side; last-trade OHLC from
        executions (types 4, 5), NaN in a minute without trades; `volume` (shares
        executed); `trades` and `executions` (execution messages); `spread`
        (mean ask1 - bid1 over two-sided rows); `bid_depth`/`ask_depth` (mean
        visible size over all levels); `submits` (type 1) and `cancels` (types 2, 3);
        `vwap` (the minute's mean trade price, NaN without trades).
    """
    events, book = day.events, day.book
    keep = np.ones(len(events), dtype=bool)
    if start_ns is not None:
        keep &= events.ts >= start_ns
    if end_ns is not None:
        keep &= events.ts < end_ns
    ts, kind, size, price = events.ts[keep], events.type[keep], events.size[keep], events.price[keep]
    book = book[keep]  # (M, 4N)
    ask1, ask1_size, bid1, bid1_size = book[:, 0], book[:, 1], book[:, 2], book[:, 3]
    two_sided = (ask1 != DUMMY_ASK_PRICE) & (bid1 != DUMMY_BID_PRICE) & (ask1_size > 0) & (bid1_size > 0)
    executed = (kind == EventType.EXECUTE) | (kind == EventType.EXECUTE_HIDDEN)
    rows = pd.DataFrame(
        {
            "minute": ts // NS_PER_MINUTE * NS_PER_MINUTE,
            "mid": np.where(two_sided, (ask1 + bid1) / 2.0, np.nan),
            "spread": np.where(two_sided, (ask1 - bid1).astype(np.float64), np.nan),
            "last": np.where(executed, price.astype(np.float64), np.nan),
            "volume": np.where(executed, size, 0),
            "notional": np.where(executed, size * price.astype(np.float64), 0.0),
            "executed": executed,
            "submitted": kind == EventType.SUBMIT,
            "cancelled": (kind == EventType.CANCEL) | (kind == EventType.DELETE),
            "bid_depth": book[:, 3::4].sum(axis=1),
            "ask_depth": book[:, 1::4].sum(axis=1),
        }
    )
    # first/last/max/min skip NaN: the open is the minute's first two-sided mid / first trade.
    bars = rows.groupby("minute", sort=True).agg(
        mid_open=("mid", "first"),
        mid_high=("mid", "max"),
        mid_low=("mid", "min"),
        mid_close=("mid", "last"),
        last_open=("last", "first"),
        last_high=("last", "max"),
        last_low=("last", "min"),
        last_close=("last", "last"),
        volume=("volume", "sum"),
        trades=("executed", "sum"),
        spread=("spread", "mean"),
        bid_depth=("bid_depth", "mean"),
        ask_depth=("ask_depth", "mean"),
        submits=("submitted", "sum"),
        cancels=("cancelled", "sum"),
        executions=("executed", "sum"),
        notional=("notional", "sum"),
    )
    bars["vwap"] = bars.pop("notional") / bars["volume"].where(bars["volume"] > 0)
    bars = bars.reset_index()
    bars.insert(1, "time", pd.Timestamp(day.info.date) + pd.to_timedelta(bars["minute"].to_numpy(), unit="ns"))
    return bars.astype(dict.fromkeys(("minute", "volume", "trades", "submits", "cancels", "executions"), np.int64))
