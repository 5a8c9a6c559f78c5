# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The core of the compiled order book: its data structure, matching and order entry (see `_book.pyx` for the
queries and logs of `OrderBook`, which extends `BookCore`).

Data structure: each side is a `std::map` from price to a `Level` (best level
first), each level a doubly linked FIFO queue of orders kept in a slot pool;
an `unordered_map` finds an order's slot from its id. Hence adding to an
existing level, cancelling, reducing and filling at the head are O(1), and
creating or removing a level is O(log levels); no operation depends on how
many orders queue at a level.

Invariants (checked by `check_integrity()`):
  * never crossed: outside a call auction, best bid < best ask after every operation;
  * FIFO within a level: arrival sequence strictly increases from head to tail,
    and fills always take the head first;
  * level totals: a level's quantity and count equal the sum over its queue;
    no level is empty; the id index holds exactly the resting orders;
  * quantity conservation: accepted = resting + filled as maker + filled as
    taker + cancelled + discarded (unfilled remainder of market/IOC orders).

A modify is a delete plus a new submission with the same id: it loses
priority (and may trade if the new price crosses). A partial cancel keeps it.
Known limitations: no hidden/iceberg quantity, no self-trade prevention.
"""
from cython.operator cimport dereference as deref, predecrement as dec, preincrement as inc
from libc.stdint cimport INT64_MAX, int8_t, int32_t, int64_t
from libcpp.pair cimport pair

import numpy as np
cimport numpy as cnp

from mars_core.engine.types import BookIntegrityError, OrderEvent, OrderKind, Status

cnp.import_array()

cdef int64_t DUMMY_ASK = 9999999999
cdef int64_t DUMMY_BID = -9999999999

# Order kinds, order-log events and status codes as C values, read from their one source: the IntEnums of types.py.
cdef int8_t LIMIT = OrderKind.LIMIT
cdef int8_t MARKET = OrderKind.MARKET
cdef int8_t IOC = OrderKind.IOC

cdef int8_t EV_SUBMIT = OrderEvent.SUBMIT
cdef int8_t EV_CANCEL = OrderEvent.CANCEL
cdef int8_t EV_DELETE = OrderEvent.DELETE
cdef int8_t EV_MODIFY = OrderEvent.MODIFY

cdef int OK = Status.OK
cdef int INVALID_SIDE = Status.INVALID_SIDE
cdef int INVALID_QTY = Status.INVALID_QTY
cdef int INVALID_PRICE = Status.INVALID_PRICE
cdef int OFF_TICK = Status.OFF_TICK
cdef int ODD_LOT = Status.ODD_LOT
cdef int PRICE_BAND = Status.PRICE_BAND
cdef int DUPLICATE_ID = Status.DUPLICATE_ID
cdef int UNKNOWN_ORDER = Status.UNKNOWN_ORDER
cdef int NOT_OWNER = Status.NOT_OWNER
cdef int NO_LIQUIDITY = Status.NO_LIQUIDITY
cdef int SESSION = Status.SESSION
cdef int INVALID_KIND = Status.INVALID_KIND


cdef class BookCore:
    """The order book's state, matching, order entry and integrity check; `OrderBook` adds queries and logs.

    Prices are integers (LOBSTER units), sizes integer shares, times integer ns.
    """


    def __cinit__(self, int64_t tick_size=1, int64_t lot_size=1, bint log_orders=True):
        if tick_size <= 0 or lot_size <= 0:  # both are divisors in order validation
            raise ValueError(f"tick_size and lot_size must be positive, were {tick_size} and {lot_size}")
        self.tick_size = tick_size
        self.lot_size = lot_size
        self.band_low = 1
        self.band_high = INT64_MAX
        self.next_order_id = 1
        self.seq_back = 0
        self.seq_front = 0
        self.log_orders = log_orders
        self.accepting = True
        self.pool.reserve(1024)

    # ----------------------------------------------------------------- internals
    cdef int32_t _new_slot(self):
        cdef int32_t slot
        if self.free_slots.size() > 0:
            slot = self.free_slots.back()
            self.free_slots.pop_back()
            return slot
        self.pool.push_back(Order(0, 0, 0, 0, 0, 0, -1, -1, 0))
        return <int32_t>(self.pool.size() - 1)

    cdef cmap[int64_t, Level]* _side_map(self, int8_t side):
        return &self.bids if side > 0 else &self.asks

    cdef void _link(self, int64_t order_id, int8_t side, int64_t price, int64_t qty, int64_t ts, int32_t agent, bint front):
        cdef cmap[int64_t, Level]* book = self._side_map(side)
        cdef int64_t key = -price if side > 0 else price
        cdef cmap[int64_t, Level].iterator it = book.find(key)
        if it == book.end():
            it = book.insert(pair[int64_t, Level](key, Level(-1, -1, 0, 0))).first
        cdef Level* lvl = &deref(it).second
        cdef int32_t slot = self._new_slot()
        cdef Order* o = &self.pool[slot]
        o.id = order_id
        o.side = side
        o.price = price
        o.qty = qty
        o.ts = ts
        o.agent = agent
        if front:
            self.seq_front -= 1
            o.seq = self.seq_front
            o.prev = -1
            o.next = lvl.head
            if lvl.head >= 0:
                self.pool[lvl.head].prev = slot
            else:
                lvl.tail = slot
            lvl.head = slot
        else:
            self.seq_back += 1
            o.seq = self.seq_back
            o.next = -1
            o.prev = lvl.tail
            if lvl.tail >= 0:
                self.pool[lvl.tail].next = slot
            else:
                lvl.head = slot
            lvl.tail = slot
        lvl.count += 1
        lvl.qty += qty
        self.index[order_id] = slot

    cdef void _unlink(self, int32_t slot):
        cdef Order* o = &self.pool[slot]
        cdef cmap[int64_t, Level]* book = self._side_map(o.side)
        cdef int64_t key = -o.price if o.side > 0 else o.price
        cdef cmap[int64_t, Level].iterator it = book.find(key)
        cdef Level* lvl = &deref(it).second
        if o.prev >= 0:
            self.pool[o.prev].next = o.next
        else:
            lvl.head = o.next
        if o.next >= 0:
            self.pool[o.next].prev = o.prev
        else:
            lvl.tail = o.prev
        lvl.count -= 1
        lvl.qty -= o.qty
        if lvl.count == 0:
            book.erase(it)
        self.index.erase(o.id)
        o.qty = 0
        self.free_slots.push_back(slot)

    cdef int64_t _reduce_slot(self, int32_t slot, int64_t qty):
        """Take up to `qty` from a resting order, removing it when emptied; returns the amount taken."""
        cdef Order* o = &self.pool[slot]
        cdef int64_t take = qty if qty < o.qty else o.qty
        if take == o.qty:
            self._unlink(slot)
            return take
        o.qty -= take
        self._level(o.side, o.price).qty -= take
        return take

    cdef Level* _level(self, int8_t side, int64_t price):
        """The level at a price, which must exist."""
        cdef cmap[int64_t, Level].iterator it = self._side_map(side).find(-price if side > 0 else price)
        return &deref(it).second

    cdef void _trade(self, int64_t ts, int64_t price, int64_t qty, int32_t maker_slot, int64_t taker_id, int32_t taker_agent, int8_t aggressor):
        cdef Order* m = &self.pool[maker_slot]
        self.t_ts.push_back(ts)
        self.t_price.push_back(price)
        self.t_qty.push_back(qty)
        self.t_maker.push_back(m.id)
        self.t_maker_agent.push_back(m.agent)
        self.t_taker.push_back(taker_id)
        self.t_taker_agent.push_back(taker_agent)
        self.t_aggressor.push_back(aggressor)
        self.q_maker += qty

    cdef int64_t _match(self, int8_t side, int64_t limit, int64_t qty, int64_t ts, int64_t taker_id, int32_t taker_agent):
        """Fill an incoming order against the opposite side up to `limit`; returns the filled quantity."""
        cdef cmap[int64_t, Level]* book = self._side_map(-side)
        cdef cmap[int64_t, Level].iterator it
        cdef int64_t price, fill, filled = 0
        cdef int32_t slot
        while qty > 0 and not book.empty():
            it = book.begin()
            price = -deref(it).first if side < 0 else deref(it).first
            if (side > 0 and price > limit) or (side < 0 and price < limit):
                break
            slot = deref(it).second.head
            fill = self.pool[slot].qty
            if fill > qty:
                fill = qty
            self._trade(ts, price, fill, slot, taker_id, taker_agent, side)
            self._reduce_slot(slot, fill)
            qty -= fill
            filled += fill
        self.q_taker += filled
        return filled

    cdef void _log(self, int64_t ts, int8_t event, int64_t order_id, int32_t agent, int8_t side, int64_t price, int64_t qty, int8_t kind, int8_t status):
        if not self.log_orders:
            return
        self.o_ts.push_back(ts)
        self.o_event.push_back(event)
        self.o_id.push_back(order_id)
        self.o_agent.push_back(agent)
        self.o_side.push_back(side)
        self.o_price.push_back(price)
        self.o_qty.push_back(qty)
        self.o_kind.push_back(kind)
        self.o_status.push_back(status)

    cdef int _c_submit(self, int8_t side, int64_t price, int64_t qty, int64_t ts, int32_t agent, int8_t kind, int64_t order_id):
        cdef int status = OK
        cdef int64_t limit, filled = 0
        self.last_filled = 0
        self.last_rested = 0
        if order_id < 0:
            order_id = self.next_order_id
        if not self.accepting:
            status = SESSION
        elif side != 1 and side != -1:
            status = INVALID_SIDE
        elif kind < LIMIT or kind > IOC:
            status = INVALID_KIND
        elif qty <= 0:
            status = INVALID_QTY
        elif qty % self.lot_size != 0:
            status = ODD_LOT
        elif kind != MARKET and price <= 0:
            status = INVALID_PRICE
        elif kind != MARKET and price % self.tick_size != 0:
            status = OFF_TICK
        elif kind != MARKET and (price < self.band_low or price > self.band_high):
            status = PRICE_BAND
        elif self.index.count(order_id):
            status = DUPLICATE_ID
        elif self.auction and kind != LIMIT:
            status = SESSION
        elif kind == MARKET and (self.asks.empty() if side > 0 else self.bids.empty()):
            status = NO_LIQUIDITY
        self.last_order_id = order_id
        if status != OK:
            self._log(ts, EV_SUBMIT, order_id, agent, side, price, qty, kind, status)
            return status
        if order_id == self.next_order_id:
            self.next_order_id += 1
        self.q_accepted += qty
        self._log(ts, EV_SUBMIT, order_id, agent, side, price, qty, kind, OK)
        if not self.auction:
            if kind == MARKET:
                limit = self.band_high if side > 0 else self.band_low
            else:
                limit = price
            filled = self._match(side, limit, qty, ts, order_id, agent)
        self.last_filled = filled
        if filled < qty:
            if kind == LIMIT:
                self._link(order_id, side, price, qty - filled, ts, agent, False)
                self.last_rested = qty - filled
            else:
                self.q_discarded += qty - filled
        return OK

    cdef int _c_cancel(self, int64_t order_id, int64_t qty, int64_t ts, int32_t agent):
        cdef unordered_map[int64_t, int32_t].iterator it = self.index.find(order_id)
        if it == self.index.end():
            self._log(ts, EV_DELETE if qty == 0 else EV_CANCEL, order_id, agent, 0, 0, qty, LIMIT, UNKNOWN_ORDER)
            return UNKNOWN_ORDER
        cdef int32_t slot = deref(it).second
        cdef Order* o = &self.pool[slot]
        if agent >= 0 and o.agent != agent:
            self._log(ts, EV_DELETE if qty == 0 else EV_CANCEL, order_id, agent, o.side, o.price, qty, LIMIT, NOT_OWNER)
            return NOT_OWNER
        if qty < 0:
            self._log(ts, EV_CANCEL, order_id, agent, o.side, o.price, qty, LIMIT, INVALID_QTY)
            return INVALID_QTY
        cdef int8_t event = EV_DELETE if qty == 0 or qty >= o.qty else EV_CANCEL
        if qty == 0 or qty > o.qty:
            qty = o.qty
        self._log(ts, event, order_id, o.agent, o.side, o.price, qty, LIMIT, OK)
        self.q_cancelled += self._reduce_slot(slot, qty)
        return OK

    cdef int64_t level_qty(self, int8_t side, int64_t price):
        cdef cmap[int64_t, Level]* book = self._side_map(side)
        cdef cmap[int64_t, Level].iterator it = book.find(-price if side > 0 else price)
        if it == book.end():
            return 0
        return deref(it).second.qty

    cdef void top_into(self, int64_t* out, int levels):
        cdef cmap[int64_t, Level].iterator a = self.asks.begin()
        cdef cmap[int64_t, Level].iterator b = self.bids.begin()
        cdef int i
        for i in range(levels):
            if a != self.asks.end():
                out[4 * i] = deref(a).first
                out[4 * i + 1] = deref(a).second.qty
                inc(a)
            else:
                out[4 * i] = DUMMY_ASK
                out[4 * i + 1] = 0
            if b != self.bids.end():
                out[4 * i + 2] = -deref(b).first
                out[4 * i + 3] = deref(b).second.qty
                inc(b)
            else:
                out[4 * i + 2] = DUMMY_BID
                out[4 * i + 3] = 0

    # ------------------------------------------------------------- order entry
    def submit(self, int side, int64_t price, int64_t qty, int64_t ts, int agent=0, int kind=LIMIT, int64_t order_id=-1) -> int:
        """Submit a limit, market or IOC order; returns a status code (0 accepted).

        With `order_id` < 0 the book assigns `next_order_id`; explicit ids never move that
        counter, so a caller mixing both keeps its own ids out of the counter's range.

        After the call `last_order_id`, `last_filled` and `last_rested` describe
        the outcome. Market orders ignore `price`; during a call auction only
        limit orders are accepted and they rest without matching.
        """
        # out-of-range values become 0 (rejected) rather than wrapping in the int8 casts (257 -> 1)
        return self._c_submit(<int8_t>(side if side == 1 or side == -1 else 0), price, qty, ts, agent,
                              <int8_t>(kind if LIMIT <= kind <= IOC else 0), order_id)

    def cancel(self, int64_t order_id, int64_t ts, int64_t qty=0, int agent=-1) -> int:
        """Cancel `qty` shares of a resting order (0 or more than it has: all of it).

        A partial cancel keeps the order's queue position. With `agent >= 0`
        only the owning agent may cancel. Returns a status code.
        """
        return self._c_cancel(order_id, qty, ts, agent)

    def modify(self, int64_t order_id, int64_t price, int64_t qty, int64_t ts, int agent=-1) -> int:
        """Replace a resting order's price and size; it loses priority and may trade."""
        cdef unordered_map[int64_t, int32_t].iterator it = self.index.find(order_id)
        if it == self.index.end():
            self._log(ts, EV_MODIFY, order_id, agent, 0, price, qty, LIMIT, UNKNOWN_ORDER)
            return UNKNOWN_ORDER
        cdef Order o = self.pool[deref(it).second]
        cdef int status = OK
        if not self.accepting:
            status = SESSION
        elif agent >= 0 and o.agent != agent:
            status = NOT_OWNER
        elif qty <= 0:
            status = INVALID_QTY
        elif qty % self.lot_size != 0:
            status = ODD_LOT
        elif price <= 0:
            status = INVALID_PRICE
        elif price % self.tick_size != 0:
            status = OFF_TICK
        elif price < self.band_low or price > self.band_high:
            status = PRICE_BAND
        self._log(ts, EV_MODIFY, order_id, o.agent, o.side, price, qty, LIMIT, status)
        if status != OK:
            return status
        self.q_cancelled += self._reduce_slot(deref(it).second, o.qty)
        return self._c_submit(o.side, price, qty, ts, o.agent, LIMIT, order_id)

    def add(self, int64_t order_id, int side, int64_t price, int64_t qty, int64_t ts, int agent=0, bint front=False) -> int:
        """Rest an order without matching (replay, warm start); `front` puts it ahead of the queue."""
        if side != 1 and side != -1:
            return INVALID_SIDE
        if qty <= 0:
            return INVALID_QTY
        if self.index.count(order_id):
            return DUPLICATE_ID
        self.q_accepted += qty
        self._link(order_id, <int8_t>side, price, qty, ts, agent, front)
        return OK

    def uncross(self, int64_t price, int64_t ts) -> int:
        """Execute a call auction at one price: every bid >= price against every ask <= price.

        Orders trade in price-time priority on both sides, all at `price`;
        returns the executed volume. The book is not crossed afterwards when
        `price` is the auction price chosen by `auction.auction_price`.
        """
        cdef int64_t fill, volume = 0
        cdef int32_t bid_slot, ask_slot
        while not self.bids.empty() and not self.asks.empty():
            if -deref(self.bids.begin()).first < price or deref(self.asks.begin()).first > price:
                break
            bid_slot = deref(self.bids.begin()).second.head
            ask_slot = deref(self.asks.begin()).second.head
            fill = self.pool[bid_slot].qty
            if self.pool[ask_slot].qty < fill:
                fill = self.pool[ask_slot].qty
            # One trade record per pair, booked against the ask as maker; the bid is the other party.
            self._trade(ts, price, fill, ask_slot, self.pool[bid_slot].id, self.pool[bid_slot].agent, 0)
            self.q_taker += fill
            self._reduce_slot(bid_slot, fill)
            self._reduce_slot(ask_slot, fill)
            volume += fill
        return volume

    def log_event(self, int64_t ts, int event, int64_t order_id, int agent, int side, int64_t price, int64_t qty) -> None:
        """Add a row to the order log for liquidity that changed outside order entry (replay corrections)."""
        self._log(ts, <int8_t>event, order_id, agent, <int8_t>side, price, qty, LIMIT, OK)

    # ---------------------------------------------------------------- integrity
    def check_integrity(self) -> None:
        """Verify every invariant of the module docstring; raises BookIntegrityError."""
        cdef cmap[int64_t, Level]* book
        cdef cmap[int64_t, Level].iterator it
        cdef int32_t slot, prev
        cdef int64_t qty, resting = 0, price, last_seq
        cdef int count, orders = 0
        cdef Order o
        cdef int8_t side
        for side in (1, -1):
            book = self._side_map(side)
            it = book.begin()
            while it != book.end():
                price = -deref(it).first if side > 0 else deref(it).first
                slot = deref(it).second.head
                prev = -1
                qty = 0
                count = 0
                last_seq = -(1 << 62)
                while slot >= 0:
                    o = self.pool[slot]
                    if o.prev != prev:
                        raise BookIntegrityError(f"order_id={o.id}: broken queue link at price {price}")
                    if o.price != price or o.side != side:
                        raise BookIntegrityError(f"order_id={o.id}: queued at {price} side {side} but has price {o.price} side {o.side}")
                    if o.qty <= 0:
                        raise BookIntegrityError(f"order_id={o.id}: resting with non-positive qty {o.qty}")
                    if o.seq <= last_seq:
                        raise BookIntegrityError(f"order_id={o.id}: FIFO violated at price {price}")
                    if self.index.count(o.id) == 0 or self.index[o.id] != slot:
                        raise BookIntegrityError(f"order_id={o.id}: id index does not point at its slot")
                    last_seq = o.seq
                    qty += o.qty
                    count += 1
                    prev = slot
                    slot = o.next
                if count == 0:
                    raise BookIntegrityError(f"empty level kept at price {price} side {side}")
                if prev != deref(it).second.tail:
                    raise BookIntegrityError(f"level {price} side {side}: tail does not end the queue")
                if qty != deref(it).second.qty or count != deref(it).second.count:
                    raise BookIntegrityError(f"level {price} side {side}: total {deref(it).second.qty}/{deref(it).second.count} but queue holds {qty}/{count}")
                resting += qty
                orders += count
                inc(it)
        if orders != <int>self.index.size():
            raise BookIntegrityError(f"id index holds {self.index.size()} orders, levels hold {orders}")
        if not self.auction and not self.bids.empty() and not self.asks.empty():
            if -deref(self.bids.begin()).first >= deref(self.asks.begin()).first:
                raise BookIntegrityError(f"book crossed: bid {-deref(self.bids.begin()).first} >= ask {deref(self.asks.begin()).first}")
        accounted = resting + self.q_maker + self.q_taker + self.q_cancelled + self.q_discarded
        if self.q_accepted != accounted:
            raise BookIntegrityError(
                f"quantity not conserved: accepted {self.q_accepted} != resting {resting} + maker {self.q_maker} "
                f"+ taker {self.q_taker} + cancelled {self.q_cancelled} + discarded {self.q_discarded}")
