"""The compiled order book on hand-written cases: priority, order kinds, cancels, modifies, logs, queries."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from helpers import MID, TICK, order_rows, px, state, trade_rows

from mars_core.engine import BookIntegrityError, OrderBook, OrderEvent, OrderKind, Status

BUY, SELL = 1, -1
LIMIT, MARKET, IOC = OrderKind.LIMIT, OrderKind.MARKET, OrderKind.IOC
DUMMY_ASK, DUMMY_BID = 9_999_999_999, -9_999_999_999


@pytest.fixture
def book() -> OrderBook:
    return OrderBook(tick_size=TICK)


def asks_101_102(book: OrderBook) -> None:
    """Asks: id1 (agent 7) 100 @ 1.01, id2 (agent 8) 50 @ 1.02, id3 (agent 9) 70 @ 1.01."""
    assert book.submit(SELL, px(1), 100, ts=1, agent=7) == Status.OK
    assert book.submit(SELL, px(2), 50, ts=2, agent=8) == Status.OK
    assert book.submit(SELL, px(1), 70, ts=3, agent=9) == Status.OK


# ----------------------------------------------------------------- priority and trades
def test_better_price_fills_first_then_time_within_level(book: OrderBook) -> None:
    asks_101_102(book)
    assert book.submit(BUY, px(2), 200, ts=10, agent=5) == Status.OK
    # 1.01 level first (id1 then id3, arrival order), then 1.02: every trade at the resting price
    assert trade_rows(book.trades()) == [
        (10, px(1), 100, 1, 4, 7, 5, BUY),
        (10, px(1), 70, 3, 4, 9, 5, BUY),
        (10, px(2), 30, 2, 4, 8, 5, BUY),
    ]
    assert (book.last_order_id, book.last_filled, book.last_rested) == (4, 200, 0)
    assert book.queue(SELL, px(2)) == [(2, 20, 8)]
    assert book.order(1) is None and book.order(3) is None and 4 not in book
    book.check_integrity()


def test_sell_aggressor_hits_bids_best_first_with_side_minus_one(book: OrderBook) -> None:
    book.submit(BUY, px(-1), 40, ts=1, agent=1)
    book.submit(BUY, px(0), 30, ts=2, agent=2)
    assert book.submit(SELL, px(-1), 50, ts=3, agent=3) == Status.OK
    assert trade_rows(book.trades()) == [(3, px(0), 30, 2, 3, 2, 3, SELL), (3, px(-1), 20, 1, 3, 1, 3, SELL)]
    assert book.queue(BUY, px(-1)) == [(1, 20, 1)]


def test_partial_fill_leaves_the_maker_at_the_head_with_its_remainder(book: OrderBook) -> None:
    asks_101_102(book)
    book.submit(BUY, px(1), 60, ts=5, agent=5)
    assert book.queue(SELL, px(1)) == [(1, 40, 7), (3, 70, 9)]
    assert book.order(1) == (SELL, px(1), 40, 7, 1)  # (side, price, qty, agent, ts of entry)
    assert book.qty_at(SELL, px(1)) == 110


def test_marketable_limit_trades_then_rests_at_its_limit(book: OrderBook) -> None:
    asks_101_102(book)
    assert book.submit(BUY, px(1), 250, ts=5, agent=5) == Status.OK
    assert (book.last_filled, book.last_rested) == (170, 80)
    assert [t[1:4] for t in trade_rows(book.trades())] == [(px(1), 100, 1), (px(1), 70, 3)]
    assert (book.best_bid(), book.best_ask()) == (px(1), px(2))
    assert book.queue(BUY, px(1)) == [(4, 80, 5)]
    book.check_integrity()


def test_market_order_walks_levels_and_discards_the_remainder(book: OrderBook) -> None:
    asks_101_102(book)
    assert book.submit(BUY, 0, 500, ts=5, agent=5, kind=MARKET) == Status.OK
    assert [(t[1], t[2], t[3]) for t in trade_rows(book.trades())] == [(px(1), 100, 1), (px(1), 70, 3), (px(2), 50, 2)]
    assert (book.last_filled, book.last_rested) == (220, 0)
    assert len(book) == 0 and book.n_levels(SELL) == 0 and book.n_levels(BUY) == 0
    book.check_integrity()  # the 280 discarded shares are accounted for


def test_market_order_on_an_empty_side_is_rejected_no_liquidity(book: OrderBook) -> None:
    book.submit(BUY, px(-1), 10, ts=1)
    before = state(book)
    assert book.submit(BUY, 0, 10, ts=2, kind=MARKET) == Status.NO_LIQUIDITY
    assert state(book) == before
    assert order_rows(book.drain_orders())[-1][-1] == Status.NO_LIQUIDITY


def test_ioc_trades_up_to_its_limit_and_discards_the_rest(book: OrderBook) -> None:
    asks_101_102(book)
    assert book.submit(BUY, px(1), 500, ts=5, agent=5, kind=IOC) == Status.OK
    assert [(t[1], t[2]) for t in trade_rows(book.trades())] == [(px(1), 100), (px(1), 70)]
    assert (book.last_filled, book.last_rested) == (170, 0)
    assert book.best_bid() == 0 and book.best_ask() == px(2) and 4 not in book
    book.check_integrity()


def test_ioc_that_does_not_cross_is_accepted_and_fully_discarded(book: OrderBook) -> None:
    asks_101_102(book)
    before = state(book)
    assert book.submit(BUY, px(0), 30, ts=5, kind=IOC) == Status.OK
    assert (book.last_filled, book.last_rested, book.n_trades) == (0, 0, 0)
    assert state(book)[:4] == before[:4]
    book.check_integrity()


def test_a_level_emptied_by_fills_is_removed(book: OrderBook) -> None:
    asks_101_102(book)
    book.submit(BUY, px(1), 170, ts=5)
    assert book.depth(SELL)[0].tolist() == [px(2)] and book.qty_at(SELL, px(1)) == 0


# ------------------------------------------------------------------- cancel and modify
def test_partial_cancel_keeps_queue_position(book: OrderBook) -> None:
    for i in range(3):
        book.submit(SELL, px(1), 100, ts=i, agent=i)
    assert book.cancel(1, ts=5, qty=60) == Status.OK
    assert book.queue(SELL, px(1)) == [(1, 40, 0), (2, 100, 1), (3, 100, 2)]
    book.submit(BUY, px(1), 50, ts=6)
    assert [(t[3], t[2]) for t in trade_rows(book.trades())] == [(1, 40), (2, 10)]
    rows = order_rows(book.drain_orders())
    assert rows[3] == (OrderEvent.CANCEL, 1, 0, SELL, px(1), 60, LIMIT, Status.OK)
    book.check_integrity()


def test_cancel_of_everything_or_more_deletes_and_logs_what_was_left(book: OrderBook) -> None:
    book.submit(SELL, px(1), 100, ts=0, agent=3)
    book.submit(SELL, px(1), 100, ts=0, agent=3)
    book.submit(SELL, px(2), 100, ts=0, agent=3)
    book.cancel(1, ts=1, qty=30)
    assert book.cancel(1, ts=2, qty=70) == Status.OK  # exactly what is left
    assert book.cancel(2, ts=3, qty=1_000) == Status.OK  # more than it has
    assert book.cancel(3, ts=4) == Status.OK  # qty 0: all
    assert len(book) == 0 and book.n_levels(SELL) == 0
    events = [(r[0], r[1], r[5], r[7]) for r in order_rows(book.drain_orders())[3:]]
    assert events == [
        (OrderEvent.CANCEL, 1, 30, 0),
        (OrderEvent.DELETE, 1, 70, 0),
        (OrderEvent.DELETE, 2, 100, 0),
        (OrderEvent.DELETE, 3, 100, 0),
    ]
    book.check_integrity()


def test_cancelling_a_dead_order_is_unknown(book: OrderBook) -> None:
    book.submit(SELL, px(1), 100, ts=0)
    book.cancel(1, ts=1)
    assert book.cancel(1, ts=2) == Status.UNKNOWN_ORDER
    assert book.modify(1, px(1), 10, ts=3) == Status.UNKNOWN_ORDER


def test_modify_loses_priority_even_at_the_same_price_and_size(book: OrderBook) -> None:
    for i in range(3):
        book.submit(BUY, px(-1), 100, ts=i, agent=i)
    assert book.modify(1, px(-1), 100, ts=5) == Status.OK
    assert book.queue(BUY, px(-1)) == [(2, 100, 1), (3, 100, 2), (1, 100, 0)]
    assert book.order(1) == (BUY, px(-1), 100, 0, 5)
    # a modify of size only also goes to the back
    assert book.modify(2, px(-1), 40, ts=6) == Status.OK
    assert book.queue(BUY, px(-1)) == [(3, 100, 2), (1, 100, 0), (2, 40, 1)]
    rows = order_rows(book.drain_orders())[3:]
    assert rows[:2] == [
        (OrderEvent.MODIFY, 1, 0, BUY, px(-1), 100, LIMIT, 0),
        (OrderEvent.SUBMIT, 1, 0, BUY, px(-1), 100, LIMIT, 0),
    ]
    book.check_integrity()


def test_modify_to_another_level_moves_the_order(book: OrderBook) -> None:
    book.submit(BUY, px(-1), 100, ts=0)
    book.submit(BUY, px(-2), 100, ts=0)
    book.modify(1, px(-2), 60, ts=1)
    assert book.n_levels(BUY) == 1 and book.queue(BUY, px(-2)) == [(2, 100, 0), (1, 60, 0)]


def test_modify_that_crosses_trades_as_the_taker_and_rests_the_rest(book: OrderBook) -> None:
    asks_101_102(book)
    book.submit(BUY, px(-1), 100, ts=4, agent=6)  # id 4
    assert book.modify(4, px(1), 300, ts=5) == Status.OK
    assert trade_rows(book.trades()) == [(5, px(1), 100, 1, 4, 7, 6, BUY), (5, px(1), 70, 3, 4, 9, 6, BUY)]
    assert book.queue(BUY, px(1)) == [(4, 130, 6)] and book.qty_at(BUY, px(-1)) == 0
    book.check_integrity()


def test_only_the_owner_may_cancel_or_modify_when_an_agent_is_given(book: OrderBook) -> None:
    book.submit(SELL, px(1), 100, ts=0, agent=3)
    before = state(book)
    assert book.cancel(1, ts=1, agent=4) == Status.NOT_OWNER
    assert book.modify(1, px(2), 100, ts=1, agent=4) == Status.NOT_OWNER
    assert state(book) == before
    assert book.cancel(1, ts=2, qty=10, agent=3) == Status.OK
    assert book.modify(1, px(2), 50, ts=3, agent=3) == Status.OK
    assert book.cancel(1, ts=4, agent=-1) == Status.OK  # -1: the exchange itself, no owner check
    assert len(book) == 0


# ------------------------------------------------------------------- rejects
def rules_book() -> OrderBook:
    """Tick 100, lot 10, band [0.90, 1.10]; a bid (id1, agent 1) and an ask (id2, agent 2)."""
    book = OrderBook(tick_size=TICK, lot_size=10)
    book.band_low, book.band_high = px(-10), px(10)
    assert book.submit(BUY, px(-1), 100, ts=0, agent=1) == Status.OK
    assert book.submit(SELL, px(1), 100, ts=0, agent=2) == Status.OK
    book.drain_orders()
    return book


Operation = Callable[[OrderBook], object]
SUB, CAN, DEL, MOD = OrderEvent.SUBMIT, OrderEvent.CANCEL, OrderEvent.DELETE, OrderEvent.MODIFY
REJECTS = [
    # (case, prepare, operation, expected status, logged event)
    ("side 0", None, lambda b: b.submit(0, MID, 10, 1), Status.INVALID_SIDE, SUB),
    ("side 2", None, lambda b: b.submit(2, MID, 10, 1), Status.INVALID_SIDE, SUB),
    ("side 257 must not wrap to buy", None, lambda b: b.submit(257, MID, 10, 1), Status.INVALID_SIDE, SUB),
    ("side 255 must not wrap to sell", None, lambda b: b.submit(255, MID, 10, 1), Status.INVALID_SIDE, SUB),
    ("kind 0", None, lambda b: b.submit(BUY, MID, 10, 1, kind=0), Status.INVALID_KIND, SUB),
    ("kind 4", None, lambda b: b.submit(BUY, MID, 10, 1, kind=4), Status.INVALID_KIND, SUB),
    ("kind 257 must not wrap to limit", None, lambda b: b.submit(BUY, MID, 10, 1, kind=257), Status.INVALID_KIND, SUB),
    ("qty 0", None, lambda b: b.submit(BUY, MID, 0, 1), Status.INVALID_QTY, SUB),
    ("qty negative", None, lambda b: b.submit(SELL, MID, -10, 1), Status.INVALID_QTY, SUB),
    ("odd lot", None, lambda b: b.submit(BUY, MID, 15, 1), Status.ODD_LOT, SUB),
    ("odd lot market", None, lambda b: b.submit(BUY, 0, 15, 1, kind=MARKET), Status.ODD_LOT, SUB),
    ("price 0", None, lambda b: b.submit(BUY, 0, 10, 1), Status.INVALID_PRICE, SUB),
    ("price negative ioc", None, lambda b: b.submit(BUY, -100, 10, 1, kind=IOC), Status.INVALID_PRICE, SUB),
    ("off tick", None, lambda b: b.submit(BUY, MID + 50, 10, 1), Status.OFF_TICK, SUB),
    ("below band", None, lambda b: b.submit(BUY, px(-11), 10, 1), Status.PRICE_BAND, SUB),
    ("above band ioc", None, lambda b: b.submit(BUY, px(11), 10, 1, kind=IOC), Status.PRICE_BAND, SUB),
    ("duplicate id", None, lambda b: b.submit(BUY, px(-2), 10, 1, order_id=2), Status.DUPLICATE_ID, SUB),
    ("cancel unknown", None, lambda b: b.cancel(99, 1), Status.UNKNOWN_ORDER, DEL),
    ("partial cancel unknown", None, lambda b: b.cancel(99, 1, qty=5), Status.UNKNOWN_ORDER, CAN),
    ("cancel negative qty", None, lambda b: b.cancel(1, 1, qty=-5), Status.INVALID_QTY, CAN),
    ("cancel not owner", None, lambda b: b.cancel(1, 1, agent=2), Status.NOT_OWNER, DEL),
    ("modify unknown", None, lambda b: b.modify(99, MID, 10, 1), Status.UNKNOWN_ORDER, MOD),
    ("modify not owner", None, lambda b: b.modify(1, MID, 10, 1, agent=2), Status.NOT_OWNER, MOD),
    ("modify qty 0", None, lambda b: b.modify(1, MID, 0, 1), Status.INVALID_QTY, MOD),
    ("modify odd lot", None, lambda b: b.modify(1, MID, 25, 1), Status.ODD_LOT, MOD),
    ("modify price 0", None, lambda b: b.modify(1, 0, 10, 1), Status.INVALID_PRICE, MOD),
    ("modify off tick", None, lambda b: b.modify(1, MID + 1, 10, 1), Status.OFF_TICK, MOD),
    ("modify above band", None, lambda b: b.modify(1, px(11), 10, 1), Status.PRICE_BAND, MOD),
    (
        "market buy, no asks",
        lambda b: b.cancel(2, 0),
        lambda b: b.submit(BUY, 0, 10, 1, kind=MARKET),
        Status.NO_LIQUIDITY,
        SUB,
    ),
    (
        "market sell, no bids",
        lambda b: b.cancel(1, 0),
        lambda b: b.submit(SELL, 0, 10, 1, kind=MARKET),
        Status.NO_LIQUIDITY,
        SUB,
    ),
    (
        "halted submit",
        lambda b: setattr(b, "accepting", False),
        lambda b: b.submit(BUY, MID, 10, 1),
        Status.SESSION,
        SUB,
    ),
    ("halted modify", lambda b: setattr(b, "accepting", False), lambda b: b.modify(1, MID, 10, 1), Status.SESSION, MOD),
    (
        "auction market",
        lambda b: setattr(b, "auction", True),
        lambda b: b.submit(BUY, 0, 10, 1, kind=MARKET),
        Status.SESSION,
        SUB,
    ),
    (
        "auction ioc",
        lambda b: setattr(b, "auction", True),
        lambda b: b.submit(SELL, MID, 10, 1, kind=IOC),
        Status.SESSION,
        SUB,
    ),
]


@pytest.mark.parametrize(
    ("prepare", "operation", "expected", "event"), [case[1:] for case in REJECTS], ids=[case[0] for case in REJECTS]
)
def test_each_reject_has_its_reason_changes_nothing_and_is_logged(
    prepare: Operation | None, operation: Operation, expected: Status, event: OrderEvent
) -> None:
    book = rules_book()
    if prepare is not None:
        prepare(book)
        book.drain_orders()
    before = state(book)
    assert operation(book) == expected
    assert state(book) == before
    (row,) = order_rows(book.drain_orders())
    assert (row[0], row[-1]) == (event, expected)
    assert Status(expected).reason  # every code has words for the user
    book.check_integrity()


def test_every_status_code_is_produced_by_the_reject_table() -> None:
    assert {case[3] for case in REJECTS} == set(Status) - {Status.OK}


def test_validation_order_reports_the_first_problem() -> None:
    book = rules_book()
    book.accepting = False
    assert book.submit(0, -1, 0, 1, kind=9) == Status.SESSION  # closed beats everything
    book.accepting = True
    assert book.submit(0, -1, 0, 1, kind=9) == Status.INVALID_SIDE
    assert book.submit(BUY, -1, 0, 1, kind=9) == Status.INVALID_KIND
    assert book.submit(BUY, -1, 0, 1) == Status.INVALID_QTY
    assert book.submit(BUY, -1, 5, 1) == Status.ODD_LOT
    assert book.submit(BUY, -1, 10, 1) == Status.INVALID_PRICE
    assert book.submit(BUY, px(20) + 1, 10, 1) == Status.OFF_TICK
    assert book.submit(BUY, px(20), 10, 1, order_id=1) == Status.PRICE_BAND
    book.auction = True
    assert book.submit(BUY, px(0), 10, 1, kind=IOC, order_id=1) == Status.DUPLICATE_ID


def test_band_edges_are_inside_and_market_orders_ignore_price() -> None:
    book = rules_book()
    assert book.submit(BUY, px(-10), 10, 1) == Status.OK
    assert book.submit(SELL, px(10), 10, 1) == Status.OK
    assert book.submit(BUY, -5, 10, 1, kind=MARKET) == Status.OK and book.last_filled == 10


def test_rejected_submit_does_not_use_up_an_order_id(book: OrderBook) -> None:
    book.submit(BUY, px(0), 10, 1)
    assert book.submit(BUY, px(0), 0, 1) == Status.INVALID_QTY
    assert book.last_order_id == 2 and book.next_order_id == 2
    assert book.submit(BUY, px(0), 10, 1) == Status.OK and book.last_order_id == 2


def test_explicit_ids_leave_the_counter_alone_and_dead_ids_may_be_reused(book: OrderBook) -> None:
    assert book.submit(BUY, px(0), 10, 1, order_id=50) == Status.OK
    assert book.next_order_id == 1
    book.submit(BUY, px(0), 10, 1)
    assert book.last_order_id == 1 and book.next_order_id == 2
    assert book.submit(SELL, px(5), 10, 1, order_id=2) == Status.OK and book.next_order_id == 3  # = the counter
    book.cancel(50, 2)
    assert book.submit(SELL, px(5), 10, 3, order_id=50) == Status.OK  # no longer resting: allowed


def test_an_auto_id_that_collides_with_a_resting_explicit_id_is_a_duplicate(book: OrderBook) -> None:
    """Documented: callers mixing explicit and automatic ids must keep theirs out of the counter's range."""
    book.submit(BUY, px(0), 10, 1, order_id=2)
    book.submit(BUY, px(0), 10, 1)  # takes 1
    assert book.submit(BUY, px(0), 10, 1) == Status.DUPLICATE_ID and book.last_order_id == 2
    assert book.next_order_id == 2  # stuck until order 2 leaves the book
    book.cancel(2, 2)
    assert book.submit(BUY, px(0), 10, 1) == Status.OK and book.last_order_id == 2


