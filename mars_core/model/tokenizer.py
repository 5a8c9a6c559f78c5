"""Order tokenizer: one order of the flow becomes one token in [0, 49152), and back.

A token is (type, price slot, volume slot, interval slot) with
`index = ((type * 32 + price) * 32 + volume) * 16 + interval` (paper App. B.2.1):

* type: BID (buy submission), ASK (sell submission) or CANCEL (partial cancel
  or deletion of a resting order); LIMIT and IOC submissions are both BID/ASK
  and decode as limit orders (a marketable limit trades like the IOC did).
* price slot, measured in whole ticks from the quotes of the book BEFORE the
  order. Mids sit on half ticks half of the time (the spread is odd), so an
  offset from the mid would use only every other slot in any one state;
  offsets from the quotes are whole ticks and map one-to-one to prices in
  every state. A submission falls in one of three regions, each with its own
  fitted bins, and slots run through them in this order:
    - cross (slots 0-2): marketable, `side * (price - opposite best)` >= 0 ticks;
    - inside (slots 3-10): inside the spread, ticks of improvement over the same-side best (>= 1);
    - passive (slots 11-31): at or behind the same-side best, ticks behind it (>= 0).
  A cancel targets a resting order, so its price is at or behind its side's
  best (a price below the mid is a bid): slots 0-15 are ticks behind the best
  bid, slots 16-31 ticks behind the best ask.
* volume slot: shares, 32 bins; interval slot: ns since the previous order, 16 bins.

Bins are fitted on the training split: equal-frequency, except that a value
holding at least its share of what is left (e.g. 100 shares) gets a bin of its
own (`Binner.fit`). Every binned quantity has a range cap (a high quantile of
the training values); larger values go to the last bin and count as outside
the range (`coverage`). Decoding draws a value within the bin from the
empirical values seen there in training (128 stored quantiles per bin).

Per-token book context (eq. 1), always of the book AFTER the order, so position i
carries what the next order sees: the ask then bid visible volumes of levels
1-10 (20 values, binned to [0, 32) with fitted bins; levels the data does not
have, e.g. 6-10 for AMZN, are masked) and the spread (`vocab.spread_bins`).
An empty side is replaced by the other best one tick away. The flow context
(mid changes, recent activity) is `context.py`'s.

Fitted arrays travel in `state_dict()` (plain tensors and ints, safe to load
with `torch.load(weights_only=True)`) next to `TOKENIZER_VERSION`.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from mars_core.data.orderflow import Action, OrderFlow, order_flow
from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, LobsterDay
from mars_core.errors import MarsInputError
from mars_core.model.binning import Binner
from mars_core.model.vocab import (
    ASK,
    BID,
    CANCEL,
    CANCEL_REGIONS,
    MAX_LEVELS,
    N_INTERVAL,
    N_LOB,
    N_LOB_BINS,
    N_PRICE,
    N_VOLUME,
    SPREAD,
    SUBMIT_REGIONS,
    join_token,
    levels_present,
    spread_bins,
)

TOKENIZER_VERSION = 1
CANCEL_SEARCH_LEVELS = 32  # a cancel looks for the agents' orders in at most this many levels
# A cancel deletes an order at most this many ticks outside its slot's depth range; with none there it does
# nothing. (Deleting whatever lies nearest, however far, drained thin books to empty: chosen on training starts.)
CANCEL_SLACK_TICKS = 2
PRICE_CAP_Q = 0.99  # range caps: quantiles of the training values
VALUE_CAP_Q = 0.999


def _region_offsets(regions: tuple[tuple[str, int], ...]) -> dict[str, int]:
    offsets, start = {}, 0
    for name, n in regions:
        offsets[name] = start
        start += n
    return offsets


_SUBMIT_OFFSET = _region_offsets(SUBMIT_REGIONS)
_CANCEL_OFFSET = _region_offsets(CANCEL_REGIONS)


@dataclass(frozen=True, slots=True)
class RawOrders:
    """What encoding needs of each order, columnar; `bid`/`ask` are the quotes before it."""

    is_cancel: np.ndarray  # bool, partial cancel or deletion
    side: np.ndarray  # int8 1 buy, -1 sell (for cancels: side of the resting order)
    price: np.ndarray  # int64 limit price (cancels: price of the resting order)
    qty: np.ndarray  # int64 shares
    interval: np.ndarray  # int64 ns since the previous order (0 for the first)
    bid: np.ndarray  # int64 best bid before the order (an empty side already substituted)
    ask: np.ndarray  # int64 best ask before the order
    tick: int  # price units per tick

    def __len__(self) -> int:
        return len(self.price)

    def __getitem__(self, index: slice | np.ndarray) -> RawOrders:
        return RawOrders(*(getattr(self, f)[index] for f in self.__dataclass_fields__ if f != "tick"), tick=self.tick)


@dataclass(frozen=True, slots=True)
class DecodedOrder:
    """A concrete order made from a token against the current book."""

    type: int  # BID, ASK or CANCEL
    side: int  # 1 buy, -1 sell (for a cancel: side of the resting order)
    price: int  # limit price; for a cancel the resting order's price
    qty: int  # shares; for a cancel the shares to cancel (the whole order when equal to `resting_qty`)
    interval_ns: int  # time after the previous order
    order_id: int = -1  # the resting order to cancel; -1 for submissions
    resting_qty: int = 0  # the cancelled order's size before the cancel
    ioc: bool = False  # a marketable submission (price slot in the cross region): immediate-or-cancel, as
    # 99% of the marketable orders of the training flow are (`order_flow` regroups executions into IOC orders)

    @property
    def is_delete(self) -> bool:
        return self.type == CANCEL and self.qty >= self.resting_qty


def quotes(rows: np.ndarray, tick: int) -> tuple[np.ndarray, np.ndarray]:
    """(bid, ask) of LOBSTER book rows, an empty side replaced by the other best one tick away
    (both empty: 0, 0)."""
    ask, bid = rows[:, 0].astype(np.int64), rows[:, 2].astype(np.int64)
    no_ask, no_bid = ask == DUMMY_ASK_PRICE, bid == DUMMY_BID_PRICE
    both = no_ask & no_bid
    ask = np.where(no_ask, bid + tick, ask)
    bid = np.where(no_bid, ask - tick, bid)
    return np.where(both, 0, bid), np.where(both, 0, ask)


def raw_orders(day: LobsterDay, flow: OrderFlow | None = None) -> RawOrders:
    """A day's order flow with the quotes before each order, ready to encode."""
    flow = order_flow(day) if flow is None else flow
    before = day.book[np.maximum(flow.first_msg - 1, 0)]
    bid, ask = quotes(before, day.info.tick_size)
    return RawOrders(
        is_cancel=flow.action != Action.SUBMIT,
        side=flow.side.astype(np.int8),
        price=flow.price.astype(np.int64),
        qty=flow.qty.astype(np.int64),
        interval=np.diff(flow.ts, prepend=flow.ts[:1]).astype(np.int64),
        bid=bid,
        ask=ask,
        tick=day.info.tick_size,
    )


