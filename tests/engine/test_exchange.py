"""The exchange: sessions (closed, call auctions, continuous, halts), auctions at their end, the price band."""

from __future__ import annotations

import pytest
from helpers import MID, TICK, px, trade_rows

from mars_core.engine import (
    AuctionEvent,
    AuctionResult,
    Exchange,
    MarketRules,
    OrderBook,
    OrderKind,
    SessionKind,
    Status,
)
from mars_core.engine.rules import parse_clock as T

BUY, SELL = 1, -1


def auction_rules(**extra: object) -> MarketRules:
    """Opening call 09:25-09:30, continuous 09:30-16:00, closing call 16:00-16:05."""
    return MarketRules.from_dict(
        {
            "tick_size": TICK,
            "sessions": [
                {"kind": "opening_auction", "start": "09:25", "end": "09:30"},
                {"kind": "continuous", "start": "09:30", "end": "16:00"},
                {"kind": "closing_auction", "start": "16:00", "end": "16:05"},
            ],
            **extra,
        }
    )


def enter_crossed_orders(ex: Exchange, ts: int) -> None:
    """Bids 1@1.02 x100, 2@1.01 x50, 3@1.02 x30, 4@1.00 x100; asks 5@0.99 x60, 6@1.01 x100, 7@1.00 x40, 8@1.03 x10.

    The rule clears 180 shares at 1.01 (imbalance -20); see test_auction.
    """
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
        assert ex.submit(ts, side, px(ticks), qty, agent=ticks + 10) == Status.OK


def test_before_the_first_session_the_market_is_closed() -> None:
    ex = Exchange(auction_rules(), reference_price=MID, ts=T("09:00"))
    assert ex.session == SessionKind.CLOSED and not ex.book.accepting
    assert ex.submit(T("09:10"), BUY, MID, 10) == Status.SESSION and len(ex.book) == 0


def test_opening_auction_collects_then_uncrosses_at_the_rule_price_and_continuous_follows() -> None:
    ex = Exchange(auction_rules(), reference_price=MID, ts=T("09:00"))
    ex.advance(T("09:25"))
    assert ex.session == SessionKind.OPENING_AUCTION and ex.book.auction and ex.book.accepting
    enter_crossed_orders(ex, T("09:26"))
    assert (ex.book.best_bid(), ex.book.best_ask()) == (px(2), px(-1))  # resting crossed
    assert ex.submit(T("09:27"), BUY, 0, 10, kind=OrderKind.MARKET) == Status.SESSION
    assert ex.submit(T("09:27"), SELL, px(-1), 10, kind=OrderKind.IOC) == Status.SESSION
    assert ex.cancel(T("09:28"), 8, qty=5) == Status.OK  # cancels and modifies work during the call
    assert ex.modify(T("09:28"), 4, px(-1), 100) == Status.OK and ex.book.n_trades == 0
    ex.book.check_integrity()

    # the first order of continuous trading first closes the call at 09:30 sharp
    assert ex.submit(T("09:30:01"), BUY, 0, 30, agent=99, kind=OrderKind.MARKET) == Status.OK
    assert ex.auctions == [AuctionEvent(T("09:30"), SessionKind.OPENING_AUCTION, AuctionResult(px(1), 180, -20))]
    assert ex.session == SessionKind.CONTINUOUS and not ex.book.auction
    assert ex.reference_price == px(1)
    trades = trade_rows(ex.book.trades())
    assert [(t[0], t[1], t[2], t[-1]) for t in trades[:4]] == [(T("09:30"), px(1), q, 0) for q in (60, 40, 30, 50)]
    # then continuous matching: the market buy takes the 20 left of ask 6 and 10 of ask 8 (5 cancelled, 5 left)
    assert [(t[0], t[1], t[2], t[3], t[-1]) for t in trades[4:]] == [
        (T("09:30:01"), px(1), 20, 6, BUY),
        (T("09:30:01"), px(3), 5, 8, BUY),
    ]
    ex.book.check_integrity()


def test_closing_auction_uncrosses_at_its_end_and_then_the_market_closes() -> None:
    ex = Exchange(auction_rules(), reference_price=MID, ts=T("15:00"))
    assert ex.submit(T("15:59"), BUY, px(-5), 10) == Status.OK  # continuous, no match
    ex.advance(T("16:00"))
    assert ex.session == SessionKind.CLOSING_AUCTION
    enter_crossed_orders(ex, T("16:01"))
    ex.advance(T("16:05"))
    assert ex.auctions == [AuctionEvent(T("16:05"), SessionKind.CLOSING_AUCTION, AuctionResult(px(1), 180, -20))]
    assert ex.session == SessionKind.CLOSED and ex.reference_price == px(1)
    assert ex.submit(T("16:06"), BUY, px(-5), 10) == Status.SESSION
    assert ex.cancel(T("16:07"), 1) == Status.OK  # cancels are still taken while closed
    ex.book.check_integrity()


def test_an_auction_without_a_cross_ends_without_trades_or_a_new_reference() -> None:
    ex = Exchange(auction_rules(), reference_price=MID, ts=T("09:25"))
    assert ex.session == SessionKind.OPENING_AUCTION  # created inside the call
    ex.submit(T("09:26"), BUY, px(-1), 10)
    ex.submit(T("09:26"), SELL, px(1), 10)
    ex.advance(T("10:00"))
    assert ex.auctions == [] and ex.reference_price == MID and ex.book.n_trades == 0
    assert ex.session == SessionKind.CONTINUOUS


