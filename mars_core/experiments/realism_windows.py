"""The start windows of a realism evaluation as `analysis.minute_metrics.Window`s, real and simulated alike.

Real: the LOBSTER day's book sampled by the simulator recorder's rule (`minute_metrics.recorder_samples`) on its
orders (`order_flow`: the messages one order caused, as the simulator processes them), the book after each sampled
order's last message; its submissions regrouped into orders (`order_flow`, aggressive when they traded
on arrival) and its visible executions (type 4: no background produces hidden ones). Simulated: a rollout's book
snapshots, accepted submissions (aggressive when they took liquidity on arrival) and trades. Depth is measured on
the levels the real file has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.minute_metrics import Window
from analysis.minute_metrics import recorder_samples as _samples
from mars_core.data import LobsterDay
from mars_core.data.orderflow import Action, OrderFlow, order_flow
from mars_core.data.schema import NS_PER_MINUTE, EventType
from mars_core.engine import OrderEvent, Status
from mars_core.store import RunDir


@dataclass(frozen=True)
class RealDay:
    """A loaded day with its order flow (regrouped once) and its number of book levels."""

    day: LobsterDay
    flow: OrderFlow

    @classmethod
    def load(cls, day: LobsterDay) -> RealDay:
        return cls(day, order_flow(day))

    @property
    def levels(self) -> int:
        return self.day.book.shape[1] // 4


def real_window(real: RealDay, start_ns: int, minutes: int) -> Window:
    """The real market over [start_ns, start_ns + minutes)."""
    ev, flow = real.day.events, real.flow
    end_ns = start_ns + minutes * NS_PER_MINUTE
    sampled = _samples(
        flow.ts, start_ns, end_ns
    )  # orders, as the simulator's events: the book after their last message
    subs = (flow.ts >= start_ns) & (flow.ts < end_ns) & (flow.action == Action.SUBMIT)
    execs = (ev.ts >= start_ns) & (ev.ts < end_ns) & (ev.type == EventType.EXECUTE)
    return Window(
        start_ns=start_ns,
        minutes=minutes,
        levels=real.levels,
        book_ts=flow.ts[sampled].astype(np.int64),
        book=real.day.book[flow.last_msg[sampled]].astype(np.int64),
        orders=pd.DataFrame(
            {
                "ts": flow.ts[subs],
                "side": flow.side[subs],
                "price": flow.price[subs],
                "qty": flow.qty[subs],
                "aggressive": flow.aggressive[subs],
            }
        ),
        trades=pd.DataFrame({"ts": ev.ts[execs], "price": ev.price[execs], "qty": ev.size[execs]}),
    )


def sim_window(run: RunDir, rollout: int, start_ns: int, minutes: int, levels: int) -> Window:
    """One finished rollout of a simulated start window, measured on `levels` levels."""
    tables = ("book", "orders", "trades")
    return tables_window(*(run.table(t, rollout, "main") for t in tables), start_ns, minutes, levels)


def tables_window(
    book: pd.DataFrame, orders: pd.DataFrame, trades: pd.DataFrame, start_ns: int, minutes: int, levels: int
) -> Window:
    """A simulated start window from a rollout's book snapshots, order log and trades, measured on `levels` levels."""
    columns = [c for c in book.columns if c.startswith(("ask_", "bid_"))]
    subs = orders[(orders["status"] == Status.OK) & (orders["event"] == OrderEvent.SUBMIT)]
    takers = trades["taker_id"].to_numpy() if len(trades) else np.zeros(0, np.int64)
    return Window(
        start_ns=start_ns,
        minutes=minutes,
        levels=min(levels, len(columns) // 4),
        book_ts=book["ts"].to_numpy(np.int64),
        book=book[columns].to_numpy(np.int64),
        orders=pd.DataFrame(
            {
                "ts": subs["ts"].to_numpy(),
                "side": subs["side"].to_numpy(),
                "price": subs["price"].to_numpy(),
                "qty": subs["qty"].to_numpy(),
                "aggressive": np.isin(subs["order_id"].to_numpy(), takers),
            }
        ),
        trades=pd.DataFrame(
            {
                "ts": trades["ts"].to_numpy() if len(trades) else np.zeros(0, np.int64),
                "price": trades["price"].to_numpy() if len(trades) else np.zeros(0, np.int64),
                "qty": trades["qty"].to_numpy() if len(trades) else np.zeros(0, np.int64),
            }
        ),
    )
