"""Order images (paper App. C.3): each minute of order flow as a 3 x 32 x 32 count histogram.

An order image of one minute is `image[type, price_slot, volume_slot]` = the number of
orders of that minute whose order token (see `tokenizer.py`) has that type (0 bid,
1 ask, 2 cancel), price slot and volume slot; the interval slot is ignored. Pixels are
clipped to [0, PIXEL_CLIP] = [0, 100] and stored as uint8. The price and volume slots
are exactly those of the order model's tokenizer, so an image says which order tokens
a minute holds (the ensemble model relies on that): build images with the tokenizer of
the order model they will be combined with.

Minutes are `ts // NS_PER_MINUTE` (minute of the day, 570 = 09:30). A collection of
images covers consecutive minutes, including minutes without orders (all-zero images).

Sources:
* `day_images`: a real LOBSTER day, from its order flow (`mars_core.data.orderflow`).
* `images_from_run`: one arm of a simulated run (`RunDir.table("orders", ...)`), with
  the quotes before each order taken from the run's book snapshots (the last one strictly
  before the order). With sampled snapshots (`snapshot_interval_ms` > 0) the quotes can
  be stale by up to one interval, so price slots are approximate; record every event
  (`snapshot_interval_ms = 0`) for exact images. Market orders (kind 2, no limit) count
  as crossing at the opposite best (cross slot 0); rejected operations, executions and
  modifies are not orders of the flow and are skipped.

Every collection also carries twice the mid-price at each minute's end (`mid2_close`,
the last quotes seen in or before the minute), so images can be paired with minute
returns (the control step needs both).
"""

from __future__ import annotations

import math
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mars_core.data.orderflow import OrderFlow, order_flow
from mars_core.data.schema import NS_PER_MINUTE, LobsterDay
from mars_core.errors import MarsInputError
from mars_core.model.tokenizer import OrderTokenizer, RawOrders, quotes, raw_orders
from mars_core.model.vocab import CANCEL_REGIONS, N_PRICE, N_TYPES, N_VOLUME, SUBMIT_REGIONS, TYPE_NAMES, split_token
from mars_core.store import RunDir

PIXEL_CLIP = 100  # pixel values are clipped to [0, PIXEL_CLIP] (paper: V in [0, 100])
IMAGE_SHAPE = (N_TYPES, N_PRICE, N_VOLUME)  # (3, 32, 32): channel = order type
IMAGE_CELLS = N_TYPES * N_PRICE * N_VOLUME  # 3072
CENT = 100  # LOBSTER price units per cent
# engine order log (mars_core.engine.types): events, kinds, statuses
_EV_SUBMIT, _EV_CANCEL, _EV_DELETE = 1, 2, 3
_KIND_MARKET = 2
_STATUS_OK = 0


@dataclass(frozen=True)
class OrderImages:
    """Order images of consecutive minutes of one day or one simulated arm."""

    key: str  # where they come from, e.g. "GOOG 2012-06-21" or "<run> rollout=0 arm=main"
    minutes: np.ndarray  # (M,) int64 minute of the day (ts // NS_PER_MINUTE), consecutive
    images: np.ndarray  # (M, 3, 32, 32) uint8 counts clipped to [0, PIXEL_CLIP], [type, price slot, volume slot]
    counts: np.ndarray  # (M, 3) int64 orders per minute and type, before clipping
    mid2_close: np.ndarray  # (M,) int64 bid + ask at the end of each minute (last quotes seen)

    def __len__(self) -> int:
        return len(self.minutes)

    def index_of(self, minute: int) -> int:
        """Position of a minute of the day in this collection."""
        i = int(minute - self.minutes[0]) if len(self.minutes) else -1
        if not 0 <= i < len(self.minutes):
            raise MarsInputError(
                f"{self.key}: minute {minute} ({fmt_minute(minute)}) is outside "
                f"{fmt_minute(self.minutes[0])}-{fmt_minute(self.minutes[-1])}"
            )
        return i

    def select(self, mask: np.ndarray) -> OrderImages:
        """The images where `mask` (M,) is True (the result need not be consecutive)."""
        return OrderImages(self.key, self.minutes[mask], self.images[mask], self.counts[mask], self.mid2_close[mask])