def test_auction_ties_are_broken_towards_the_reference_which_moves_only_at_auctions() -> None:
    ex = Exchange(auction_rules(), reference_price=px(3), ts=T("15:00"))
    ex.submit(T("15:01"), SELL, px(9), 10)
    ex.submit(T("15:02"), BUY, px(9), 10)  # a continuous trade at 1.09 does not move the reference
    assert ex.book.n_trades == 1 and ex.reference_price == px(3)
    ex.advance(T("16:00"))
    ex.submit(T("16:01"), BUY, px(6), 100)
    ex.submit(T("16:01"), SELL, px(2), 100)  # 1.02 and 1.06 both clear 100 with no imbalance
    ex.advance(T("16:05"))
    assert ex.auctions[-1].result == AuctionResult(px(2), 100, 0)  # nearer to 1.03


def test_halt_rejects_orders_and_modifies_but_takes_cancels_until_resumed() -> None:
    ex = Exchange(auction_rules(), reference_price=MID, ts=T("10:00"))
    ex.submit(T("10:00"), BUY, px(-1), 100)
    ex.halt(T("10:01"))
    assert ex.halted and not ex.book.accepting
    assert ex.submit(T("10:02"), BUY, px(-1), 10) == Status.SESSION
    assert ex.modify(T("10:02"), 1, px(-2), 10) == Status.SESSION
    assert ex.cancel(T("10:03"), 1, qty=40) == Status.OK and ex.book.qty_at(BUY, px(-1)) == 60
    ex.advance(T("15:00"))
    assert not ex.book.accepting  # a halt outlives the clock moving on
    ex.resume(T("15:01"))
    assert ex.book.accepting and ex.submit(T("15:02"), BUY, px(-1), 10) == Status.OK


def test_a_halt_session_in_the_rules_rejects_orders_for_its_span() -> None:
    rules = MarketRules.from_dict(
        {
            "tick_size": TICK,
            "sessions": [
                {"kind": "continuous", "start": "09:30", "end": "12:00"},
                {"kind": "halt", "start": "12:00", "end": "12:30"},
                {"kind": "continuous", "start": "12:30", "end": "16:00"},
            ],
        }
    )
    ex = Exchange(rules, ts=T("11:00"))
    assert ex.submit(T("11:59:59.999999"), BUY, MID, 10) == Status.OK
    assert ex.submit(T("12:00"), BUY, MID, 10) == Status.SESSION and ex.session == SessionKind.HALT
    assert ex.cancel(T("12:10"), 1) == Status.OK
    assert ex.submit(T("12:30"), BUY, MID, 10) == Status.OK and ex.session == SessionKind.CONTINUOUS


def test_price_band_is_centred_on_the_reference_and_follows_the_auction_price() -> None:
    ex = Exchange(auction_rules(price_band=0.1), reference_price=MID, ts=T("09:25"))
    assert (ex.book.band_low, ex.book.band_high) == (9_000, 11_000)
    assert ex.submit(T("09:26"), BUY, 8_900, 10) == Status.PRICE_BAND
    assert ex.submit(T("09:26"), SELL, 11_100, 10) == Status.PRICE_BAND
    assert ex.submit(T("09:26"), BUY, 9_000, 10) == Status.OK  # edges are inside
    assert ex.submit(T("09:26"), SELL, 11_000, 10) == Status.OK
    enter_crossed_orders(ex, T("09:27"))
    ex.advance(T("09:30"))
    assert ex.reference_price == px(1)
    # 1.01 x 0.9 = 0.909 -> first tick 0.91; 1.01 x 1.1 = 1.111 -> last tick 1.11
    assert (ex.book.band_low, ex.book.band_high) == (9_100, 11_100)
    assert ex.submit(T("09:31"), BUY, 9_000, 10) == Status.PRICE_BAND  # was fine before the auction
    assert ex.submit(T("09:31"), BUY, 9_100, 10) == Status.OK
    assert ex.explain(Status.PRICE_BAND) == "price is outside the price band"


def test_without_a_reference_price_no_band_applies() -> None:
    ex = Exchange(auction_rules(price_band=0.1), ts=T("10:00"))
    assert ex.reference_price is None and ex.submit(T("10:00"), BUY, 100, 10) == Status.OK


def test_exchange_takes_over_a_book_and_imposes_its_tick_and_lot() -> None:
    book = OrderBook(tick_size=1)
    book.submit(BUY, 9_999, 7, 1)
    ex = Exchange(MarketRules(tick_size=TICK, lot_size=10), book=book, ts=T("10:00"))
    assert ex.book is book and (book.tick_size, book.lot_size) == (TICK, 10)
    assert ex.submit(T("10:00"), SELL, 9_950, 10) == Status.OFF_TICK
    assert ex.submit(T("10:00"), SELL, 9_900, 10) == Status.OK and book.last_filled == 7


def test_clock_only_moves_forward_on_advance() -> None:
    ex = Exchange(auction_rules(), ts=T("10:00"))
    ex.advance(T("10:05"))
    with pytest.raises(ValueError, match="exchange clock runs forward"):
        ex.advance(T("10:04"))


def test_orders_dated_before_the_clock_are_refused() -> None:
    ex = Exchange(auction_rules(), ts=T("10:00"))
    ex.submit(T("10:05"), BUY, MID, 10)
    with pytest.raises(ValueError):
        ex.submit(T("10:04"), BUY, MID, 10)