def test_book_rejects_a_zero_tick_or_lot_instead_of_dividing_by_zero() -> None:
    with pytest.raises(ValueError, match="tick_size and lot_size must be positive, were 0 and 1"):
        OrderBook(tick_size=0)
    with pytest.raises(ValueError, match="were 100 and -5"):
        OrderBook(tick_size=100, lot_size=-5)


# --------------------------------------------------------------- integrity and conservation
def test_integrity_and_conservation_hold_after_every_operation(book: OrderBook) -> None:
    """Accepted = resting + maker fills + taker fills + cancelled + discarded, counted from the outside."""
    accepted = cancelled = discarded = 0
    script = [
        ("submit", (SELL, px(1), 100, 1, 1, LIMIT)),
        ("submit", (SELL, px(2), 200, 2, 2, LIMIT)),
        ("submit", (BUY, px(-1), 150, 3, 3, LIMIT)),
        ("submit", (BUY, px(1), 130, 4, 4, LIMIT)),
        ("cancel", (2, 40)),
        ("submit", (SELL, 0, 500, 6, 5, MARKET)),
        ("submit", (BUY, px(3), 120, 7, 6, IOC)),
        ("modify", (2, px(3), 90)),
        ("submit", (BUY, px(-2), 70, 9, 7, LIMIT)),
        ("cancel", (7, 0)),
        ("submit", (BUY, 0, 10, 10, 8, MARKET)),
        ("modify", (2, px(4), 300)),
        ("submit", (BUY, px(4), 1_000, 12, 9, IOC)),
    ]
    for op, args in script:
        if op == "submit":
            side, price, qty, ts, agent, kind = args
            status = book.submit(side, price, qty, ts, agent, kind)
            if status == Status.OK:
                accepted += qty
                discarded += 0 if kind == LIMIT else qty - book.last_filled
        elif op == "cancel":
            order_id, qty = args
            left = book.order(order_id)[2]
            status = book.cancel(order_id, 0, qty)
            cancelled += left if qty == 0 else min(qty, left)
        else:
            order_id, price, qty = args
            cancelled += book.order(order_id)[2]  # a modify is a delete ...
            status = book.modify(order_id, price, qty, 0)
            accepted += qty  # ... plus a new submission
        assert status == Status.OK, (op, args)
        book.check_integrity()
        filled = int(book.trades()["qty"].sum())
        assert accepted == book.resting_qty() + 2 * filled + cancelled + discarded
    assert discarded > 0 and cancelled > 0 and book.n_trades >= 6


