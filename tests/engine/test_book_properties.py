"""Hypothesis: long random order streams keep the compiled book intact and equal to the naive oracle.

Every operation goes to both `OrderBook` and `ReferenceBook`; after each one the book must
pass `check_integrity()` and agree with the oracle on the status code, the outcome of a
submission, the new trades and the depth of both sides. At the end the order logs, the
trade lists and every queue must be identical.
"""

from __future__ import annotations

import random

from helpers import MID, TICK, trade_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_book import ReferenceBook

from mars_core.engine import OrderBook, OrderKind, Status, auction_price

UNKNOWN_ID = 10**9
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# One operation is one integer (a single draw keeps long streams cheap to generate), spread over
# its fields by the splitmix64 finaliser: Hypothesis favours small integers, which would otherwise
# leave the high fields at zero. Shrinking still removes operations from a failing stream.
FIELDS = (100, 2, 13, 30, 4, 2**16)  # what, buy, price offset, lots, agent, pick
OPS = st.integers(0, 2**32 - 1)
MASK = 2**64 - 1


def decode(code: int) -> tuple[int, bool, int, int, int, int]:
    """(what 0-99, buy, price offset -6..6 ticks, size 1-30 lots, agent 0-3, pick 0-65535)."""
    z = (code + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    values = []
    for size in FIELDS:
        z, value = divmod(z, size)
        values.append(value)
    what, buy, offset, lots, agent, pick = values
    return what, bool(buy), offset - 6, lots + 1, agent, pick


class Twin:
    """The compiled book and the oracle side by side, driven by the same operations."""

    def __init__(self, lot: int, band: int | None) -> None:
        self.book = OrderBook(tick_size=TICK, lot_size=lot)
        self.ref = ReferenceBook(tick_size=TICK, lot_size=lot)
        if band is not None:
            for b in (self.book, self.ref):
                b.band_low, b.band_high = MID - band * TICK, MID + band * TICK
        self.lot = lot
        self.ts = 0
        self.ids: list[int] = []  # every id ever accepted, live or dead
        self.seen_trades = 0
        self.statuses: set[int] = set()
        self.auctions = 0

    def both(self, name: str, *args: int, **kwargs: int) -> int:
        status = getattr(self.book, name)(*args, **kwargs)
        expected = getattr(self.ref, name)(*args, **kwargs)
        assert status == expected, (name, args, kwargs, Status(status), Status(expected))
        self.statuses.add(status)
        return status

    def pick_id(self, pick: int) -> int:
        return self.ids[pick % len(self.ids)] if self.ids and pick % 8 else UNKNOWN_ID

    def apply(self, op: tuple[int, bool, int, int, int, int]) -> None:
        what, buy, offset, lots, agent, pick = op
        self.ts += 1
        side, price, qty = (1 if buy else -1), MID + offset * TICK, lots * self.lot
        if what < 45:
            self.submit(side, price, qty, agent, OrderKind.LIMIT)
        elif what < 53:
            self.submit(side, 0, qty, agent, OrderKind.MARKET)
        elif what < 61:
            self.submit(side, price, qty, agent, OrderKind.IOC)
        elif what < 73:  # full, partial or over-sized cancel; with or without the owner check
            order_id = self.pick_id(pick)
            cancel_qty = (0, qty, 10**6)[pick % 3]
            self.both("cancel", order_id, self.ts, qty=cancel_qty, agent=agent - 1)
        elif what < 83:  # half of the modifies keep the price (a size change that still loses priority)
            order_id = self.pick_id(pick)
            if pick % 2 and order_id in self.ref.orders:
                price = self.ref.orders[order_id].price
            self.both("modify", order_id, price, qty, self.ts, agent=agent - 1)
        elif what < 91:
            self.invalid_submit(side, price, qty, agent, pick)
        elif what < 95:
            self.book.accepting = self.ref.accepting = not self.book.accepting
        else:
            self.toggle_auction()
        self.compare()

    def submit(self, side: int, price: int, qty: int, agent: int, kind: int, order_id: int = -1) -> None:
        if self.both("submit", side, price, qty, self.ts, agent, kind, order_id) == Status.OK:
            self.ids.append(self.book.last_order_id)
        assert (self.book.last_order_id, self.book.last_filled, self.book.last_rested) == (
            self.ref.last_order_id,
            self.ref.last_filled,
            self.ref.last_rested,
        )

    def invalid_submit(self, side: int, price: int, qty: int, agent: int, pick: int) -> None:
        """Mostly broken submissions; an explicit id (fresh or resting) or a sweep of a whole side now and then."""
        variant = pick % 10
        if variant == 0:
            self.submit(0, price, qty, agent, OrderKind.LIMIT)
        elif variant == 1:
            self.submit(side, price, qty, agent, 4)
        elif variant == 2:
            self.submit(side, price, -qty, agent, OrderKind.IOC)
        elif variant == 3:
            self.submit(side, price, qty + 1, agent, OrderKind.LIMIT)  # odd lot when lot > 1
        elif variant == 4:
            self.submit(side, -price, qty, agent, OrderKind.LIMIT)
        elif variant == 5:
            self.submit(side, price + TICK // 2, qty, agent, OrderKind.LIMIT)
        elif variant == 6:
            self.submit(side, MID + 20 * TICK, qty, agent, OrderKind.LIMIT)  # outside any band used here
        elif variant == 7:
            self.submit(side, price, qty, agent, OrderKind.LIMIT, order_id=self.pick_id(pick))
        elif variant == 8:
            self.submit(side, price, qty, agent, OrderKind.LIMIT, order_id=self.book.next_order_id + 1000 + pick)
        else:  # empties the other side, so later market orders meet NO_LIQUIDITY
            self.submit(side, 0, 10**5 * self.lot, agent, OrderKind.MARKET)

    def toggle_auction(self) -> None:
        """Start a call auction, or end it by uncrossing at the rule's price."""
        if not self.book.auction:
            self.book.auction = self.ref.auction = True
            return
        bids, asks = self.book.depth(1), self.book.depth(-1)
        result = auction_price(bids[0], bids[1], asks[0], asks[1], reference=MID)
        if result is not None:
            volume = self.book.uncross(result.price, self.ts)
            assert volume == self.ref.uncross(result.price, self.ts) == result.volume
            self.auctions += 1
        self.book.auction = self.ref.auction = False  # check_integrity now requires an uncrossed book

    def compare(self) -> None:
        self.book.check_integrity()
        assert self.ref.conserved()
        new = trade_rows(self.book.trades(self.seen_trades))
        expected = [
            (t.ts, t.price, t.qty, t.maker_id, t.taker_id, t.maker_agent, t.taker_agent, t.aggressor)
            for t in self.ref.trades[self.seen_trades :]
        ]
        assert new == expected
        self.seen_trades = self.book.n_trades
        for side in (1, -1):
            prices, qtys = self.book.depth(side)
            assert (prices.tolist(), qtys.tolist()) == tuple(self.ref.depth(side))
        assert len(self.book) == len(self.ref.orders)

    def finish(self) -> None:
        """Whole logs and every queue, in order."""
        log = self.book.drain_orders()
        rows = [
            (e, i, s, q)
            for e, i, s, q in zip(
                log["event"].tolist(), log["order_id"].tolist(), log["status"].tolist(), log["qty"].tolist()
            )
        ]
        assert rows == [tuple(int(v) for v in row) for row in self.ref.log]
        for side in (1, -1):
            for price in self.book.depth(side)[0].tolist():
                assert self.book.queue(side, price) == self.ref.queue(side, price)
        resting = [(oid, *self.book.order(oid)[:4]) for oid in self.ref.orders]
        assert resting == [(o.order_id, o.side, o.price, o.qty, o.agent) for o in self.ref.orders.values()]


@SETTINGS
@given(ops=st.lists(OPS, min_size=200, max_size=500))
def test_random_streams_match_the_oracle_and_keep_every_invariant(ops: list) -> None:
    twin = Twin(lot=1, band=None)
    for op in ops:
        twin.apply(decode(op))
    twin.finish()


@SETTINGS
@given(ops=st.lists(OPS, min_size=200, max_size=500))
def test_random_streams_under_lot_and_band_rules_match_the_oracle(ops: list) -> None:
    twin = Twin(lot=10, band=5)
    for op in ops:
        twin.apply(decode(op))
    twin.finish()


def test_one_long_seeded_stream_reaches_every_status_and_many_trades() -> None:
    """3,000 operations from a fixed seed: the streams above do reach every branch."""
    rng = random.Random(20120621)
    twin = Twin(lot=10, band=5)
    for _ in range(3_000):
        twin.apply(
            (
                rng.randrange(100),
                rng.random() < 0.5,
                rng.randint(-6, 6),
                rng.randint(1, 30),
                rng.randrange(4),
                rng.randrange(2**16),
            )
        )
    twin.finish()
    assert twin.statuses == set(Status)
    assert twin.book.n_trades > 500 and twin.auctions > 5


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_thousands_on_one_level_cancelled_from_the_middle_stay_fifo(seed: int) -> None:
    """3,000 asks at one price; random partial/full cancels anywhere in the queue and fills from the head."""
    rng = random.Random(seed)
    book = OrderBook(tick_size=TICK)
    model: list[list[int]] = []  # [order_id, qty, agent], head first
    for i in range(3_000):
        qty, agent = rng.randint(1, 100), rng.randrange(5)
        assert book.submit(-1, MID, qty, i, agent) == Status.OK
        model.append([book.last_order_id, qty, agent])
    for step in range(1_500):
        if rng.random() < 0.8:  # cancel somewhere in the middle
            k = rng.randrange(len(model))
            order = model[k]
            qty = rng.choice((0, rng.randint(1, order[1])))
            assert book.cancel(order[0], 10_000 + step, qty) == Status.OK
            order[1] -= order[1] if qty == 0 else qty
            if order[1] == 0:
                del model[k]
        else:  # a buyer takes from the head
            qty = rng.randint(1, 150)
            assert book.submit(1, MID, qty, 10_000 + step, 9, OrderKind.IOC) == Status.OK
            fills = trade_rows(book.drain_trades())
            for _, price, fill, maker, *_ in fills:
                assert (price, maker) == (MID, model[0][0]) and fill <= model[0][1]
                model[0][1] -= fill
                if model[0][1] == 0:
                    model.pop(0)
            assert sum(f[2] for f in fills) == book.last_filled == min(qty, book.last_filled + book.resting_qty())
        if step % 500 == 0:
            book.check_integrity()
    assert book.queue(-1, MID) == [tuple(o) for o in model]
    assert book.qty_at(-1, MID) == sum(o[1] for o in model) and len(book) == len(model) > 1_000
    book.check_integrity()
    assert book.n_levels(-1) == 1
