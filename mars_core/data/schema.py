"""Typed event schema shared by the data layer, the engine and the simulator.

Conventions (see ARCHITECTURE.md): time is integer nanoseconds since midnight
of the trading date (`ts`), prices are integers in LOBSTER units (dollars x
10000), sizes are integer shares. Events are columnar: one NumPy array per
field, so they can go to Cython loops and Parquet without copies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
BPS = 1e4  # basis points per unit of return
# LOBSTER pads empty book levels with these dummy prices (size 0).
DUMMY_ASK_PRICE = 9_999_999_999
DUMMY_BID_PRICE = -9_999_999_999


class EventType(IntEnum):
    """LOBSTER message types."""

    SUBMIT = 1  # new limit order
    CANCEL = 2  # partial cancellation
    DELETE = 3  # total deletion
    EXECUTE = 4  # execution of a visible limit order
    EXECUTE_HIDDEN = 5  # execution of a hidden limit order
    CROSS = 6  # cross trade (auction)
    HALT = 7  # trading halt indicator (price -1 halt, 0 quoting, 1 resume)


class Side(IntEnum):
    """Order side; for executions LOBSTER gives the side of the resting order."""

    BUY = 1
    SELL = -1


@dataclass(frozen=True, slots=True)
class Events:
    """A columnar block of order events, all arrays of the same length."""

    ts: np.ndarray  # int64 ns since midnight
    type: np.ndarray  # int8 EventType
    order_id: np.ndarray  # int64
    size: np.ndarray  # int64 shares
    price: np.ndarray  # int64 dollars x 10000
    side: np.ndarray  # int8 Side

    def __len__(self) -> int:
        return len(self.ts)

    def __getitem__(self, index: slice | np.ndarray) -> Events:
        return Events(*(getattr(self, f)[index] for f in EVENT_FIELDS))

    @classmethod
    def empty(cls) -> Events:
        return cls(*(np.empty(0, dtype=EVENT_DTYPES[f]) for f in EVENT_FIELDS))


EVENT_FIELDS = ("ts", "type", "order_id", "size", "price", "side")
EVENT_DTYPES = {
    "ts": np.int64,
    "type": np.int8,
    "order_id": np.int64,
    "size": np.int64,
    "price": np.int64,
    "side": np.int8,
}


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """One catalogued LOBSTER day: where it lives and what it holds."""

    symbol: str
    date: dt.date
    levels: int
    messages: int
    ts_start: int  # first message, ns since midnight
    ts_end: int  # last message, ns since midnight
    tick_size: int  # inferred, price units (dollars x 10000)
    message_path: Path  # a .csv file, or the .zip holding it
    orderbook_path: Path  # a .csv file, or the .zip holding it
    message_member: str | None = None  # name inside the zip, if zipped
    orderbook_member: str | None = None

    @property
    def key(self) -> str:
        return f"{self.symbol} {self.date.isoformat()}"


@dataclass(frozen=True, slots=True)
class LobsterDay:
    """A loaded day: the message events and LOBSTER's own book after each message.

    `book` is int64 of shape (messages, 4 * levels) in LOBSTER column order:
    ask price 1, ask size 1, bid price 1, bid size 1, ask price 2, ...
    """

    info: DatasetInfo
    events: Events
    book: np.ndarray

    @property
    def ask_prices(self) -> np.ndarray:
        return self.book[:, 0::4]

    @property
    def ask_sizes(self) -> np.ndarray:
        return self.book[:, 1::4]

    @property
    def bid_prices(self) -> np.ndarray:
        return self.book[:, 2::4]

    @property
    def bid_sizes(self) -> np.ndarray:
        return self.book[:, 3::4]
