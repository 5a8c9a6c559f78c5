"""The clearing house: an order book run under market rules, sessions and call auctions.

Layers: `OrderBook` (compiled price-time core, validates tick/lot/band) →
`Exchange` (sessions, halts, auctions, price band reference) → the simulator.
The exchange's clock only moves forward: every call carries a timestamp and
crossing a session boundary first finishes the old session (an auction
uncrosses at its end time) and then opens the new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from mars_core.engine._book import OrderBook
from mars_core.engine.auction import AuctionResult, auction_price
from mars_core.engine.rules import MarketRules, SessionKind
from mars_core.engine.types import OrderKind, Status

_NEVER = 2**63 - 1


@dataclass(frozen=True, slots=True)
class AuctionEvent:
    ts: int
    session: SessionKind
    result: AuctionResult


class Exchange:
    """One market: an `OrderBook` plus `MarketRules`.

    Args:
        rules: tick, lot, band and sessions.
        book: an existing book to take over (e.g. warmed up by replay); a new one otherwise.
        reference_price: centre of the price band and the auction tie-break.
        ts: the exchange clock at creation, ns since midnight.
    """

    def __init__(
        self, rules: MarketRules, book: OrderBook | None = None, reference_price: int | None = None, ts: int = 0
    ) -> None:
        self.rules = rules
        self.book = book if book is not None else OrderBook(rules.tick_size, rules.lot_size)
        self.book.tick_size = rules.tick_size
        self.book.lot_size = rules.lot_size
        self.auctions: list[AuctionEvent] = []
        self.halted = False
        self.reference_price: int | None = None
        if reference_price is not None:
            self.set_reference(reference_price)
        self.session = SessionKind.CLOSED
        self.clock = ts
        self._boundary = ts  # next ts at which the session changes
        self._enter(ts)

    # ------------------------------------------------------------- sessions
    def set_reference(self, price: int) -> None:
        """Re-centre the price band (and the auction tie-break) on `price`."""
        self.reference_price = int(price)
        self.book.band_low, self.book.band_high = self.rules.band(self.reference_price)

    def advance(self, ts: int) -> None:
        """Move the clock to `ts`, running every session change on the way."""
        if ts < self.clock:
            raise ValueError(f"exchange clock runs forward: {ts} < {self.clock}")
        while ts >= self._boundary:
            boundary = self._boundary
            if self.session.is_auction:
                self._uncross(boundary)
            self._enter(boundary)
        self.clock = ts

    def _enter(self, ts: int) -> None:
        session = self.rules.session_at(ts)
        self.session = session.kind if session is not None else SessionKind.CLOSED
        if session is not None:
            self._boundary = session.end
        else:
            starts = [s.start for s in self.rules.sessions if s.start > ts]
            self._boundary = min(starts) if starts else _NEVER
        self.book.auction = self.session.is_auction
        self._update_accepting()

    def _update_accepting(self) -> None:
        self.book.accepting = not self.halted and self.session not in (SessionKind.CLOSED, SessionKind.HALT)

    def _uncross(self, ts: int) -> None:
        bids = self.book.depth(1)
        asks = self.book.depth(-1)
        result = auction_price(bids[0], bids[1], asks[0], asks[1], self.reference_price)
        if result is None:
            return
        self.book.uncross(result.price, ts)
        self.auctions.append(AuctionEvent(ts, self.session, result))
        self.set_reference(result.price)

    def halt(self, ts: int) -> None:
        """Stop trading: new orders and modifies are rejected, cancels still work."""
        self.advance(ts)
        self.halted = True
        self._update_accepting()

    def resume(self, ts: int) -> None:
        self.advance(ts)
        self.halted = False
        self._update_accepting()

    # ---------------------------------------------------------- order entry
    def submit(
        self, ts: int, side: int, price: int, qty: int, agent: int = 0, kind: int = OrderKind.LIMIT, order_id: int = -1
    ) -> int:
        """Submit an order; returns a `Status` code (0 accepted). See `OrderBook.submit`."""
        if ts != self.clock:
            self._move_clock(ts)
        return self.book.submit(side, price, qty, ts, agent, kind, order_id)

    def cancel(self, ts: int, order_id: int, qty: int = 0, agent: int = -1) -> int:
        """Cancel all (qty 0) or part of a resting order; returns a `Status` code."""
        if ts != self.clock:
            self._move_clock(ts)
        return self.book.cancel(order_id, ts, qty, agent)

    def modify(self, ts: int, order_id: int, price: int, qty: int, agent: int = -1) -> int:
        """Change a resting order's price and size (it loses priority); returns a `Status` code."""
        if ts != self.clock:
            self._move_clock(ts)
        return self.book.modify(order_id, price, qty, ts, agent)

    def _move_clock(self, ts: int) -> None:
        if ts < self.clock:
            raise ValueError(f"exchange clock runs forward: order at {ts} after {self.clock}")
        if ts >= self._boundary:
            self.advance(ts)
        self.clock = ts

    @staticmethod
    def explain(status: int) -> str:
        """Words for a status code."""
        return Status(status).reason