def test_check_integrity_raises_on_a_crossed_book() -> None:
    book = OrderBook(tick_size=TICK)
    book.auction = True  # a call auction may rest crossed orders ...
    book.submit(BUY, px(1), 10, 1)
    book.submit(SELL, px(0), 10, 1)
    book.check_integrity()
    book.auction = False  # ... continuous trading may not
    with pytest.raises(BookIntegrityError, match=rf"book crossed: bid {px(1)} >= ask {px(0)}"):
        book.check_integrity()


def test_add_rests_without_matching_and_front_goes_ahead_of_the_queue(book: OrderBook) -> None:
    assert book.add(10, SELL, px(1), 100, ts=1) == Status.OK
    assert book.add(11, SELL, px(1), 50, ts=2, front=True) == Status.OK
    assert book.add(12, SELL, px(1), 20, ts=3) == Status.OK
    assert book.queue(SELL, px(1)) == [(11, 50, 0), (10, 100, 0), (12, 20, 0)]
    assert (book.add(10, BUY, px(0), 5, 4), book.add(13, 0, px(0), 5, 4), book.add(13, BUY, px(0), 0, 4)) == (
        Status.DUPLICATE_ID,
        Status.INVALID_SIDE,
        Status.INVALID_QTY,
    )
    assert book.next_order_id == 1 and book.n_trades == 0  # add never touches the counter
    book.submit(BUY, px(1), 60, ts=5)
    assert [(t[3], t[2]) for t in trade_rows(book.trades())] == [(11, 50), (10, 10)]
    book.check_integrity()


