"""The token vocabulary of the order model and the layout of its book context (numpy only, no torch).

A token is (type, price slot, volume slot, interval slot) with
`index = ((type * 32 + price) * 32 + volume) * 16 + interval` (paper App. B.2.1); what the
slots mean and how orders are binned into them is `tokenizer.py`. The context of each
token is the ask then bid visible volumes of levels 1-10 (binned to [0, N_LOB_BINS)), the
spread, and the mid change since the open in ticks (clipped to +-MID_CLIP).
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
N_LOB_BINS = 32  # volume bins; the spread column holds the spread in ticks, capped at N_LOB_BINS - 1
MID_CLIP = 2048  # mid change since the open, ticks, clipped to [-MID_CLIP, MID_CLIP]


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