def book_volumes(rows: np.ndarray, levels: int) -> np.ndarray:
    """(N, 20) visible volumes of LOBSTER rows: ask levels 1-10, then bid levels 1-10 (0 beyond `levels`)."""
    n_lv = min(levels, MAX_LEVELS)
    vols = np.zeros((len(rows), SPREAD), dtype=np.int64)
    vols[:, :n_lv] = rows[:, 1 : 4 * n_lv : 4]
    vols[:, MAX_LEVELS : MAX_LEVELS + n_lv] = rows[:, 3 : 4 * n_lv : 4]
    return vols


def spread_ticks(rows: np.ndarray, tick: int) -> np.ndarray:
    """Spread in ticks of LOBSTER rows (an empty side counts as one tick away)."""
    bid, ask = quotes(rows, tick)
    return (ask - bid) // tick


def mid2_series(rows: np.ndarray, tick: int) -> np.ndarray:
    """bid + ask of LOBSTER rows, a row without quotes carrying the last one forward (back at the start)."""
    bid, ask = quotes(rows, tick)
    valid = ask > 0
    if not valid.any():
        return np.zeros(len(rows), dtype=np.int64)
    idx = np.maximum.accumulate(np.where(valid, np.arange(len(rows)), -1))
    idx = np.where(idx < 0, np.flatnonzero(valid)[0], idx)
    return (bid + ask)[idx].astype(np.int64)