# ----------------------------------------------------------------------- queries
def test_top_is_in_lobster_layout_with_dummy_padding(book: OrderBook) -> None:
    book.submit(SELL, px(1), 100, 1)
    book.submit(SELL, px(3), 30, 1)
    book.submit(SELL, px(1), 20, 1)
    book.submit(BUY, px(-2), 70, 1)
    assert book.top(3).tolist() == [
        px(1),
        120,
        px(-2),
        70,
        px(3),
        30,
        DUMMY_BID,
        0,
        DUMMY_ASK,
        0,
        DUMMY_BID,
        0,
    ]
    out = np.full(16, 7, dtype=np.int64)
    assert book.top(2, out) is out and out[:8].tolist() == book.top(2).tolist() and out[8:].tolist() == [7] * 8
    with pytest.raises(ValueError, match="out has 4 slots, need 8"):
        book.top(2, np.empty(4, dtype=np.int64))


def test_depth_queue_and_small_queries(book: OrderBook) -> None:
    assert (book.best_bid(), book.best_ask(), len(book)) == (0, 0, 0)
    for k, qty in ((-1, 10), (-3, 30), (-2, 20), (-1, 5)):
        book.submit(BUY, px(k), qty, 1, agent=abs(k))
    prices, qtys = book.depth(BUY)
    assert (prices.tolist(), qtys.tolist()) == ([px(-1), px(-2), px(-3)], [15, 20, 30])
    assert [a.tolist() for a in book.depth(BUY, 2)] == [[px(-1), px(-2)], [15, 20]]
    assert [a.tolist() for a in book.depth(SELL)] == [[], []]
    assert book.queue(BUY, px(-1)) == [(1, 10, 1), (4, 5, 1)] and book.queue(BUY, px(5)) == []
    assert (book.best_bid(), book.n_levels(BUY), book.n_levels(SELL), len(book)) == (px(-1), 3, 0, 4)
    assert 3 in book and 9 not in book and book.order(9) is None


