"""The token vocabulary of the order model and the layout of its book context (numpy only, no torch).

A token is (type, price slot, volume slot, interval slot) with
`index = ((type * 32 + price) * 32 + volume) * 16 + interval` (paper App. B.2.1); what the
slots mean and how orders are binned into them is `tokenizer.py`. The book context of each
token is the ask then bid visible volumes of levels 1-10 (binned to [0, N_LOB_BINS)) and the
spread (`spread_bins`); its flow context (`model/context.py`) is N_CTX small integers: the mid
change over the last 1 and 5 minutes (`mid_bucket`), the orders of the last 5 minutes and their
mean log size.
"""

from __future__ import annotations

import numpy as np

N_TYPES, N_PRICE, N_VOLUME, N_INTERVAL = 3, 32, 32, 16
VOCAB_SIZE = N_TYPES * N_PRICE * N_VOLUME * N_INTERVAL  # 49152
BID, ASK, CANCEL = 0, 1, 2  # token types
TYPE_NAMES = ("bid", "ask", "cancel")
# price-slot regions: (name, number of slots), in slot order
SUBMIT_REGIONS = (("cross", 3), ("inside", 8), ("passive", 21))
CANCEL_REGIONS = (("cancel_bid", 16), ("cancel_ask", 16))
MAX_LEVELS = 10  # book levels in the context
SPREAD = 2 * MAX_LEVELS  # context column of the spread, after the ask and bid volumes
N_LOB = SPREAD + 1  # ask volumes of levels 1-10, bid volumes of levels 1-10, then the spread
N_LOB_BINS = 32  # volume bins, and spread bins of the spread column
# Spreads of 0..SPREAD_EXACT-1 ticks get a bin each, wider ones log-spaced bins up to ~256 ticks: a GOOG
# spread is above 31 ticks 44% of the time, and the share of orders placed inside it keeps rising with it.
SPREAD_EXACT = 16
SPREAD_EDGES = np.unique(np.round(SPREAD_EXACT * (256 / SPREAD_EXACT) ** (np.arange(16) / 15)).astype(np.int64))
MID_CLIP = 2048  # mid changes in ticks are clipped to [-MID_CLIP, MID_CLIP]
MID_BUCKETS = 2 * MID_CLIP.bit_length() + 1  # signed log2 buckets of a mid change
N_RATE, N_SIZE = 16, 24  # buckets of the flow context's order count and mean log size
CTX_SIZES = (MID_BUCKETS, MID_BUCKETS, N_RATE, N_SIZE)  # values of each flow-context column
N_CTX = len(CTX_SIZES)


def join_token(type_: np.ndarray, price: np.ndarray, volume: np.ndarray, interval: np.ndarray) -> np.ndarray:
    """Token index of the components (arrays or ints)."""
    return ((type_ * N_PRICE + price) * N_VOLUME + volume) * N_INTERVAL + interval


def split_token(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(type, price slot, volume slot, interval slot) of token indices."""
    tokens = np.asarray(tokens)
    rest, interval = np.divmod(tokens, N_INTERVAL)
    rest, volume = np.divmod(rest, N_VOLUME)
    type_, price = np.divmod(rest, N_PRICE)
    return type_, price, volume, interval


def levels_present(levels: int) -> np.ndarray:
    """(21,) context mask of a stock whose data has `levels` book levels (the spread is always there)."""
    n_lv = min(levels, MAX_LEVELS)
    mask = np.zeros(N_LOB, dtype=bool)
    mask[:n_lv] = mask[MAX_LEVELS : MAX_LEVELS + n_lv] = mask[SPREAD] = True
    return mask


def spread_bins(ticks: np.ndarray) -> np.ndarray:
    """Context bin (0..N_LOB_BINS-1) of spreads in ticks: exact below SPREAD_EXACT, log-spaced above."""
    ticks = np.asarray(ticks, dtype=np.int64)
    wide = SPREAD_EXACT - 1 + np.searchsorted(SPREAD_EDGES, ticks, side="right")
    return np.clip(np.where(ticks < SPREAD_EXACT, np.maximum(ticks, 0), wide), 0, N_LOB_BINS - 1)


def mid_bucket(delta_ticks: np.ndarray) -> np.ndarray:
    """Signed log2 bucket (0..MID_BUCKETS-1) of mid changes in ticks: 0 in the middle, then +-1, +-2..3, +-4..7..."""
    d = np.clip(np.asarray(delta_ticks, dtype=np.int64), -MID_CLIP, MID_CLIP)
    magnitude = np.floor(np.log2(np.maximum(np.abs(d), 1))).astype(np.int64) + 1
    return np.where(d == 0, 0, np.sign(d) * magnitude) + MID_BUCKETS // 2


def rate_bucket(count: np.ndarray) -> np.ndarray:
    """Half-log2 bucket (0..N_RATE-1) of an order count: 128 orders or fewer in bucket 0, 2^14.5 or more in the last."""
    c = np.maximum(np.asarray(count, dtype=np.float64), 1)
    return np.clip(np.floor(2 * np.log2(c)) - 14, 0, N_RATE - 1).astype(np.int64)


def size_bucket(mean_log2: np.ndarray) -> np.ndarray:
    """Quarter-step bucket (0..N_SIZE-1) of a mean log2 order size (4 shares and below in bucket 0); NaN (no
    submission) counts as 32 shares."""
    m = np.nan_to_num(np.asarray(mean_log2, dtype=np.float64), nan=5.0)
    return np.clip(np.floor((m - 2) * 4), 0, N_SIZE - 1).astype(np.int64)
