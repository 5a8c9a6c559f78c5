"""Call-auction price determination.

The auction price is chosen among the limit prices present in the book by:
  1. maximum executable volume  min(demand(p), supply(p));
  2. then minimum imbalance     |demand(p) - supply(p)|;
  3. then closest to the reference price (the exchange's: the configured one, or the last auction price);
  4. then the lowest such price (so the result is deterministic).
demand(p) sums bids priced at or above p, supply(p) asks priced at or below p.
Every bid >= p then trades with every ask <= p at that single price, in price-time
priority on each side, up to the executable volume (`OrderBook.uncross`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class AuctionResult:
    price: int
    volume: int  # executable volume at `price`
    imbalance: int  # demand - supply at `price` (positive: buy surplus)


def auction_price(
    bid_prices: np.ndarray,
    bid_qtys: np.ndarray,
    ask_prices: np.ndarray,
    ask_qtys: np.ndarray,
    reference: int | None = None,
) -> AuctionResult | None:
    """The uncrossing price of a call auction, or None when nothing can trade.

    Args:
        bid_prices, bid_qtys: bid levels (any order).
        ask_prices, ask_qtys: ask levels (any order).
        reference: tie-break price (rule 3); skipped when None.
    """
    if len(bid_prices) == 0 or len(ask_prices) == 0:
        return None
    candidates = np.unique(np.concatenate([bid_prices, ask_prices])).astype(np.int64)
    bid_order = np.argsort(bid_prices)
    ask_order = np.argsort(ask_prices)
    bid_sorted, bid_cum = np.asarray(bid_prices)[bid_order], np.cumsum(np.asarray(bid_qtys)[bid_order])
    ask_sorted, ask_cum = np.asarray(ask_prices)[ask_order], np.cumsum(np.asarray(ask_qtys)[ask_order])
    # demand(p): bids priced >= p = total - bids priced < p
    below = np.searchsorted(bid_sorted, candidates, side="left")
    demand = bid_cum[-1] - np.where(below > 0, bid_cum[np.maximum(below - 1, 0)], 0)
    # supply(p): asks priced <= p
    upto = np.searchsorted(ask_sorted, candidates, side="right")
    supply = np.where(upto > 0, ask_cum[np.maximum(upto - 1, 0)], 0)
    volume = np.minimum(demand, supply)
    if volume.max() <= 0:
        return None
    imbalance = demand - supply
    distance = np.abs(candidates - reference) if reference is not None else np.zeros_like(candidates)
    # lexsort: last key is primary
    best = np.lexsort((candidates, distance, np.abs(imbalance), -volume))[0]
    return AuctionResult(int(candidates[best]), int(volume[best]), int(imbalance[best]))