def test_pick_order_takes_the_nearest_level_with_eligible_orders_and_a_quantile(book: OrderBook) -> None:
    # bids at 0.99: agents 5, 1, 2, 9, 3 (ids 1..5); at 0.97: agent 1 (id 6)
    for agent in (5, 1, 2, 9, 3):
        book.submit(BUY, px(-1), 10, 1, agent=agent)
    book.submit(BUY, px(-3), 10, 1, agent=1)
    # asks at 1.02: agent 2 (id 7); at 1.03: agent 0 (id 8)
    book.submit(SELL, px(2), 10, 1, agent=2)
    book.submit(SELL, px(3), 10, 1, agent=0)
    # eligible (agent <= 3) at 0.99 in queue order: ids 2, 3, 5; u picks the int(u * 3)-th
    assert [book.pick_order(BUY, px(-1), 3, u) for u in (0.0, 0.34, 0.5, 0.99)] == [2, 3, 3, 5]
    assert book.pick_order(BUY, px(-3), 9, 0.99) == 6  # the exact level first
    assert book.pick_order(BUY, px(-4), 3, 0.0) == 6  # 0.97 is nearer than 0.99
    assert book.pick_order(BUY, px(5), 3, 0.0) == 2  # above every bid: the best bid is nearest
    assert book.pick_order(BUY, px(-2), 1, 0.0) == 6  # equidistant: the level further from the spread
    assert book.pick_order(BUY, px(-2), 0, 0.0) == 0  # no agent <= 0 on the bid side
    assert book.pick_order(SELL, px(2), 0, 0.0) == 8  # 1.02 has nobody eligible: next level
    assert book.pick_order(SELL, px(2), 0, 0.0, max_levels=1) == 0  # ... unless only one level is tried
    assert book.pick_order(SELL, px(0), 5, 0.5) == 7
    assert OrderBook().pick_order(BUY, MID, 99, 0.0) == 0


