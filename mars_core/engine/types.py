"""Enums and errors of the clearing house, shared by the engine, simulator and store.

The integer values are part of the stored formats (order log, trades). This module is
their one source: the compiled book (`_book.pyx`) reads its C constants from these enums.
"""

from __future__ import annotations

from enum import IntEnum

from mars_core.data.schema import Side  # noqa: F401  (re-exported: one Side for data and engine)


class OrderKind(IntEnum):
    """How an incoming order treats the part that does not trade at once."""

    LIMIT = 1  # rests (a marketable limit trades first, then rests)
    MARKET = 2  # trades at any price inside the band; the remainder is discarded
    IOC = 3  # trades up to its limit price; the remainder is discarded


class OrderEvent(IntEnum):
    """What an order-log row records."""

    SUBMIT = 1
    CANCEL = 2  # partial cancel, keeps priority
    DELETE = 3  # full cancel
    EXECUTE = 4  # replayed execution of a resting order
    MODIFY = 5  # delete + resubmit with the same id, loses priority


class Status(IntEnum):
    """Outcome of an order operation: 0 accepted, otherwise the reason it was rejected."""

    OK = 0
    INVALID_SIDE = 1
    INVALID_QTY = 2
    INVALID_PRICE = 3
    OFF_TICK = 4
    ODD_LOT = 5
    PRICE_BAND = 6
    DUPLICATE_ID = 7
    UNKNOWN_ORDER = 8
    NOT_OWNER = 9
    NO_LIQUIDITY = 10
    SESSION = 11
    INVALID_KIND = 12

    @property
    def reason(self) -> str:
        return _REASONS[self]


_REASONS = {
    Status.OK: "accepted",
    Status.INVALID_SIDE: "side must be 1 (buy) or -1 (sell)",
    Status.INVALID_QTY: "size must be positive",
    Status.INVALID_PRICE: "limit price must be positive",
    Status.OFF_TICK: "price is not a multiple of the tick size",
    Status.ODD_LOT: "size is not a multiple of the lot size",
    Status.PRICE_BAND: "price is outside the price band",
    Status.DUPLICATE_ID: "an order with this id is already resting",
    Status.UNKNOWN_ORDER: "no resting order with this id",
    Status.NOT_OWNER: "the order belongs to another agent",
    Status.NO_LIQUIDITY: "market order with no opposite liquidity",
    Status.SESSION: "not allowed in the current trading session",
    Status.INVALID_KIND: "unknown order kind",
}


class BookIntegrityError(AssertionError):
    """An order-book invariant does not hold (a bug, never user input)."""
