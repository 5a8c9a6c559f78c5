"""Minute bars of a simulated run, built incrementally from recorded chunks.

Same columns as the data layer's `minute_bars` (so analysis treats replayed and
simulated days alike). Mids, spread and depth come from the book
snapshots (sampled, see `Recorder`), trades from the trade log, event counts
from the order log. Memory is one row of partial aggregates per minute.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from mars_core.data.bars import BAR_COLUMNS
from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, NS_PER_MINUTE
from mars_core.engine import OrderEvent, Status

# how a partial aggregate merges across chunks, by column suffix (everything else adds up)
_MERGE = {"open": "first", "close": "last", "high": "max", "low": "min"}


class BarBuilder:
    """Accumulates per-minute aggregates from "book", "trades" and "orders" chunks."""

    def __init__(self, date: dt.date) -> None:
        self.date = date
        self._parts: dict[str, list[pd.DataFrame]] = {"book": [], "trades": [], "orders": []}

    def add(self, table: str, chunk: pd.DataFrame) -> None:
        if table == "book":
            self._add_book(chunk)
        elif table == "trades":
            self._add_trades(chunk)
        elif table == "orders":
            self._add_orders(chunk)

    def _add_book(self, chunk: pd.DataFrame) -> None:
        ask, bid = chunk["ask_price_1"].to_numpy(), chunk["bid_price_1"].to_numpy()
        two_sided = (ask != DUMMY_ASK_PRICE) & (bid != DUMMY_BID_PRICE)
        bid_cols = [c for c in chunk.columns if c.startswith("bid_size_")]
        ask_cols = [c for c in chunk.columns if c.startswith("ask_size_")]
        rows = pd.DataFrame(
            {
                "minute": chunk["ts"].to_numpy() // NS_PER_MINUTE * NS_PER_MINUTE,
                "mid": np.where(two_sided, (ask + bid) / 2.0, np.nan),
                "spread": np.where(two_sided, (ask - bid).astype(np.float64), np.nan),
                "bid_depth": chunk[bid_cols].sum(axis=1).to_numpy(),
                "ask_depth": chunk[ask_cols].sum(axis=1).to_numpy(),
            }
        )
        part = rows.groupby("minute").agg(
            mid_open=("mid", "first"),
            mid_high=("mid", "max"),
            mid_low=("mid", "min"),
            mid_close=("mid", "last"),
            spread_sum=("spread", "sum"),
            spread_n=("spread", "count"),
            bid_depth_sum=("bid_depth", "sum"),
            ask_depth_sum=("ask_depth", "sum"),
            book_n=("bid_depth", "count"),
        )
        self._parts["book"].append(part)

    def _add_trades(self, chunk: pd.DataFrame) -> None:
        price = chunk["price"].to_numpy(np.float64)
        qty = chunk["qty"].to_numpy()
        rows = pd.DataFrame(
            {
                "minute": chunk["ts"].to_numpy() // NS_PER_MINUTE * NS_PER_MINUTE,
                "last": price,
                "qty": qty,
                "notional": price * qty,
            }
        )
        part = rows.groupby("minute").agg(
            last_open=("last", "first"),
            last_high=("last", "max"),
            last_low=("last", "min"),
            last_close=("last", "last"),
            volume=("qty", "sum"),
            trades=("qty", "count"),
            notional=("notional", "sum"),
        )
        self._parts["trades"].append(part)

    def _add_orders(self, chunk: pd.DataFrame) -> None:
        ok = chunk["status"].to_numpy() == Status.OK
        event = chunk["event"].to_numpy()
        rows = pd.DataFrame(
            {
                "minute": chunk["ts"].to_numpy() // NS_PER_MINUTE * NS_PER_MINUTE,
                "submits": ok & (event == OrderEvent.SUBMIT),
                "cancels": ok & ((event == OrderEvent.CANCEL) | (event == OrderEvent.DELETE)),
            }
        )
        self._parts["orders"].append(rows.groupby("minute").sum())

    def bars(self) -> pd.DataFrame:
        """The bars so far, one row per minute with any snapshot, trade or order."""
        merged = [_merge(parts) for parts in self._parts.values() if parts]
        if not merged:
            return pd.DataFrame(columns=list(BAR_COLUMNS))
        frame = pd.concat(merged, axis=1).sort_index()
        out = pd.DataFrame(index=frame.index)
        for col in ("mid_open", "mid_high", "mid_low", "mid_close", "last_open", "last_high", "last_low", "last_close"):
            out[col] = frame.get(col, np.nan)
        out["volume"] = _count(frame, "volume")
        out["trades"] = _count(frame, "trades")
        with np.errstate(invalid="ignore", divide="ignore"):
            out["spread"] = frame.get("spread_sum", np.nan) / frame.get("spread_n", np.nan)
            out["bid_depth"] = frame.get("bid_depth_sum", np.nan) / frame.get("book_n", np.nan)
            out["ask_depth"] = frame.get("ask_depth_sum", np.nan) / frame.get("book_n", np.nan)
            out["vwap"] = frame.get("notional", np.nan) / out["volume"].replace(0, np.nan)
        out["submits"] = _count(frame, "submits")
        out["cancels"] = _count(frame, "cancels")
        out["executions"] = out["trades"]
        out = out.reset_index().rename(columns={"index": "minute"})
        midnight = pd.Timestamp(self.date)
        out.insert(1, "time", midnight + pd.to_timedelta(out["minute"], unit="ns"))
        return out[list(BAR_COLUMNS)]


def _merge(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Combine partial per-minute aggregates from several chunks (chunks arrive in time order)."""
    frame = pd.concat(parts)
    if not frame.index.has_duplicates:
        return frame
    how = {col: _MERGE.get(col.split("_")[-1], "sum") for col in frame.columns}
    return frame.groupby(level=0).agg(how)


def _count(frame: pd.DataFrame, col: str) -> pd.Series:
    """An integer count of the merged aggregates, 0 in minutes without it (or in a run that never had one)."""
    return frame[col].fillna(0).astype(np.int64) if col in frame else pd.Series(0, index=frame.index, dtype=np.int64)
