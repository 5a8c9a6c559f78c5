"""Order flow: LOBSTER messages turned back into the orders participants sent.

LOBSTER records a marketable order only through its consequences: a run of
executions (type 4) of resting orders at one timestamp, followed, when the
order was a limit order that did not fill completely, by a submission (type 1)
of the remainder on the opposite side. This module regroups those messages:

  * executions at the same timestamp against the same side, plus an immediately
    following opposite-side submission at that timestamp, form one marketable
    LIMIT order (size = executed + rested, price = the submission's limit);
  * such a run without a following submission forms one IOC order whose limit
    is the worst price it executed at;
  * every other submission is a LIMIT order; partial cancels (type 2) and
    deletions (type 3) stay as they are.
Hidden executions (type 5) and cross trades (type 6) trade against liquidity
the visible book never shows, so they are not orders of the flow (they still
count in traded volume); halts (type 7) are not orders either.

The flow is columnar (`OrderFlow`); `first_msg`/`last_msg` index the messages
each order came from, so the book before and after it can be read from LOBSTER's
own orderbook rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from mars_core.data.schema import EventType, LobsterDay


class Action(IntEnum):
    SUBMIT = 1
    CANCEL = 2  # partial, `qty` shares
    DELETE = 3  # the whole order


# Order kinds as the engine numbers them (mars_core.engine.types.OrderKind).
LIMIT, IOC = 1, 3


@dataclass(frozen=True, slots=True)
class OrderFlow:
    """Columnar orders; all arrays of equal length, in time order."""

    ts: np.ndarray  # int64 ns since midnight
    action: np.ndarray  # int8 Action
    kind: np.ndarray  # int8 LIMIT or IOC for submits, LIMIT otherwise
    side: np.ndarray  # int8 1 buy, -1 sell (for cancels: side of the resting order)
    price: np.ndarray  # int64 limit price
    qty: np.ndarray  # int64 shares
    order_id: np.ndarray  # int64 LOBSTER id; -1 for IOC orders (the engine assigns one)
    first_msg: np.ndarray  # int64 index of the first message of the order
    last_msg: np.ndarray  # int64 index of the last message of the order

    def __len__(self) -> int:
        return len(self.ts)

    def __getitem__(self, index: slice | np.ndarray) -> OrderFlow:
        return OrderFlow(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    @property
    def aggressive(self) -> np.ndarray:
        """True for orders that traded on arrival (they began with executions)."""
        return (self.action == Action.SUBMIT) & (self.first_msg < self.last_msg) | (self.kind == IOC)


def order_flow(day: LobsterDay) -> OrderFlow:
    """Regroup a day's messages into the orders that caused them (see the module docstring)."""
    ev = day.events
    keep = np.flatnonzero(np.isin(ev.type, (EventType.SUBMIT, EventType.CANCEL, EventType.DELETE, EventType.EXECUTE)))
    t, ts, side = ev.type[keep], ev.ts[keep], ev.side[keep]
    is_exec = t == EventType.EXECUTE
    prev_exec = np.r_[False, is_exec[:-1]]
    same_ts = np.r_[False, ts[1:] == ts[:-1]]
    prev_side = np.r_[0, side[:-1]]
    price = ev.price[keep]
    prev_price = np.r_[0, price[:-1]]
    continues_run = is_exec & prev_exec & same_ts & (side == prev_side)
    # a remainder rests at its limit, which is at or beyond every price the order executed at
    ends_in_rest = (
        (t == EventType.SUBMIT) & prev_exec & same_ts & (side == -prev_side) & (side * (price - prev_price) >= 0)
    )
    starts = np.flatnonzero(~(continues_run | ends_in_rest))
    ends = np.r_[starts[1:], len(keep)] - 1
    first, last = keep[starts], keep[ends]

    # group totals of executed size, and the worst executed price
    exec_size = np.where(is_exec, ev.size[keep], 0)
    group = np.cumsum(~(continues_run | ends_in_rest)) - 1
    executed = np.bincount(group, weights=exec_size, minlength=len(starts)).astype(np.int64)
    exec_price = price
    worst_buy = np.full(len(starts), np.iinfo(np.int64).min)
    np.maximum.at(worst_buy, group[is_exec], exec_price[is_exec])
    worst_sell = np.full(len(starts), np.iinfo(np.int64).max)
    np.minimum.at(worst_sell, group[is_exec], exec_price[is_exec])

    last_type = ev.type[last]
    first_type = ev.type[first]
    run_only = (first_type == EventType.EXECUTE) & (last_type == EventType.EXECUTE)
    # executions report the resting side; the order that caused them is on the other side
    order_side = np.where(first_type == EventType.EXECUTE, -ev.side[first], ev.side[last]).astype(np.int8)
    action = np.select(
        [last_type == EventType.CANCEL, last_type == EventType.DELETE],
        [Action.CANCEL, Action.DELETE],
        Action.SUBMIT,
    ).astype(np.int8)
    kind = np.where(run_only, IOC, LIMIT).astype(np.int8)
    price = np.where(run_only, np.where(order_side > 0, worst_buy, worst_sell), ev.price[last]).astype(np.int64)
    qty = np.where(run_only, executed, ev.size[last] + executed).astype(np.int64)
    order_id = np.where(run_only, -1, ev.order_id[last]).astype(np.int64)
    return OrderFlow(
        ts=ev.ts[first].astype(np.int64),
        action=action,
        kind=kind,
        side=np.where(action == Action.SUBMIT, order_side, ev.side[last]).astype(np.int8),
        price=price,
        qty=qty,
        order_id=order_id,
        first_msg=first.astype(np.int64),
        last_msg=last.astype(np.int64),
    )
