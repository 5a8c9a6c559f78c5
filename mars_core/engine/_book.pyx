# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled price-time priority order book of the clearing house: `OrderBook`.

`BookCore` (`_core.pyx`) holds the data structure, matching, order entry and the
integrity check, with the book's invariants in its docstring; `OrderBook` extends
it with the queries (best prices, depth, a level's queue, the order an agent may
cancel) and the columnar trade and order logs that the recorder drains.
"""
from cython.operator cimport dereference as deref, predecrement as dec, preincrement as inc
from libc.stdint cimport int8_t, int32_t, int64_t
from libcpp.map cimport map as cmap
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector

import numpy as np
cimport numpy as cnp

from mars_core.engine._core cimport BookCore, Level, Order

cnp.import_array()


cdef class OrderBook(BookCore):
    """A limit order book with price-time matching (see `BookCore` and the module docstrings).

    Prices are integers (LOBSTER units), sizes integer shares, times integer ns.
    """

    # ------------------------------------------------------------------ queries
    def best_bid(self) -> int:
        """Best bid price, 0 when the bid side is empty."""
        return 0 if self.bids.empty() else -deref(self.bids.begin()).first

    def best_ask(self) -> int:
        """Best ask price, 0 when the ask side is empty."""
        return 0 if self.asks.empty() else deref(self.asks.begin()).first

    def qty_at(self, int side, int64_t price) -> int:
        """Resting quantity at a price on one side (0 if no level)."""
        return self.level_qty(<int8_t>side, price)

    def n_levels(self, int side) -> int:
        return self.bids.size() if side > 0 else self.asks.size()

    def __len__(self) -> int:
        return self.index.size()

    def __contains__(self, int64_t order_id) -> bool:
        return self.index.count(order_id) > 0

    def depth(self, int side, int levels=-1):
        """(prices, quantities) of the best `levels` levels of one side (all when -1), best first."""
        cdef cmap[int64_t, Level]* book = self._side_map(<int8_t>side)
        cdef Py_ssize_t n = book.size() if levels < 0 or <size_t>levels > book.size() else levels
        cdef cnp.ndarray[cnp.int64_t] prices = np.empty(n, dtype=np.int64)
        cdef cnp.ndarray[cnp.int64_t] qtys = np.empty(n, dtype=np.int64)
        cdef cmap[int64_t, Level].iterator it = book.begin()
        cdef Py_ssize_t i
        for i in range(n):
            prices[i] = -deref(it).first if side > 0 else deref(it).first
            qtys[i] = deref(it).second.qty
            inc(it)
        return prices, qtys

    def top(self, int levels, cnp.ndarray[cnp.int64_t, ndim=1] out=None):
        """The visible book in LOBSTER's column order (ask p/s, bid p/s per level), dummy-padded."""
        if out is None:
            out = np.empty(4 * levels, dtype=np.int64)
        elif out.shape[0] < 4 * levels:
            raise ValueError(f"out has {out.shape[0]} slots, need {4 * levels}")
        self.top_into(<int64_t*>cnp.PyArray_DATA(out), levels)
        return out

    def order(self, int64_t order_id):
        """(side, price, qty, agent, ts) of a resting order, or None."""
        cdef unordered_map[int64_t, int32_t].iterator it = self.index.find(order_id)
        if it == self.index.end():
            return None
        cdef Order o = self.pool[deref(it).second]
        return (o.side, o.price, o.qty, o.agent, o.ts)

    def queue(self, int side, int64_t price):
        """[(order_id, qty, agent)] resting at one price, head (first to fill) first."""
        cdef cmap[int64_t, Level]* book = self._side_map(<int8_t>side)
        cdef cmap[int64_t, Level].iterator it = book.find(-price if side > 0 else price)
        result = []
        if it == book.end():
            return result
        cdef int32_t slot = deref(it).second.head
        while slot >= 0:
            result.append((self.pool[slot].id, self.pool[slot].qty, self.pool[slot].agent))
            slot = self.pool[slot].next
        return result

    def pick_order(self, int side, int64_t price, int max_agent, double u, int max_levels=10) -> int:
        """Id of a resting order of an agent <= `max_agent` at the level nearest to `price`, or 0.

        Levels are tried by distance from `price` (at most `max_levels`); within the first
        level holding such orders, the `u`-quantile (0 <= u < 1) of them in queue order.
        """
        cdef cmap[int64_t, Level]* book = self._side_map(<int8_t>side)
        if book.empty():
            return 0
        cdef int64_t key = -price if side > 0 else price
        cdef cmap[int64_t, Level].iterator up = book.lower_bound(key)
        cdef cmap[int64_t, Level].iterator down = up
        cdef cmap[int64_t, Level].iterator it
        cdef int tried = 0, count, k
        cdef int32_t slot
        while tried < max_levels and (up != book.end() or down != book.begin()):
            # the nearer of the next level at/after key and the one before it
            if down != book.begin() and (up == book.end() or key - deref(prev_it(down)).first < deref(up).first - key):
                down = prev_it(down)
                it = down
            else:
                it = up
                inc(up)
            tried += 1
            count = 0
            slot = deref(it).second.head
            while slot >= 0:
                count += self.pool[slot].agent <= max_agent
                slot = self.pool[slot].next
            if count == 0:
                continue
            k = <int>(u * count)
            slot = deref(it).second.head
            while slot >= 0:
                if self.pool[slot].agent <= max_agent:
                    if k == 0:
                        return self.pool[slot].id
                    k -= 1
                slot = self.pool[slot].next
        return 0

    def resting_qty(self) -> int:
        cdef int64_t total = 0
        cdef cmap[int64_t, Level].iterator it = self.asks.begin()
        while it != self.asks.end():
            total += deref(it).second.qty
            inc(it)
        it = self.bids.begin()
        while it != self.bids.end():
            total += deref(it).second.qty
            inc(it)
        return total

    # -------------------------------------------------------------------- logs
    @property
    def n_trades(self) -> int:
        """Trades recorded since the book was created (drained ones included)."""
        return self.trades_drained + self.t_ts.size()

    def trades(self, Py_ssize_t start=0) -> dict:
        """Trades from the `start`-th (counting drained ones) as columnar NumPy arrays."""
        cdef Py_ssize_t lo = max(0, start - self.trades_drained)
        cdef Py_ssize_t n = self.t_ts.size()
        return {
            "ts": _i64(self.t_ts, lo, n), "price": _i64(self.t_price, lo, n), "qty": _i64(self.t_qty, lo, n),
            "aggressor": _i8(self.t_aggressor, lo, n), "maker_id": _i64(self.t_maker, lo, n),
            "taker_id": _i64(self.t_taker, lo, n), "maker_agent": _i32(self.t_maker_agent, lo, n),
            "taker_agent": _i32(self.t_taker_agent, lo, n),
        }

    def drain_trades(self) -> dict:
        """Return every buffered trade and free the buffer (keeps memory bounded)."""
        result = self.trades(self.trades_drained)
        self.trades_drained += self.t_ts.size()
        self.t_ts.clear(); self.t_price.clear(); self.t_qty.clear(); self.t_maker.clear(); self.t_taker.clear()
        self.t_maker_agent.clear(); self.t_taker_agent.clear(); self.t_aggressor.clear()
        return result

    @property
    def n_logged(self) -> int:
        return self.o_ts.size()

    def drain_orders(self) -> dict:
        """Return the buffered order log (submits, cancels, modifies with status) and free it."""
        cdef Py_ssize_t n = self.o_ts.size()
        result = {
            "ts": _i64(self.o_ts, 0, n), "event": _i8(self.o_event, 0, n), "order_id": _i64(self.o_id, 0, n),
            "agent": _i32(self.o_agent, 0, n), "side": _i8(self.o_side, 0, n), "price": _i64(self.o_price, 0, n),
            "qty": _i64(self.o_qty, 0, n), "kind": _i8(self.o_kind, 0, n), "status": _i8(self.o_status, 0, n),
        }
        self.o_ts.clear(); self.o_event.clear(); self.o_id.clear(); self.o_agent.clear(); self.o_side.clear()
        self.o_price.clear(); self.o_qty.clear(); self.o_kind.clear(); self.o_status.clear()
        return result


cdef inline cmap[int64_t, Level].iterator prev_it(cmap[int64_t, Level].iterator it):
    dec(it)
    return it


cdef _i64(vector[int64_t]& v, Py_ssize_t lo, Py_ssize_t hi):
    cdef cnp.ndarray[cnp.int64_t] out = np.empty(max(0, hi - lo), dtype=np.int64)
    cdef Py_ssize_t i
    for i in range(lo, hi):
        out[i - lo] = v[i]
    return out


cdef _i32(vector[int32_t]& v, Py_ssize_t lo, Py_ssize_t hi):
    cdef cnp.ndarray[cnp.int32_t] out = np.empty(max(0, hi - lo), dtype=np.int32)
    cdef Py_ssize_t i
    for i in range(lo, hi):
        out[i - lo] = v[i]
    return out


cdef _i8(vector[int8_t]& v, Py_ssize_t lo, Py_ssize_t hi):
    cdef cnp.ndarray[cnp.int8_t] out = np.empty(max(0, hi - lo), dtype=np.int8)
    cdef Py_ssize_t i
    for i in range(lo, hi):
        out[i - lo] = v[i]
    return out
