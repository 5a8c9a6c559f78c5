"""Tokenizer: fitted bins, token layout, round trips over real orders, coverage, context features."""

from __future__ import annotations

import numpy as np
import pytest

from mars_core.data import LobsterDay
from mars_core.data.orderflow import order_flow
from mars_core.engine import LobsterReplay, OrderBook
from mars_core.errors import MarsInputError
from mars_core.model.binning import SAMPLES_PER_BIN, Binner
from mars_core.model.dataset import VAL_START_NS, _split
from mars_core.model.tokenizer import (
    TOKENIZER_VERSION,
    OrderTokenizer,
    RawOrders,
    _search_order,
    raw_orders,
)
from mars_core.model.vocab import ASK, BID, CANCEL, VOCAB_SIZE, join_token, split_token, spread_bins

TICK = 100


def test_binner_gives_frequent_values_their_own_bin_and_splits_the_rest_evenly() -> None:
    rng = np.random.default_rng(0)
    values = np.r_[np.full(5000, 100), rng.integers(1, 1000, 5000)]
    b = Binner.fit(values, 8)
    assert b.n_bins == 8
    k = int(b.bin(np.array([100]))[0])
    assert b.upper[k] == 100 and (k == 0 or b.upper[k - 1] == 99)  # 100 alone
    counts = np.bincount(b.bin(values[values != 100]), minlength=8)
    others = np.delete(counts, k)
    assert others.min() > 0.6 * others.mean()  # the rest in roughly equal shares
    assert np.all(np.diff(b.upper) > 0)


def test_binner_caps_the_range_and_draws_only_values_of_the_bin() -> None:
    values = np.arange(1000)
    b = Binner.fit(values, 10, cap_quantile=0.9)
    assert b.upper[-1] == 900  # the 0.9 quantile, rounded up to a value seen
    assert b.outside(np.array([900, 901])).tolist() == [False, True]
    assert b.bin(np.array([5000]))[0] == 9  # clipped into the last bin
    rng = np.random.default_rng(0)
    for k in range(10):
        drawn = np.array([b.quantile(k, u) for u in np.linspace(0, 0.999, 50)] + [b.draw(k, rng) for _ in range(20)])
        assert np.all(b.bin(drawn) == k) and b.bin_one(int(drawn[0])) == k
        lo, hi = b.bounds(k)
        assert np.all((drawn >= lo) & (drawn <= hi))
    assert b.samples.shape == (10, SAMPLES_PER_BIN)
    assert b.quantile(9, 0.5, limit=int(b.upper[8])) is None  # nothing of the last bin below its lower edge
    assert b.quantile(9, 0.999, limit=int(b.upper[8]) + 3) <= b.upper[8] + 3


def test_binner_with_few_distinct_values_uses_one_bin_each() -> None:
    b = Binner.fit(np.array([1, 1, 2, 3, 3, 3]), 8)
    assert b.upper.tolist() == [1, 2, 3]


def test_token_layout_matches_the_paper_index() -> None:
    t = join_token(np.array([2]), np.array([31]), np.array([31]), np.array([15]))
    assert t[0] == VOCAB_SIZE - 1 == 49151
    parts = split_token(np.array([((1 * 32 + 5) * 32 + 7) * 16 + 3]))
    assert [int(p[0]) for p in parts] == [1, 5, 7, 3]


def test_real_orders_encode_to_valid_tokens_with_types_from_action_and_side(
    goog_day: LobsterDay, tokenizer: OrderTokenizer
) -> None:
    raw = raw_orders(goog_day)
    tokens = tokenizer.encode(raw)
    assert tokens.min() >= 0 and tokens.max() < VOCAB_SIZE
    typ = split_token(tokens)[0]
    assert np.all(typ[raw.is_cancel] == CANCEL)
    assert np.all(typ[~raw.is_cancel & (raw.side > 0)] == BID)
    assert np.all(typ[~raw.is_cancel & (raw.side < 0)] == ASK)