def test_trades_and_drains_keep_a_running_count(book: OrderBook) -> None:
    asks_101_102(book)
    book.submit(BUY, px(1), 120, ts=5)  # 2 trades
    assert book.n_trades == 2
    first = book.drain_trades()
    assert [int(q) for q in first["qty"]] == [100, 20]
    assert book.n_trades == 2 and len(book.trades()["qty"]) == 0 and len(book.drain_trades()["qty"]) == 0
    book.submit(BUY, px(2), 100, ts=6)  # 2 more: 50 of id3 and 50 of id2
    assert book.n_trades == 4
    assert trade_rows(book.trades(2)) == [(6, px(1), 50, 3, 5, 9, 0, BUY), (6, px(2), 50, 2, 5, 8, 0, BUY)]
    assert trade_rows(book.trades(3)) == [(6, px(2), 50, 2, 5, 8, 0, BUY)]
    assert trade_rows(book.trades(0)) == trade_rows(book.trades(2))  # drained trades are gone
    assert len(book.trades(9)["qty"]) == 0
    assert [int(q) for q in book.drain_trades()["maker_id"]] == [3, 2]
    assert book.n_trades == 4 and len(book.trades(0)["qty"]) == 0


def test_order_log_records_every_operation_and_drains(book: OrderBook) -> None:
    book.submit(SELL, px(1), 100, ts=1, agent=7)
    book.submit(BUY, 0, 30, ts=2, agent=8, kind=MARKET)
    book.cancel(1, ts=3, qty=20, agent=7)
    rows = book.drain_orders()
    assert rows["ts"].tolist() == [1, 2, 3]
    assert order_rows(rows) == [
        (SUB, 1, 7, SELL, px(1), 100, LIMIT, 0),
        (SUB, 2, 8, BUY, 0, 30, MARKET, 0),
        (CAN, 1, 7, SELL, px(1), 20, LIMIT, 0),
    ]
    assert book.n_logged == 0 and order_rows(book.drain_orders()) == []


def test_order_log_can_be_switched_off() -> None:
    book = OrderBook(tick_size=TICK, log_orders=False)
    book.submit(SELL, px(1), 100, ts=1)
    book.submit(SELL, px(1), 0, ts=1)
    assert book.n_logged == 0 and len(book) == 1