def fmt_minute(minute: int) -> str:
    """HH:MM of a minute of the day."""
    return f"{int(minute) // 60:02d}:{int(minute) % 60:02d}"


# ------------------------------------------------------------------ construction
def images_from_tokens(
    tokens: np.ndarray, ts: np.ndarray, first_minute: int | None = None, last_minute: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Histogram order tokens (N,) with times ts (N,) ns into per-minute images.

    Args:
        tokens: order tokens in [0, 49152).
        ts: ns since midnight of each token, any order.
        first_minute, last_minute: the minute range to cover (inclusive); default: that of ts.
            Tokens outside it are dropped.

    Returns:
        (minutes (M,) int64, images (M, 3, 32, 32) uint8 clipped, counts (M, 3) int64 unclipped).
    """
    tokens, ts = np.asarray(tokens, dtype=np.int64), np.asarray(ts, dtype=np.int64)
    minute = ts // NS_PER_MINUTE
    if first_minute is None or last_minute is None:
        if len(minute) == 0:
            raise MarsInputError("no orders to make images of, and no minute range given")
        first_minute = int(minute.min()) if first_minute is None else first_minute
        last_minute = int(minute.max()) if last_minute is None else last_minute
    n = int(last_minute - first_minute + 1)
    if n < 1:
        raise MarsInputError(f"empty minute range {first_minute}..{last_minute}")
    keep = (minute >= first_minute) & (minute <= last_minute)
    type_, price, volume, _ = split_token(tokens[keep])
    row = minute[keep] - first_minute
    cell = (row * N_TYPES + type_) * (N_PRICE * N_VOLUME) + price * N_VOLUME + volume
    hist = np.bincount(cell, minlength=n * IMAGE_CELLS).reshape(n, *IMAGE_SHAPE)
    counts = np.bincount(row * N_TYPES + type_, minlength=n * N_TYPES).reshape(n, N_TYPES)
    minutes = np.arange(first_minute, last_minute + 1, dtype=np.int64)
    return minutes, np.minimum(hist, PIXEL_CLIP).astype(np.uint8), counts.astype(np.int64)


def _mid2_at_minute_ends(quote_ts: np.ndarray, bid: np.ndarray, ask: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """bid + ask of the last quotes with ts before each minute's end (the first quotes if none)."""
    i = np.searchsorted(quote_ts, (minutes + 1) * NS_PER_MINUTE, side="left") - 1
    i = np.clip(i, 0, len(quote_ts) - 1)
    return (bid[i] + ask[i]).astype(np.int64)


def day_images(
    day: LobsterDay,
    tokenizer: OrderTokenizer,
    flow: OrderFlow | None = None,
    first_minute: int | None = None,
    last_minute: int | None = None,
) -> OrderImages:
    """Order images of every minute of a real day (09:30-15:59 for a full LOBSTER day).

    Args:
        day: a loaded LOBSTER day.
        tokenizer: the fitted order tokenizer whose price/volume slots the images use.
        flow: the day's order flow, if already computed.
        first_minute, last_minute: minute range (inclusive); default: first to last order.
    """
    flow = order_flow(day) if flow is None else flow
    tokens = tokenizer.encode(raw_orders(day, flow))
    minutes, images, counts = images_from_tokens(tokens, flow.ts, first_minute, last_minute)
    bid, ask = quotes(day.book, day.info.tick_size)
    mid2 = _mid2_at_minute_ends(day.events.ts, bid, ask, minutes)
    return OrderImages(day.info.key, minutes, images, counts, mid2)


def _infer_tick(prices: np.ndarray) -> int:
    """gcd of gaps between distinct positive prices, capped at one cent (as the data catalog does)."""
    p = np.unique(prices[prices > 0])
    return CENT if len(p) < 2 else math.gcd(int(np.gcd.reduce(np.diff(p))), CENT)


def run_raw_orders(
    orders: pd.DataFrame, book: pd.DataFrame, tick: int | None = None, agents: Container[int] | None = None
) -> tuple[RawOrders, np.ndarray]:
    """The orders of a simulated arm as `RawOrders` (quotes from the book snapshots) and their ts.

    Args:
        orders: the arm's "orders" table (ts, event, order_id, agent, side, price, qty, kind, status).
        book: the arm's "book" table (ts, ask_price_1, ask_size_1, bid_price_1, ...), time-ordered.
        tick: price units per tick; default: inferred from the prices.
        agents: only orders of these agents (None: all).
    """
    need = {"ts", "event", "agent", "side", "price", "qty", "kind", "status"}
    if missing := need - set(orders.columns):
        raise MarsInputError(f"orders table lacks columns {sorted(missing)}")
    if len(book) == 0 or not {"ts", "ask_price_1", "bid_price_1"} <= set(book.columns):
        raise MarsInputError("book table is empty or lacks ts, ask_price_1, bid_price_1")
    ok = orders["event"].isin((_EV_SUBMIT, _EV_CANCEL, _EV_DELETE)).to_numpy() & (
        orders["status"].to_numpy() == _STATUS_OK
    )
    if agents is not None:
        ok &= orders["agent"].isin(list(agents)).to_numpy()
    o = orders.loc[ok].sort_values("ts", kind="stable")
    ts = o["ts"].to_numpy(np.int64)
    price = o["price"].to_numpy(np.int64)
    side = o["side"].to_numpy(np.int8)
    book_ts = book["ts"].to_numpy(np.int64)
    rows = np.zeros((len(book), 4), dtype=np.int64)  # LOBSTER layout of level 1: ask p, ask q, bid p, bid q
    rows[:, 0], rows[:, 2] = book["ask_price_1"].to_numpy(np.int64), book["bid_price_1"].to_numpy(np.int64)
    if tick is None:
        tick = _infer_tick(np.concatenate([price, rows[:, 0], rows[:, 2]]))
    bid_all, ask_all = quotes(rows, tick)
    before = np.clip(
        np.searchsorted(book_ts, ts, side="left") - 1, 0, len(book_ts) - 1
    )  # last snapshot strictly before
    bid, ask = bid_all[before], ask_all[before]
    market = (o["kind"].to_numpy() == _KIND_MARKET) & (o["event"].to_numpy() == _EV_SUBMIT)
    price = np.where(market, np.where(side > 0, ask, bid), price)  # a market order crosses at the opposite best
    raw = RawOrders(
        is_cancel=o["event"].to_numpy() != _EV_SUBMIT,
        side=side,
        price=price,
        qty=o["qty"].to_numpy(np.int64),
        interval=np.diff(ts, prepend=ts[:1]),
        bid=bid,
        ask=ask,
        tick=int(tick),
    )
    return raw, ts


def images_from_run(
    run,
    rollout: int,
    arm: str,
    tokenizer: OrderTokenizer,
    agents: Container[int] | None = None,
    tick: int | None = None,
) -> OrderImages:
    """Order images of one arm of a simulated run (a `RunDir` or its path).

    Args:
        run: `mars_core.store.RunDir` or a run directory path.
        rollout, arm: which finished arm.
        tokenizer: the fitted order tokenizer whose slots the images use.
        agents: only orders of these agents (None: every participant, background included).
        tick: price units per tick; default: inferred from the prices.
    """

    run = RunDir.open(run) if isinstance(run, (str, Path)) else run
    if not run.is_done(rollout, arm):
        raise MarsInputError(
            f"{run.path}: rollout {rollout} arm {arm!r} is not a finished arm; finished: {run.finished()}"
        )
    orders, book = run.table("orders", rollout, arm), run.table("book", rollout, arm).sort_values("ts", kind="stable")
    raw, ts = run_raw_orders(orders, book, tick, agents)
    book_ts = book["ts"].to_numpy(np.int64)
    first = int(min(ts.min(), book_ts.min()) if len(ts) else book_ts.min()) // NS_PER_MINUTE
    last = int(max(ts.max(), book_ts.max()) if len(ts) else book_ts.max()) // NS_PER_MINUTE
    minutes, images, counts = images_from_tokens(tokenizer.encode(raw), ts, first, last)
    rows = np.zeros((len(book), 4), dtype=np.int64)
    rows[:, 0], rows[:, 2] = book["ask_price_1"].to_numpy(np.int64), book["bid_price_1"].to_numpy(np.int64)
    bid, ask = quotes(rows, raw.tick)
    mid2 = _mid2_at_minute_ends(book_ts, bid, ask, minutes)
    return OrderImages(f"{run.path.name} rollout={rollout} arm={arm}", minutes, images, counts, mid2)


# ------------------------------------------------------------------ transforms
def to_log1p(images: np.ndarray) -> np.ndarray:
    """log(1 + count) of uint8 images, float32: the VQ-VAE's input scale."""
    return np.log1p(np.asarray(images, dtype=np.float32))


def mirror_sides(images: np.ndarray) -> np.ndarray:
    """Swap buy and sell: bid <-> ask channels, and the cancel channel's bid half (price slots
    0-15) <-> its ask half (16-31). Price slots count ticks from each side's own best, so the
    mirror of a minute is the minute the opposite side would have sent; the bins of the two
    sides are fitted separately, so the symmetry is approximate. Works on (..., 3, 32, 32)."""
    half = CANCEL_REGIONS[0][1]
    out = images[..., [1, 0, 2], :, :].copy()
    out[..., 2, :half, :] = images[..., 2, half : 2 * half, :]
    out[..., 2, half : 2 * half, :] = images[..., 2, :half, :]
    return out


# ------------------------------------------------------------------ labels
def slot_labels(tokenizer: OrderTokenizer) -> dict[str, list[str]]:
    """Readable ranges of every slot, for axis labels and hover text.

    Returns:
        {"submit_price": 32 labels (bid/ask channels), "cancel_price": 32 labels (cancel channel),
         "volume": 32 labels}; prices in ticks from the quotes, volumes in shares.
    """

    def ranges(binner, lo0: int = 0) -> list[str]:
        out, lo = [], lo0
        for k, hi in enumerate(binner.upper.tolist()):
            last = k == binner.n_bins - 1
            out.append(f"{lo}+" if last else (f"{lo}" if lo == hi else f"{lo}-{hi}"))
            lo = hi + 1
        return out

    words = {
        "cross": "cross {} t beyond opposite best",
        "inside": "inside spread, {} t better than own best",
        "passive": "{} t behind own best",
        "cancel_bid": "cancel bid, {} t behind best bid",
        "cancel_ask": "cancel ask, {} t behind best ask",
    }
    labels: dict[str, list[str]] = {}
    for key, regions in (("submit_price", SUBMIT_REGIONS), ("cancel_price", CANCEL_REGIONS)):
        row = []
        for name, n in regions:
            text = [words[name].format(r) for r in ranges(tokenizer.price[name], 1 if name == "inside" else 0)]
            row += text + ["(unused)"] * (n - len(text))  # fewer bins when the data had fewer distinct values
        labels[key] = row
    vol = [f"{r} sh" for r in ranges(tokenizer.volume, 1)]
    labels["volume"] = vol + ["(unused)"] * (N_VOLUME - len(vol))
    return labels


__all__ = [
    "IMAGE_CELLS",
    "IMAGE_SHAPE",
    "PIXEL_CLIP",
    "TYPE_NAMES",
    "OrderImages",
    "day_images",
    "fmt_minute",
    "images_from_run",
    "images_from_tokens",
    "mirror_sides",
    "run_raw_orders",
    "slot_labels",
    "to_log1p",
]