def test_marketable_orders_use_the_cross_slots_and_orders_at_the_best_the_first_passive_slot(
    tokenizer: OrderTokenizer,
) -> None:
    # bid 100.00, ask 100.05; a buy at the ask crosses, a buy at the bid joins the best, a buy at 100.02 improves
    raw = RawOrders(
        np.zeros(3, bool),
        np.ones(3, np.int8),
        np.array([1_000_500, 1_000_000, 1_000_200]),
        np.full(3, 100),
        np.zeros(3, np.int64),
        np.full(3, 1_000_000),
        np.full(3, 1_000_500),
        TICK,
    )
    _, price, _, _ = split_token(tokenizer.encode(raw))
    assert price[0] == tokenizer.price["cross"].bin(np.array([0]))[0] == 0
    assert price[1] == 11  # passive region starts at slot 11, depth 0 is its first bin
    assert 3 <= price[2] < 11  # inside the spread


def test_encode_decode_encode_gives_the_same_token_for_real_orders(
    goog_day: LobsterDay, amzn_day: LobsterDay, tokenizer: OrderTokenizer
) -> None:
    """Decode each sampled real order's token against the replayed book before it (history orders
    are agent 0), re-encode the decoded order against the same quotes: the token must come back."""
    rng = np.random.default_rng(0)
    for day in (goog_day, amzn_day):
        flow = order_flow(day)
        raw = raw_orders(day, flow)
        tokens = tokenizer.encode(raw)
        picks = np.sort(rng.choice(np.arange(1, len(flow)), 400, replace=False))
        replay = LobsterReplay(day)
        same, decoded_cancels = 0, 0
        for i in picks:
            replay.advance(int(flow.first_msg[i]))
            book = replay.book
            order = tokenizer.decode(int(tokens[i]), book, rng, agents={0})
            assert order is not None
            again = tokenizer.encode_order(
                order.type == CANCEL,
                order.side,
                order.price,
                order.qty,
                order.interval_ns,
                book.best_bid(),
                book.best_ask(),
                TICK,
            )
            same += again == tokens[i]
            decoded_cancels += order.type == CANCEL
        assert decoded_cancels > 100
        assert same / len(picks) >= 0.97, f"{day.info.key}: {same}/{len(picks)} round trips"


def test_coverage_of_the_slot_ranges_is_high_on_both_splits(
    goog_day: LobsterDay, amzn_day: LobsterDay, tokenizer: OrderTokenizer
) -> None:
    for day in (goog_day, amzn_day):
        raw, _, val_start = _split(day)
        for part in (np.arange(val_start), np.arange(val_start, len(raw))):
            cov = tokenizer.coverage(raw[part])
            assert cov["price"] < 0.03 and cov["volume"] < 0.005 and cov["interval"] < 0.005, (day.info.key, cov)


def _depth_tokenizer() -> OrderTokenizer:
    """A tokenizer fitted on submissions and cancels 0-19 ticks behind either best, 100 shares each."""
    raw = RawOrders(
        np.zeros(400, bool),
        np.r_[np.ones(200), -np.ones(200)].astype(np.int8),
        np.r_[1_000_000 - 100 * (np.arange(200) % 20), 1_000_500 + 100 * (np.arange(200) % 20)],
        np.full(400, 100),
        np.arange(400) * 1000,
        np.full(400, 1_000_000),
        np.full(400, 1_000_500),
        TICK,
    )
    cancels = RawOrders(np.ones(400, bool), raw.side, raw.price, raw.qty, raw.interval, raw.bid, raw.ask, TICK)
    return OrderTokenizer.fit([raw, cancels], np.arange(1, 1000))


def test_cancel_decodes_to_an_own_order_at_the_nearest_level_or_none() -> None:
    tok = _depth_tokenizer()
    book = OrderBook(tick_size=TICK, log_orders=False)
    book.add(1, 1, 1_000_000, 100, 0, agent=0)  # best bid, somebody else's
    book.add(2, 1, 999_800, 300, 0, agent=1)  # 2 ticks down, ours
    book.add(3, -1, 1_000_500, 100, 0, agent=0)
    token = tok.encode_order(True, 1, 1_000_000, 100, 0, 1_000_000, 1_000_500, TICK)  # cancel at the best bid
    order = tok.decode(token, book, np.random.default_rng(0), agents={1})
    assert order is not None and order.order_id == 2 and order.price == 999_800 and order.side == 1
    assert order.qty == order.resting_qty == 300 and order.is_delete  # no order of the bin's size: delete one
    ask_cancel = tok.encode_order(True, -1, 1_000_500, 100, 0, 1_000_000, 1_000_500, TICK)
    assert tok.decode(ask_cancel, book, np.random.default_rng(0), agents={1}) is None  # owns nothing on the ask side


