"""The call-auction price rule (`auction_price`) and its execution (`OrderBook.uncross`)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TICK, px, trade_rows
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_book import ReferenceBook

from mars_core.engine import AuctionResult, OrderBook, Status, auction_price


def price_of(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], reference: int | None = None
) -> AuctionResult | None:
    """auction_price on (price, qty) pairs given in ticks from MID."""

    def arrays(levels: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([px(p) for p, _ in levels], dtype=np.int64), np.array([q for _, q in levels], dtype=np.int64))

    return auction_price(*arrays(bids), *arrays(asks), reference)


# ------------------------------------------------------------------- the price rule
def test_step_1_maximum_executable_volume() -> None:
    # demand(p)/supply(p) at 0.99..1.02: 300/50, 300/150, 200/350, 100/350 -> volume 50, 150, 200, 100
    result = price_of(bids=[(2, 100), (1, 100), (0, 100)], asks=[(-1, 50), (0, 100), (1, 200)])
    assert result == AuctionResult(price=px(1), volume=200, imbalance=-150)


def test_step_2_minimum_imbalance_beats_the_reference() -> None:
    # volume 100 at 0.99, 1.00 and 1.01; imbalance +20, +20, -10: 1.01 although the reference is 0.99
    result = price_of(bids=[(1, 100), (0, 20)], asks=[(-1, 100), (1, 10)], reference=px(-1))
    assert result == AuctionResult(price=px(1), volume=100, imbalance=-10)


@pytest.mark.parametrize(
    ("reference", "expected"), [(px(1), px(2)), (px(-1), px(-2)), (px(10), px(2)), (px(-10), px(-2))]
)
def test_step_3_closest_to_the_reference(reference: int, expected: int) -> None:
    # 0.98 and 1.02 both clear 100 shares with no imbalance
    assert price_of(bids=[(2, 100)], asks=[(-2, 100)], reference=reference) == AuctionResult(expected, 100, 0)


@pytest.mark.parametrize("reference", [px(0), None])
def test_step_4_lowest_price_when_everything_else_ties(reference: int | None) -> None:
    # equidistant from 1.00 (or no reference): the lower price; only limit prices are candidates
    assert price_of(bids=[(2, 100)], asks=[(-2, 100)], reference=reference) == AuctionResult(px(-2), 100, 0)


def test_no_cross_or_one_side_gives_none() -> None:
    assert price_of(bids=[(-1, 100)], asks=[(0, 100)]) is None
    assert price_of(bids=[(5, 100)], asks=[]) is None
    assert price_of(bids=[], asks=[(5, 100)]) is None
    assert price_of(bids=[], asks=[]) is None


def test_levels_may_come_unsorted_and_repeated_as_plain_lists() -> None:
    result = auction_price(
        [px(2), px(1), px(2), px(0)], [100, 50, 30, 100], [px(-1), px(1), px(0), px(3)], [60, 100, 40, 10]
    )
    assert result == AuctionResult(price=px(1), volume=180, imbalance=-20)


LEVELS = st.lists(st.tuples(st.integers(-8, 8), st.integers(1, 500)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(bids=LEVELS, asks=LEVELS, reference=st.one_of(st.none(), st.integers(-10, 10)))
def test_rule_matches_a_brute_force_search(bids: list, asks: list, reference: int | None) -> None:
    """Plain loops over every price on the grid: the rule's price, volume and imbalance."""

    def demand(p: int) -> int:
        return sum(q for b, q in bids if b >= p)

    def supply(p: int) -> int:
        return sum(q for a, q in asks if a <= p)

    result = price_of(bids, asks, None if reference is None else px(reference))
    grid = range(-9, 10)  # every tick, not only the limit prices
    best_volume = max(min(demand(p), supply(p)) for p in grid)
    if best_volume == 0:
        assert result is None
        return
    candidates = {p for p, _ in bids} | {p for p, _ in asks}
    ref = 0 if reference is None else reference
    key = [
        (-min(demand(p), supply(p)), abs(demand(p) - supply(p)), abs(p - ref) if reference is not None else 0, p)
        for p in candidates
    ]
    p = min(key)[3]
    assert result == AuctionResult(px(p), best_volume, demand(p) - supply(p))


# ---------------------------------------------------------------------------- uncross
def crossed_book() -> OrderBook:
    """Bids 1@1.02 x100, 2@1.01 x50, 3@1.02 x30, 4@1.00 x100; asks 5@0.99 x60, 6@1.01 x100, 7@1.00 x40, 8@1.03 x10."""
    book = OrderBook(tick_size=TICK)
    book.auction = True
    for side, ticks, qty in (
        (1, 2, 100),
        (1, 1, 50),
        (1, 2, 30),
        (1, 0, 100),
        (-1, -1, 60),
        (-1, 1, 100),
        (-1, 0, 40),
        (-1, 3, 10),
    ):
        assert book.submit(side, px(ticks), qty, ts=1, agent=ticks + 10) == Status.OK
        assert book.last_rested == qty  # nothing matches during the call
    return book


def test_uncross_executes_the_volume_at_one_price_in_price_time_order() -> None:
    book = crossed_book()
    bids, asks = book.depth(1), book.depth(-1)
    result = auction_price(bids[0], bids[1], asks[0], asks[1])
    assert result == AuctionResult(px(1), 180, -20)
    assert book.uncross(result.price, ts=99) == 180
    # (ts, price, qty, maker = ask, taker = bid, maker agent, taker agent, aggressor 0)
    assert trade_rows(book.trades()) == [
        (99, px(1), 60, 5, 1, 9, 12, 0),
        (99, px(1), 40, 7, 1, 10, 12, 0),
        (99, px(1), 30, 6, 3, 11, 12, 0),
        (99, px(1), 50, 6, 2, 11, 11, 0),
    ]
    assert book.top(2).tolist() == [px(1), 20, px(0), 100, px(3), 10, -9_999_999_999, 0]
    book.auction = False
    book.check_integrity()  # uncrossed and conserved


def test_uncross_at_a_price_nobody_reaches_does_nothing() -> None:
    book = crossed_book()
    assert book.uncross(px(5), ts=9) == 0 and book.n_trades == 0


@settings(max_examples=150, deadline=None)
@given(
    orders=st.lists(st.tuples(st.booleans(), st.integers(-6, 6), st.integers(1, 300)), min_size=1, max_size=60),
    reference=st.integers(-6, 6),
)
def test_uncross_at_the_rule_price_clears_the_volume_and_leaves_no_cross(orders: list, reference: int) -> None:
    book, ref = OrderBook(tick_size=TICK), ReferenceBook(tick_size=TICK)
    book.auction = ref.auction = True
    for buy, ticks, qty in orders:
        assert (
            book.submit(1 if buy else -1, px(ticks), qty, 1)
            == ref.submit(1 if buy else -1, px(ticks), qty, 1)
            == Status.OK
        )
    bids, asks = book.depth(1), book.depth(-1)
    result = auction_price(bids[0], bids[1], asks[0], asks[1], px(reference))
    if result is not None:
        assert book.uncross(result.price, 2) == ref.uncross(result.price, 2) == result.volume
        assert set(book.trades()["price"].tolist()) == {result.price}
        assert trade_rows(book.trades()) == [
            (t.ts, t.price, t.qty, t.maker_id, t.taker_id, t.maker_agent, t.taker_agent, 0) for t in ref.trades
        ]
    book.auction = False
    book.check_integrity()
    assert book.best_bid() == 0 or book.best_ask() == 0 or book.best_bid() < book.best_ask()
