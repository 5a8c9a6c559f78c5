"""A deliberately naive pure-Python price-time order book: the oracle for the compiled one.

It follows the rules stated in `mars_core/engine/_book.pyx` (order kinds, the order in
which a submission is validated, cancel/modify semantics, call-auction uncross) with
plain dicts and lists and no cleverness: each side is `{price: [orders, oldest first]}`,
the best level is found with `min`/`max` over the prices. Quantities are tallied in
the same buckets as the compiled book so conservation can be compared, and every
operation is written to an order log of `(event, order_id, status, qty)` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mars_core.engine import OrderEvent, OrderKind, Status

INT64_MAX = 2**63 - 1


@dataclass
class RefOrder:
    order_id: int
    side: int
    price: int
    qty: int
    agent: int
    ts: int


@dataclass(frozen=True)
class RefTrade:
    ts: int
    price: int
    qty: int
    maker_id: int
    taker_id: int
    maker_agent: int
    taker_agent: int
    aggressor: int  # side of the incoming order, 0 for an auction trade


@dataclass
class ReferenceBook:
    """Price-time book over dicts of FIFO lists; same API subset as `OrderBook`."""

    tick_size: int = 1
    lot_size: int = 1
    band_low: int = 1
    band_high: int = INT64_MAX
    auction: bool = False
    accepting: bool = True
    next_order_id: int = 1
    last_order_id: int = 0
    last_filled: int = 0
    last_rested: int = 0
    bids: dict[int, list[RefOrder]] = field(default_factory=dict)
    asks: dict[int, list[RefOrder]] = field(default_factory=dict)
    orders: dict[int, RefOrder] = field(default_factory=dict)
    trades: list[RefTrade] = field(default_factory=list)
    log: list[tuple[int, int, int, int]] = field(default_factory=list)
    accepted: int = 0
    cancelled: int = 0
    discarded: int = 0
    maker: int = 0
    taker: int = 0

    # ------------------------------------------------------------ helpers
    def _side(self, side: int) -> dict[int, list[RefOrder]]:
        return self.bids if side > 0 else self.asks

    def _best(self, side: int) -> int | None:
        levels = self._side(side)
        if not levels:
            return None
        return max(levels) if side > 0 else min(levels)

    def _remove(self, order: RefOrder, qty: int) -> int:
        """Take up to `qty` from a resting order; drop it (and an empty level) when emptied."""
        take = min(qty, order.qty)
        order.qty -= take
        if order.qty == 0:
            queue = self._side(order.side)[order.price]
            queue.remove(order)
            if not queue:
                del self._side(order.side)[order.price]
            del self.orders[order.order_id]
        return take

    def _match(self, side: int, limit: int, qty: int, ts: int, taker_id: int, agent: int) -> int:
        filled = 0
        while qty > 0:
            price = self._best(-side)
            if price is None or (side > 0 and price > limit) or (side < 0 and price < limit):
                break
            maker = self._side(-side)[price][0]
            fill = min(maker.qty, qty)
            self.trades.append(RefTrade(ts, price, fill, maker.order_id, taker_id, maker.agent, agent, side))
            self.maker += fill
            self._remove(maker, fill)
            qty -= fill
            filled += fill
        self.taker += filled
        return filled

    # -------------------------------------------------------- order entry
    def submit(
        self, side: int, price: int, qty: int, ts: int, agent: int = 0, kind: int = OrderKind.LIMIT, order_id: int = -1
    ) -> int:
        self.last_filled = self.last_rested = 0
        if order_id < 0:
            order_id = self.next_order_id
        priced = kind != OrderKind.MARKET
        if not self.accepting:
            status = Status.SESSION
        elif side not in (1, -1):
            status = Status.INVALID_SIDE
        elif kind not in (OrderKind.LIMIT, OrderKind.MARKET, OrderKind.IOC):
            status = Status.INVALID_KIND
        elif qty <= 0:
            status = Status.INVALID_QTY
        elif qty % self.lot_size:
            status = Status.ODD_LOT
        elif priced and price <= 0:
            status = Status.INVALID_PRICE
        elif priced and price % self.tick_size:
            status = Status.OFF_TICK
        elif priced and not self.band_low <= price <= self.band_high:
            status = Status.PRICE_BAND
        elif order_id in self.orders:
            status = Status.DUPLICATE_ID
        elif self.auction and kind != OrderKind.LIMIT:
            status = Status.SESSION
        elif kind == OrderKind.MARKET and not self._side(-side):
            status = Status.NO_LIQUIDITY
        else:
            status = Status.OK
        self.last_order_id = order_id
        self.log.append((OrderEvent.SUBMIT, order_id, status, qty))
        if status != Status.OK:
            return status
        if order_id == self.next_order_id:  # explicit ids never move the counter
            self.next_order_id += 1
        self.accepted += qty
        filled = 0
        if not self.auction:
            limit = price if priced else (self.band_high if side > 0 else self.band_low)
            filled = self._match(side, limit, qty, ts, order_id, agent)
        self.last_filled = filled
        if filled < qty:
            if kind == OrderKind.LIMIT:
                order = RefOrder(order_id, side, price, qty - filled, agent, ts)
                self._side(side).setdefault(price, []).append(order)
                self.orders[order_id] = order
                self.last_rested = qty - filled
            else:
                self.discarded += qty - filled
        return Status.OK

    def cancel(self, order_id: int, ts: int, qty: int = 0, agent: int = -1) -> int:
        order = self.orders.get(order_id)
        event = OrderEvent.DELETE if qty == 0 else OrderEvent.CANCEL
        if order is None:
            self.log.append((event, order_id, Status.UNKNOWN_ORDER, qty))
            return Status.UNKNOWN_ORDER
        if agent >= 0 and order.agent != agent:
            self.log.append((event, order_id, Status.NOT_OWNER, qty))
            return Status.NOT_OWNER
        if qty < 0:
            self.log.append((event, order_id, Status.INVALID_QTY, qty))
            return Status.INVALID_QTY
        if qty == 0 or qty >= order.qty:
            event, qty = OrderEvent.DELETE, order.qty
        self.log.append((event, order_id, Status.OK, qty))
        self.cancelled += self._remove(order, qty)
        return Status.OK

    def modify(self, order_id: int, price: int, qty: int, ts: int, agent: int = -1) -> int:
        order = self.orders.get(order_id)
        if order is None:
            self.log.append((OrderEvent.MODIFY, order_id, Status.UNKNOWN_ORDER, qty))
            return Status.UNKNOWN_ORDER
        if not self.accepting:
            status = Status.SESSION
        elif agent >= 0 and order.agent != agent:
            status = Status.NOT_OWNER
        elif qty <= 0:
            status = Status.INVALID_QTY
        elif qty % self.lot_size:
            status = Status.ODD_LOT
        elif price <= 0:
            status = Status.INVALID_PRICE
        elif price % self.tick_size:
            status = Status.OFF_TICK
        elif not self.band_low <= price <= self.band_high:
            status = Status.PRICE_BAND
        else:
            status = Status.OK
        self.log.append((OrderEvent.MODIFY, order_id, status, qty))
        if status != Status.OK:
            return status
        self.cancelled += self._remove(order, order.qty)
        return self.submit(order.side, price, qty, ts, order.agent, OrderKind.LIMIT, order_id)

    def uncross(self, price: int, ts: int) -> int:
        """Call-auction execution at one price: head bid against head ask while both are marketable."""
        volume = 0
        while self.bids and self.asks:
            best_bid, best_ask = self._best(1), self._best(-1)
            if best_bid < price or best_ask > price:
                break
            bid, ask = self.bids[best_bid][0], self.asks[best_ask][0]
            fill = min(bid.qty, ask.qty)
            self.trades.append(RefTrade(ts, price, fill, ask.order_id, bid.order_id, ask.agent, bid.agent, 0))
            self.maker += fill
            self.taker += fill
            self._remove(bid, fill)
            self._remove(ask, fill)
            volume += fill
        return volume

    # ------------------------------------------------------------- queries
    def depth(self, side: int) -> tuple[list[int], list[int]]:
        """(prices, quantities) of every level of one side, best first."""
        levels = self._side(side)
        prices = sorted(levels, reverse=side > 0)
        return prices, [sum(o.qty for o in levels[p]) for p in prices]

    def queue(self, side: int, price: int) -> list[tuple[int, int, int]]:
        return [(o.order_id, o.qty, o.agent) for o in self._side(side).get(price, [])]

    def resting_qty(self) -> int:
        return sum(o.qty for o in self.orders.values())

    def conserved(self) -> bool:
        return self.accepted == self.resting_qty() + self.maker + self.taker + self.cancelled + self.discarded
