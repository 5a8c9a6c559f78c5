# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled LOBSTER replay: apply every message to an OrderBook and compare with LOBSTER's book.

`mars_core.engine.replay` documents the rules and wraps this hot loop.
"""
from cython.operator cimport dereference as deref, preincrement as inc
from libc.stdint cimport int8_t, int32_t, int64_t
from libcpp.map cimport map as cmap
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector

import numpy as np
cimport numpy as cnp

from mars_core.engine._book cimport Level, Order, OrderBook

cnp.import_array()

# Mismatch causes, in the order of CAUSES in replay.py. A mismatching message counts under
# the first cause any of its levels shows.
cdef enum:
    C_REVEALED = 0      # liquidity enters the window at a price the book knew nothing of
    C_OUT_OF_VIEW = 1   # a level the book knew changed while outside the window
    C_IN_VIEW = 2       # a level inside the previous window differs: not explained by the window
    N_CAUSES = 3

# Anomalies in the message file, in the order of ANOMALIES in replay.py.
cdef enum:
    A_REUSED_ID = 0     # a submission with the id of a resting order
    A_DELETE_SIZE = 1   # a deletion whose size differs from what the order has left
    A_OVERDRAWN = 2     # a cancel/execution larger than the whole level at its price
    N_ANOMALIES = 3

cdef enum:
    EXECUTE = 4


cdef class Replayer:
    """Replays LOBSTER messages into a book, message by message, and tallies the comparison.

    Liquidity that no message introduced (resting before the open, or entered
    outside the top N levels) is held as synthetic orders with negative ids at
    the head of their level; messages on ids the file never added draw on it.
    """

    cdef OrderBook book
    cdef int levels
    cdef unordered_map[int64_t, int64_t] unknown   # key(side, price) -> id of its synthetic order
    cdef int64_t next_synthetic
    cdef public bint halted
    cdef public int64_t messages, verified, l1_matches, depth_matches, corrections
    cdef public cnp.ndarray row_causes      # int64[N_CAUSES]: mismatching messages by cause
    cdef public cnp.ndarray level_causes    # int64[N_CAUSES]: mismatching levels by cause
    cdef public cnp.ndarray anomalies       # int64[N_ANOMALIES]
    cdef list _rows
    cdef cnp.ndarray _mine
    # every correction: after message c_msg, level (c_side, c_price) changed by c_delta shares
    cdef vector[int64_t] c_msg
    cdef vector[int64_t] c_price
    cdef vector[int64_t] c_delta
    cdef vector[int8_t] c_side

    def __cinit__(self, OrderBook book, int levels):
        self.book = book
        self.levels = levels
        self.next_synthetic = -1
        self.row_causes = np.zeros(N_CAUSES, dtype=np.int64)
        self.level_causes = np.zeros(N_CAUSES, dtype=np.int64)
        self.anomalies = np.zeros(N_ANOMALIES, dtype=np.int64)
        self._rows = []
        self._mine = np.empty(4 * levels, dtype=np.int64)

    @property
    def mismatch_rows(self) -> np.ndarray:
        """Indices of the messages after which the visible book did not match LOBSTER's."""
        return np.asarray(self._rows, dtype=np.int64)

    def corrections_table(self) -> dict:
        """Every correction from the snapshot: after message `msg`, level (side, price) changed by `delta` shares."""
        n = self.c_msg.size()
        table = {"msg": np.empty(n, np.int64), "side": np.empty(n, np.int8), "price": np.empty(n, np.int64), "delta": np.empty(n, np.int64)}
        for j in range(n):
            table["msg"][j] = self.c_msg[j]
            table["side"][j] = self.c_side[j]
            table["price"][j] = self.c_price[j]
            table["delta"][j] = self.c_delta[j]
        return table

    def reduce(self, int kind, int64_t order_id, int side, int64_t price, int64_t size, int64_t ts, int64_t excused=0) -> int:
        """Apply one historical cancel (2), deletion (3) or execution (4); returns shares it could not find.

        Only historical (agent 0) liquidity is ever taken; see `_reduce`. In a simulation,
        `excused` is what other agents already took from the named order: the level does not
        lose those shares twice.
        """
        self.book._log(ts, kind, order_id, 0, <int8_t>side, price, size, 1, 0)  # order-log events mirror LOBSTER types
        return self._reduce(kind, order_id, <int8_t>side, price, size, ts, excused)

    def withdraw(self, int side, int64_t price, int64_t qty) -> int:
        """Remove up to `qty` historical shares at a price (unknown liquidity first); returns shares taken."""
        cdef int64_t taken = self._take_unknown(<int8_t>side, price, qty, 3)
        return taken + self._take_level(<int8_t>side, price, qty - taken, 3)

    cdef inline int64_t _key(self, int8_t side, int64_t price):
        return price * 2 + (1 if side > 0 else 0)

    def add_unknown(self, int side, int64_t price, int64_t qty, int64_t ts):
        """Give the book `qty` shares that no message introduced, ahead of the queue at `price`."""
        self._add_unknown(<int8_t>side, price, qty, ts)

    cdef void _add_unknown(self, int8_t side, int64_t price, int64_t qty, int64_t ts):
        cdef int32_t slot = self._unknown_slot(side, price)
        if slot >= 0:
            self.book.pool[slot].qty += qty
            self.book._level(side, price).qty += qty
            self.book.q_accepted += qty
            return
        self.book.add(self.next_synthetic, side, price, qty, ts, 0, True)
        self.unknown[self._key(side, price)] = self.next_synthetic
        self.next_synthetic -= 1

    cdef int64_t _take_slot(self, int32_t slot, int64_t qty, int kind):
        """Take up to `qty` from one resting order, booked as executed or cancelled."""
        cdef Order o = self.book.pool[slot]
        if o.id < 0 and qty >= o.qty:
            self.unknown.erase(self._key(o.side, o.price))
        cdef int64_t taken = self.book._reduce_slot(slot, qty)
        if kind == EXECUTE:
            self.book.q_maker += taken
        else:
            self.book.q_cancelled += taken
        return taken

    cdef int64_t _take_unknown(self, int8_t side, int64_t price, int64_t qty, int kind):
        """Take up to `qty` of the unknown liquidity at a price; returns how much was taken."""
        cdef int32_t slot = self._unknown_slot(side, price)
        if slot < 0:
            return 0
        return self._take_slot(slot, qty, kind)

    cdef int32_t _unknown_slot(self, int8_t side, int64_t price):
        """Pool slot of the synthetic order at a price, -1 if none (matching may have filled it)."""
        cdef unordered_map[int64_t, int64_t].iterator it = self.unknown.find(self._key(side, price))
        if it == self.unknown.end():
            return -1
        cdef unordered_map[int64_t, int32_t].iterator found = self.book.index.find(deref(it).second)
        if found == self.book.index.end():
            self.unknown.erase(it)
            return -1
        return deref(found).second

    cdef int64_t _take_level(self, int8_t side, int64_t price, int64_t qty, int kind):
        """Take up to `qty` from the historical (agent 0) orders at a price, head (oldest) first."""
        cdef int64_t taken = 0
        cdef cmap[int64_t, Level]* book = self.book._side_map(side)
        cdef cmap[int64_t, Level].iterator it = book.find(-price if side > 0 else price)
        cdef int32_t slot, nxt
        if it == book.end():
            return 0
        slot = deref(it).second.head
        while slot >= 0 and taken < qty:
            nxt = self.book.pool[slot].next  # read first: taking may free the slot and erase the level
            if self.book.pool[slot].agent == 0:
                taken += self._take_slot(slot, qty - taken, kind)
            slot = nxt
        return taken

    cdef int64_t _reduce(self, int kind, int64_t order_id, int8_t side, int64_t price, int64_t size, int64_t ts, int64_t excused):
        """The level loses exactly `size` shares; returns the shares it could not find.

        From the named order first. A deletion removes the whole order but the level loses only
        `size`: LOBSTER's book split this level differently between its orders, so any excess
        stays as unknown liquidity. What the named order lacks (the file never added that id, or
        we hold less of it) comes from the unknown liquidity at that price, then from other
        historical orders there, oldest first: they were cancelled while outside the top N,
        where LOBSTER sends no messages.
        """
        cdef int64_t rem = size, have
        cdef int32_t slot
        cdef unordered_map[int64_t, int32_t].iterator it = self.book.index.find(order_id)
        if order_id > 0 and it != self.book.index.end():
            slot = deref(it).second
            have = self.book.pool[slot].qty
            if kind == 3:
                if have != rem:
                    self.anomalies[A_DELETE_SIZE] += 1
                self._take_slot(slot, have, kind)
                if have > rem:
                    self._add_unknown(side, price, have - rem, ts)
                rem -= have
            else:
                rem -= self._take_slot(slot, rem, kind)
        if rem > 0:
            rem -= min(rem, excused)
        if rem > 0:
            rem -= self._take_unknown(side, price, rem, kind)
        if rem > 0:
            rem -= self._take_level(side, price, rem, kind)
        return rem if rem > 0 else 0

    def run(self, const cnp.int64_t[:] ts, const cnp.int8_t[:] etype, const cnp.int64_t[:] oid,
            const cnp.int64_t[:] size, const cnp.int64_t[:] price, const cnp.int8_t[:] side,
            const cnp.int64_t[:, :] snaps, Py_ssize_t start=0, Py_ssize_t stop=-1, bint verify=True,
            cnp.int64_t[:, ::1] record=None):
        """Apply messages [start, stop); with `verify`, compare with `snaps` (LOBSTER's book after each).

        With `record` (rows x 4 levels), the visible book after message i is written to record[i].
        """
        cdef Py_ssize_t i, j, n = ts.shape[0] if stop < 0 else stop
        cdef int L4 = 4 * self.levels
        cdef int64_t* mine = <int64_t*>cnp.PyArray_DATA(self._mine)
        cdef bint l1, depth
        cdef int t, cause
        cdef int8_t s
        for i in range(start, n):
            t = etype[i]
            s = side[i]
            if t == 1:
                if self.book.add(oid[i], s, price[i], size[i], ts[i], 0, False) != 0:
                    self.anomalies[A_REUSED_ID] += 1
            elif t == 2 or t == 3 or t == 4:
                if self._reduce(t, oid[i], s, price[i], size[i], ts[i], 0) > 0:
                    self.anomalies[A_OVERDRAWN] += 1
            elif t == 7:
                self.halted = price[i] == -1
            self.messages += 1
            if record is not None:
                self.book.top_into(&record[i, 0], self.levels)
            if not verify:
                continue
            self.book.top_into(mine, self.levels)
            l1 = True
            for j in range(4):
                if mine[j] != snaps[i, j]:
                    l1 = False
                    break
            depth = l1
            if l1:
                for j in range(4, L4):
                    if mine[j] != snaps[i, j]:
                        depth = False
                        break
            self.verified += 1
            self.l1_matches += l1
            self.depth_matches += depth
            if not depth:
                self._rows.append(i)
                cause = self._reconcile(snaps, i)
                self.row_causes[cause] += 1
        return self.messages

    cdef int _reconcile(self, const cnp.int64_t[:, :] snaps, Py_ssize_t i):
        """Classify the levels where the book differs from LOBSTER's row i; correct the out-of-view ones.

        A level is out of view when its price lies beyond the last visible level of the previous
        row: LOBSTER sends no messages there, so only the snapshot can tell what it holds. Returns
        the row's cause (the first in C_REVEALED, C_OUT_OF_VIEW, C_IN_VIEW order that occurs).
        """
        cdef int L = self.levels
        cdef int lvl, k, cause, first = N_CAUSES
        cdef int8_t s
        cdef int64_t p, q, have, prev_edge, edge
        cdef bint full
        cdef cmap[int64_t, Level].iterator it
        cdef Py_ssize_t prev = i - 1 if i > 0 else i
        for s in (-1, 1):
            k = 0 if s < 0 else 2  # column offset of the price within a level
            full = snaps[i, 4 * (L - 1) + k + 1] > 0
            edge = snaps[i, 4 * (L - 1) + k]
            # far edge of the previous row's window; 0 when that row showed the whole side
            prev_edge = snaps[prev, 4 * (L - 1) + k] if snaps[prev, 4 * (L - 1) + k + 1] > 0 else 0
            shown = {}
            for lvl in range(L):
                if snaps[i, 4 * lvl + k + 1] > 0:
                    shown[snaps[i, 4 * lvl + k]] = snaps[i, 4 * lvl + k + 1]
            prices = set(shown)
            it = self.book._side_map(s).begin()
            while it != self.book._side_map(s).end():
                p = -deref(it).first if s > 0 else deref(it).first
                if full and ((s < 0 and p > edge) or (s > 0 and p < edge)):
                    break
                prices.add(p)
                inc(it)
            for p in prices:
                q = shown.get(p, 0)
                have = self.book.level_qty(s, p)
                if have == q:
                    continue
                if prev_edge == 0 or (s < 0 and p <= prev_edge) or (s > 0 and p >= prev_edge):
                    cause = C_IN_VIEW
                else:
                    cause = C_REVEALED if have == 0 else C_OUT_OF_VIEW
                    self.corrections += 1
                    self.c_msg.push_back(i)
                    self.c_side.push_back(s)
                    self.c_price.push_back(p)
                    self.c_delta.push_back(q - have)
                    if q > have:
                        self._add_unknown(s, p, q - have, 0)
                    else:
                        have -= self._take_unknown(s, p, have - q, 3)
                        self._take_level(s, p, have - q, 3)
                self.level_causes[cause] += 1
                first = min(first, cause)
        return first if first < N_CAUSES else C_IN_VIEW
