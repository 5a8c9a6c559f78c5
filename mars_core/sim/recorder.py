"""Columnar recording of a run: orders, trades and sampled book snapshots, flushed in chunks.

The book keeps its own order and trade logs; the recorder drains them into a
sink every `flush_every` events so memory stays bounded however long the run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mars_core.engine import OrderBook

Sink = Callable[[str, pd.DataFrame], None]  # (table name, chunk)


class Recorder:
    """Buffers book snapshots and drains the book's logs into `sink` in chunks.

    Args:
        book: the exchange's order book (its order log must be on).
        levels: snapshot depth (top-N, LOBSTER column order).
        interval_ns: sampling interval of snapshots; 0 records one after every event.
        sink: receives (table, DataFrame) chunks; tables are "orders", "trades", "book".
        flush_every: events buffered before a flush.
    """

    def __init__(self, book: OrderBook, levels: int, interval_ns: int, sink: Sink, flush_every: int = 50_000) -> None:
        self.book = book
        self.levels = levels
        self.interval_ns = interval_ns
        self.sink = sink
        self.flush_every = flush_every
        self.next_snapshot = 0
        self._cap = 4096
        self._snap_ts = np.empty(self._cap, np.int64)
        self._snap = np.empty((self._cap, 4 * levels), np.int64)
        self._n = 0
        self.counts = {"orders": 0, "trades": 0, "book": 0}

    def snapshot(self, ts: int, force: bool = False) -> None:
        """Record the visible book at `ts` when the sampling interval says so (always with `force`)."""
        if ts < self.next_snapshot and not force:
            return
        if self._n == self._cap:
            self.flush_book()
        self.book.top(self.levels, self._snap[self._n])
        self._snap_ts[self._n] = ts
        self._n += 1
        if self.interval_ns > 0:
            self.next_snapshot = (ts // self.interval_ns + 1) * self.interval_ns

    def maybe_flush(self) -> None:
        if self.book.n_logged >= self.flush_every:
            self.flush()

    def flush_book(self) -> None:
        if self._n == 0:
            return
        frame = pd.DataFrame(self._snap[: self._n], columns=book_columns(self.levels))
        frame.insert(0, "ts", self._snap_ts[: self._n].copy())
        self._emit("book", frame)
        self._n = 0

    def flush(self) -> None:
        """Drain every buffer into the sink."""
        orders = self.book.drain_orders()
        if len(orders["ts"]):
            self._emit("orders", pd.DataFrame(orders))
        trades = self.book.drain_trades()
        if len(trades["ts"]):
            self._emit("trades", pd.DataFrame(trades))
        self.flush_book()

    def _emit(self, table: str, frame: pd.DataFrame) -> None:
        self.counts[table] += len(frame)
        self.sink(table, frame)


def book_columns(levels: int) -> list[str]:
    """LOBSTER column order: ask_price_1, ask_size_1, bid_price_1, bid_size_1, ask_price_2, ..."""
    return [
        f"{name}_{lvl}" for lvl in range(1, levels + 1) for name in ("ask_price", "ask_size", "bid_price", "bid_size")
    ]