def _region_values(raw: RawOrders) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{region: (mask, value in ticks)} of every order; the masks partition the orders."""
    s = raw.side.astype(np.int64)
    own = np.where(s > 0, raw.bid, raw.ask)
    opposite = np.where(s > 0, raw.ask, raw.bid)
    beyond_own = s * (raw.price - own) // raw.tick  # > 0: better than the same-side best
    sub = ~raw.is_cancel
    cross = sub & (s * (raw.price - opposite) >= 0)
    inside = sub & ~cross & (beyond_own > 0)
    behind = np.maximum(-beyond_own, 0)  # a cancel inside the spread (inconsistent book) counts as at the best
    return {
        "cross": (cross, s * (raw.price - opposite) // raw.tick),
        "inside": (inside, beyond_own),
        "passive": (sub & ~cross & ~inside, behind),
        "cancel_bid": (raw.is_cancel & (s > 0), behind),
        "cancel_ask": (raw.is_cancel & (s < 0), behind),
    }


def _search_order(behind, n: int, lo: int, hi: int, target: int) -> Iterator[int]:
    """Indices of n levels sorted by ticks behind the best (`behind(i)`), in cancel search order:
    those within [lo, hi] nearest the target first, then the others nearest that range first."""
    first = bisect.bisect_left(range(n), lo, key=behind)
    last = bisect.bisect_right(range(n), hi, key=behind)
    for start, stop, ref in ((first, last, None), (0, n, (first, last))):
        # two pointers walking outwards: inside the range from the target, then away from the range
        right = bisect.bisect_left(range(start, stop), target, key=behind) + start if ref is None else ref[1]
        left = right - 1 if ref is None else ref[0] - 1
        while left >= start or right < stop:
            if right >= stop or (
                left >= start
                and abs(behind(left) - target if ref is None else lo - behind(left))
                <= abs(behind(right) - target if ref is None else behind(right) - hi)
            ):
                yield left
                left -= 1
            else:
                yield right
                right += 1


class OrderTokenizer:
    """Fitted bins plus encode/decode; build with `fit` or `from_state_dict`."""

    def __init__(self, price: dict[str, Binner], volume: Binner, interval: Binner, lob: Binner) -> None:
        self.price = price  # region name -> Binner (regions of SUBMIT_REGIONS and CANCEL_REGIONS)
        self.volume = volume
        self.interval = interval
        self.lob = lob

    @classmethod
    def fit(cls, raws: list[RawOrders], lob_volumes: np.ndarray) -> OrderTokenizer:
        """Fit every bin on training orders and the visible volumes of training book rows (flat)."""
        regions = [_region_values(r) for r in raws]
        price = {}
        for name, n in SUBMIT_REGIONS + CANCEL_REGIONS:
            vals = np.concatenate([v[mask] for reg in regions for mask, v in [reg[name]]])
            price[name] = Binner.fit(vals, n, PRICE_CAP_Q)
        qty = np.concatenate([r.qty for r in raws])
        interval = np.concatenate([r.interval for r in raws])
        return cls(
            price,
            Binner.fit(qty, N_VOLUME, VALUE_CAP_Q),
            Binner.fit(interval, N_INTERVAL, VALUE_CAP_Q),
            Binner.fit(lob_volumes, N_LOB_BINS),
        )

    # ------------------------------------------------------------------ encode
    def encode(self, raw: RawOrders) -> np.ndarray:
        """Token of each order, (N,) int64."""
        return self._encode(raw)[0]

    def coverage(self, raw: RawOrders) -> dict[str, float]:
        """Share of orders whose price, volume or interval lies outside its slot range."""
        _, outside = self._encode(raw)
        return {k: float(v.mean()) if len(v) else 0.0 for k, v in outside.items()}

    def _encode(self, raw: RawOrders) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        type_ = np.where(raw.is_cancel, CANCEL, np.where(raw.side > 0, BID, ASK)).astype(np.int64)
        slot = np.zeros(len(raw), dtype=np.int64)
        price_out = np.zeros(len(raw), dtype=bool)
        offsets = _SUBMIT_OFFSET | _CANCEL_OFFSET
        for name, (mask, value) in _region_values(raw).items():
            binner = self.price[name]
            slot[mask] = offsets[name] + binner.bin(value[mask])
            price_out[mask] = binner.outside(value[mask])
        tokens = join_token(type_, slot, self.volume.bin(raw.qty), self.interval.bin(raw.interval))
        outside = {
            "price": price_out,
            "volume": self.volume.outside(raw.qty),
            "interval": self.interval.outside(raw.interval),
        }
        return tokens.astype(np.int64), outside

    def encode_order(
        self, is_cancel: bool, side: int, price: int, qty: int, interval_ns: int, bid: int, ask: int, tick: int
    ) -> int:
        """Token of one order given the quotes before it (e.g. an injected order, to feed the model)."""
        one = [
            np.array([x], dtype=t)
            for x, t in (
                (is_cancel, bool),
                (side, np.int8),
                (price, np.int64),
                (qty, np.int64),
                (interval_ns, np.int64),
                (bid, np.int64),
                (ask, np.int64),
            )
        ]
        raw = RawOrders(*one, tick=tick)
        return int(self.encode(raw)[0])

    # ----------------------------------------------------------------- context
    def lob_features(self, rows: np.ndarray, levels: int, tick: int) -> tuple[np.ndarray, np.ndarray]:
        """Context (N, 21) int64 and mask (N, 21) bool (True = present) of LOBSTER rows: binned
        volumes of 10 ask then 10 bid levels, and the spread bin, which the price slots (measured
        from the quotes) cannot show."""
        lob = np.column_stack([self.lob.bin(book_volumes(rows, levels)), spread_bins(spread_ticks(rows, tick))])
        return lob, np.broadcast_to(levels_present(levels), (len(rows), N_LOB)).copy()

    def books_features(self, books: list, levels: int = MAX_LEVELS) -> tuple[np.ndarray, np.ndarray]:
        """(lob (B, 21), mask (B, 21)) of many rollouts' engine `OrderBook`s of one stock; `levels` = the
        depth the training data had for this stock (5 for the AMZN sample), deeper levels are masked. Same
        values as `lob_features` of the books' LOBSTER-layout rows."""
        rows = np.stack([b.top(MAX_LEVELS) for b in books])
        return self.lob_features(rows, levels, int(books[0].tick_size))

    # ------------------------------------------------------------------ decode
    def decode(
        self,
        token: int,
        book,
        rng: np.random.Generator,
        agents: Container[int] = (1,),
        quotes: tuple[int, int] | None = None,
    ) -> DecodedOrder | None:
        """A concrete order for a token against the current book (an engine `OrderBook`).

        Submissions: a price in the slot's region drawn from the training offsets of the slot
        (inside the spread: only offsets that stay inside; if none, the best inside price, or
        joining the same-side best when the spread is one tick), a size and an interval drawn
        from their bins. Cancels: a resting order of one of `agents` on the slot's side, deleted
        if its size lies in the volume bin; levels are searched inside the slot's price range
        first (nearest a drawn depth first), then outside it by distance from the range. The
        first level with an order of the bin's size wins; failing that, the first level holding
        any of the agents' orders, if it lies within CANCEL_SLACK_TICKS of the slot's range, where
        the one nearest a drawn size of the bin (in log size) is deleted: real cancels delete whole
        orders (under 1% of the sample days' cancels are partial). At most CANCEL_SEARCH_LEVELS
        levels are searched. A book emptied on both sides is quoted at `quotes`, the last two-sided
        (bid, ask) its caller saw, as traders quote around the last price: without them an empty book
        would stay empty, since every order is placed relative to the best quotes.

        Returns:
            The order, or None when the book has no quotes (and no `quotes` are given) or `agents` own no
            order within reach of a cancel's slot.
        """
        return self.decode_many([token], [book], rng, agents, [quotes])[0]

    def decode_many(
        self,
        tokens: Sequence[int],
        books: Sequence,
        rng: np.random.Generator,
        agents: Container[int] = (1,),
        quotes: Sequence[tuple[int, int] | None] | None = None,
    ) -> list[DecodedOrder | None]:
        """`decode` of one token per book (e.g. one per rollout), with one draw of random numbers."""
        uniforms = rng.random((len(tokens), 4)).tolist()  # interval, volume, price, queue choice
        quotes = quotes or [None] * len(tokens)
        return [self._decode(int(t), b, u, agents, q) for t, b, u, q in zip(tokens, books, uniforms, quotes)]

    def _decode(
        self, token: int, book, u: list[float], agents: Container[int], quotes: tuple[int, int] | None = None
    ) -> DecodedOrder | None:
        rest, ivl = divmod(token, N_INTERVAL)
        rest, vol = divmod(rest, N_VOLUME)
        type_, slot = divmod(rest, N_PRICE)
        tick = book.tick_size
        bid, ask = book.best_bid(), book.best_ask()
        if not bid and not ask:
            if quotes is None:
                return None
            bid, ask = quotes
        bid, ask = bid or ask - tick, ask or bid + tick
        interval = self.interval.quantile(ivl, u[0])
        if type_ == CANCEL:
            return self._decode_cancel(slot, vol, interval, book, bid, ask, tick, u, agents)
        side = 1 if type_ == BID else -1
        own, opposite = (bid, ask) if side > 0 else (ask, bid)
        qty = self.volume.quantile(vol, u[1])
        if slot < _SUBMIT_OFFSET["inside"]:
            price = opposite + side * tick * self.price["cross"].quantile(slot, u[2])
            return DecodedOrder(type_, side, price, qty, interval, ioc=True)
        elif slot < _SUBMIT_OFFSET["passive"]:
            spread = (ask - bid) // tick
            k = slot - _SUBMIT_OFFSET["inside"]
            improve = self.price["inside"].quantile(k, u[2], limit=spread - 1) if spread > 1 else 0
            if improve is None:  # the whole bin lies beyond the spread
                improve = spread - 1
            price = own + side * tick * improve
        else:
            price = own - side * tick * self.price["passive"].quantile(slot - _SUBMIT_OFFSET["passive"], u[2])
        return DecodedOrder(type_, side, price, qty, interval)

    def _decode_cancel(
        self,
        slot: int,
        vol: int,
        interval: int,
        book,
        bid: int,
        ask: int,
        tick: int,
        u: list[float],
        agents: Container[int],
    ) -> DecodedOrder | None:
        side, region = (1, "cancel_bid") if slot < _CANCEL_OFFSET["cancel_ask"] else (-1, "cancel_ask")
        binner, k = self.price[region], slot - _CANCEL_OFFSET[region]
        lo, hi = binner.bounds(k)
        target = binner.quantile(k, u[2])
        prices = book.depth(side, -1)[0].tolist()  # best first, so ticks behind the best only grow
        ref = bid if side > 0 else ask

        def behind(i: int) -> int:
            return side * (ref - prices[i]) // tick

        fallback = None  # the first level found holding the agents' orders, none of the slot's size
        for i in itertools.islice(_search_order(behind, len(prices), lo, hi, target), CANCEL_SEARCH_LEVELS):
            if not lo - CANCEL_SLACK_TICKS <= behind(i) <= hi + CANCEL_SLACK_TICKS:
                break  # levels come by distance from the slot's range: the rest are farther still
            in_range = lo <= behind(i) <= hi
            if fallback is not None and not in_range:
                break  # every level of the slot was searched
            mine = [(oid, q) for oid, q, agent in book.queue(side, prices[i]) if agent in agents]
            in_bin = [o for o in mine if self.volume.bin_one(o[1]) == vol]
            if in_bin:  # delete one of the slot's size
                oid, resting = in_bin[int(u[3] * len(in_bin))]
                return DecodedOrder(CANCEL, side, prices[i], resting, interval, oid, resting)
            if mine and fallback is None:
                fallback = (prices[i], mine)
                if not in_range:
                    break
        if fallback is None:
            return None
        price, mine = fallback
        want = self.volume.quantile(vol, u[1])
        oid, resting = min(mine, key=lambda o: abs(math.log(o[1] / want)))  # first in queue on a tie
        return DecodedOrder(CANCEL, side, price, resting, interval, oid, resting)

    # --------------------------------------------------------------- storage
    def state_dict(self) -> dict:
        """Version and fitted arrays (tensors), for the checkpoint."""
        return {
            "version": TOKENIZER_VERSION,
            "price": {name: b.state() for name, b in self.price.items()},
            "volume": self.volume.state(),
            "interval": self.interval.state(),
            "lob": self.lob.state(),
        }

    @classmethod
    def from_state_dict(cls, state: dict) -> OrderTokenizer:
        """Rebuild from `state_dict()`; refuses another tokenizer version."""
        if state.get("version") != TOKENIZER_VERSION:
            raise MarsInputError(
                f"tokenizer version {state.get('version')} in the checkpoint, "
                f"this code reads version {TOKENIZER_VERSION}"
            )
        price = {name: Binner.from_state(s) for name, s in state["price"].items()}
        return cls(price, *(Binner.from_state(state[name]) for name in ("volume", "interval", "lob")))