def test_a_cancel_without_an_order_of_its_size_deletes_the_order_nearest_that_size() -> None:
    sizes = np.r_[np.full(100, 10), np.full(100, 100), np.full(100, 1000)]
    raw = RawOrders(
        np.ones(300, bool),
        np.ones(300, np.int8),
        np.full(300, 1_000_000),
        sizes,
        np.arange(300) * 1000,
        np.full(300, 1_000_000),
        np.full(300, 1_000_500),
        TICK,
    )
    tok = OrderTokenizer.fit([raw], np.arange(1, 1000))
    book = OrderBook(tick_size=TICK, log_orders=False)
    for oid, qty in ((1, 1000), (2, 90), (3, 400)):
        book.add(oid, 1, 1_000_000, qty, 0, agent=1)
    book.add(4, -1, 1_000_500, 100, 0, agent=0)
    for seed in range(5):
        token = tok.encode_order(True, 1, 1_000_000, 10, 0, 1_000_000, 1_000_500, TICK)  # 10 shares: none rests
        order = tok.decode(token, book, np.random.default_rng(seed), agents={1})
        assert (order.order_id, order.qty, order.resting_qty, order.is_delete) == (2, 90, 90, True)


def test_books_features_of_a_replayed_book_match_lobster_rows(goog_day: LobsterDay, tokenizer: OrderTokenizer) -> None:
    replay = LobsterReplay(goog_day)
    checked = 0
    for m in (1000, 20_000, 60_000, 120_000):
        replay.advance(m + 1, verify=True)  # the book after message m
        row = goog_day.book[m][None, :]
        if not np.array_equal(replay.book.top(10), row[0]):
            continue  # replay differs from LOBSTER here (out-of-view liquidity); nothing to compare
        lob, mask = (x[0] for x in tokenizer.books_features([replay.book], levels=10))
        lob_r, mask_r = tokenizer.lob_features(row, 10, TICK)
        assert np.array_equal(lob, lob_r[0]) and np.array_equal(mask, mask_r[0])
        lob_b, mask_b = tokenizer.books_features([replay.book, replay.book], levels=5)
        assert np.array_equal(lob_b[1, :5], lob[:5]) and mask_b[1].sum() == 11  # 5 + 5 levels + spread
        checked += 1
    assert checked >= 3


def test_amzn_levels_beyond_five_are_masked(amzn_day: LobsterDay, tokenizer: OrderTokenizer) -> None:
    lob, mask = tokenizer.lob_features(amzn_day.book[:3], amzn_day.info.levels, amzn_day.info.tick_size)
    assert mask[0].tolist() == [True] * 5 + [False] * 5 + [True] * 5 + [False] * 5 + [True]  # the spread, always
    assert lob.shape == (3, 21) and lob.max() < 32


def test_the_context_holds_spread_bins_exact_below_16_ticks_and_log_spaced_up_to_256(
    goog_day: LobsterDay, tokenizer: OrderTokenizer
) -> None:
    assert spread_bins(np.array([0, 1, 15, 16, 18, 19, 30, 40, 100, 255, 256, 10_000])).tolist() == [
        0, 1, 15, 16, 16, 17, 19, 21, 25, 30, 31, 31,
    ]  # fmt: skip
    rows = goog_day.book[:500]
    lob, _ = tokenizer.lob_features(rows, 10, goog_day.info.tick_size)
    ticks = (rows[:, 0] - rows[:, 2]) // goog_day.info.tick_size
    assert np.array_equal(lob[:, -1], spread_bins(ticks)) and ticks.max() > 31  # GOOG's spread goes past 31 ticks
    assert len(np.unique(lob[ticks > 31, -1])) > 1  # and the context still tells those spreads apart


def test_cancels_delete_only_within_two_ticks_of_their_slot() -> None:
    """A cancel whose slot's depth holds none of the agents' orders does nothing, rather than deleting an order
    far away (which drained thin books to empty)."""
    tok = _depth_tokenizer()
    book = OrderBook(tick_size=TICK, log_orders=False)
    book.add(1, 1, 1_000_000, 100, 0, agent=1)  # the best bid
    book.add(2, 1, 1_000_000 - 40 * TICK, 100, 0, agent=1)  # 40 ticks behind it
    book.add(3, -1, 1_000_500, 100, 0, agent=0)
    deep = tok.encode_order(True, 1, 1_000_000 - 10 * TICK, 100, 0, 1_000_000, 1_000_500, TICK)
    assert tok.decode(deep, book, np.random.default_rng(0), agents={1}) is None
    near = tok.encode_order(True, 1, 1_000_000 - 39 * TICK, 100, 0, 1_000_000, 1_000_500, TICK)  # the open last bin
    assert tok.decode(near, book, np.random.default_rng(0), agents={1}).order_id == 2


