"""Small readers that turn the compiled book's columnar logs into comparable Python values."""

from __future__ import annotations

from mars_core.engine import OrderBook

TICK = 100
MID = 10_000  # $1.00 in LOBSTER price units


def px(ticks: int) -> int:
    """The price `ticks` ticks away from MID."""
    return MID + ticks * TICK


def trade_rows(columns: dict) -> list[tuple[int, ...]]:
    """(ts, price, qty, maker_id, taker_id, maker_agent, taker_agent, aggressor) per trade."""
    keys = ("ts", "price", "qty", "maker_id", "taker_id", "maker_agent", "taker_agent", "aggressor")
    return [tuple(int(v) for v in row) for row in zip(*(columns[k] for k in keys))]


def order_rows(columns: dict) -> list[tuple[int, ...]]:
    """(event, order_id, agent, side, price, qty, kind, status) per order-log row."""
    keys = ("event", "order_id", "agent", "side", "price", "qty", "kind", "status")
    return [tuple(int(v) for v in row) for row in zip(*(columns[k] for k in keys))]


def state(book: OrderBook) -> tuple:
    """Everything a rejected operation must leave alone."""
    return (
        book.top(10).tolist(),
        len(book),
        book.resting_qty(),
        book.n_trades,
        book.next_order_id,
        [book.queue(side, p) for side in (1, -1) for p in book.depth(side)[0].tolist()],
    )