def test_state_dict_round_trip_and_version_check(goog_day: LobsterDay, tokenizer: OrderTokenizer) -> None:
    raw = raw_orders(goog_day)
    again = OrderTokenizer.from_state_dict(tokenizer.state_dict())
    assert np.array_equal(again.encode(raw), tokenizer.encode(raw))
    state = tokenizer.state_dict() | {"version": TOKENIZER_VERSION + 1}
    with pytest.raises(MarsInputError, match="tokenizer version"):
        OrderTokenizer.from_state_dict(state)


def test_validation_split_starts_at_1430(goog_day: LobsterDay) -> None:
    flow = order_flow(goog_day)
    _, _, val_start = _split(goog_day)
    assert flow.ts[val_start - 1] < VAL_START_NS <= flow.ts[val_start]


def test_cancel_search_visits_the_slot_range_by_distance_from_the_target_then_the_rest() -> None:
    behind = [0, 1, 2, 5, 9, 12]
    order = list(_search_order(behind.__getitem__, len(behind), lo=2, hi=9, target=5))
    assert order == [3, 2, 4, 1, 0, 5]
    assert list(_search_order(behind.__getitem__, len(behind), lo=20, hi=30, target=25)) == [5, 4, 3, 2, 1, 0]


def test_an_inside_token_joins_the_best_when_the_spread_is_one_tick(tokenizer: OrderTokenizer) -> None:
    book = OrderBook(tick_size=TICK, log_orders=False)
    book.add(1, 1, 1_000_000, 100, 0)
    book.add(2, -1, 1_000_100, 100, 0)
    token = int(join_token(BID, 4, 13, 0))  # a buy improving the bid
    order = tokenizer.decode(token, book, np.random.default_rng(0))
    assert (order.side, order.price) == (1, 1_000_000)


def test_marketable_tokens_decode_to_ioc_orders_and_the_rest_to_limit_orders(tokenizer: OrderTokenizer) -> None:
    """99% of the marketable orders the model learned from are IOC (`order_flow`); submitted as plain
    limits, their unfilled remainders would rest through the spread and the book would drift."""
    book = OrderBook(tick_size=TICK, log_orders=False)
    book.add(1, 1, 1_000_000, 100, 0)
    book.add(2, -1, 1_000_500, 100, 0)
    rng = np.random.default_rng(0)
    cross, inside, passive = (tokenizer.decode(int(join_token(ASK, slot, 5, 0)), book, rng) for slot in (0, 5, 12))
    assert cross.ioc and cross.side == -1 and cross.price <= 1_000_000  # a sell at or through the bid
    assert not inside.ioc and 1_000_000 < inside.price < 1_000_500
    assert not passive.ioc and passive.price >= 1_000_500


def test_an_empty_book_is_quoted_at_the_last_two_sided_quotes_given(tokenizer: OrderTokenizer) -> None:
    """Every order is placed relative to the best quotes, so a book emptied on both sides would stay empty: the
    caller's last two-sided quotes stand in for them (a market that emptied kept generating nothing before)."""
    empty = OrderBook(tick_size=TICK, log_orders=False)
    token = int(join_token(BID, 12, 5, 0))  # a passive buy
    assert tokenizer.decode(token, empty, np.random.default_rng(0)) is None
    order = tokenizer.decode(token, empty, np.random.default_rng(0), quotes=(1_000_000, 1_000_500))
    two_sided = OrderBook(tick_size=TICK, log_orders=False)
    two_sided.add(1, 1, 1_000_000, 100, 0)
    two_sided.add(2, -1, 1_000_500, 100, 0)
    assert order == tokenizer.decode(token, two_sided, np.random.default_rng(0))  # as if the quotes were there
    cancel = int(join_token(CANCEL, 0, 5, 0))
    assert tokenizer.decode(cancel, empty, np.random.default_rng(0), quotes=(1_000_000, 1_000_500)) is None
