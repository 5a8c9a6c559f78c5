"""`ReplayBackground`: the historical order flow continues unchanged (the paper's "replay").

It sends the day's orders (`orderflow.order_flow`) at their historical times
through the matching engine, as agent 0, and applies the liquidity that the
LOBSTER file only reveals through its snapshots (the replay's corrections)
when it was revealed. Without other agents this reproduces the replayed book
exactly at every order; with them, historical orders trade against theirs, but
the flow itself never reacts (no new orders, no changed prices).

A historical cancel works like in the replay (named order first, then unknown
liquidity, then other historical orders at that price), except that shares of
the named order that other agents already took are not taken twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mars_core.data.orderflow import Action, OrderFlow, order_flow
from mars_core.data.schema import LobsterDay
from mars_core.engine import LobsterReplay, OrderEvent
from mars_core.sim.agent import NEVER, AgentId

_SCHEDULES: dict[tuple, ReplaySchedule] = {}


@dataclass(frozen=True, slots=True)
class ReplaySchedule:
    """Flow orders and snapshot corrections of a day, merged in the order they happened."""

    flow: OrderFlow
    corrections: dict[str, np.ndarray]
    item: np.ndarray  # >= 0: flow index; < 0: correction -(j + 1)
    ts: np.ndarray  # time of each item


def replay_schedule(day: LobsterDay) -> ReplaySchedule:
    """The day's schedule (cached per process).

    A correction found after message m belongs before the flow order that m is
    part of: it describes liquidity that was there all along, out of view (a
    sweep reveals deeper levels while it walks the book).
    """
    key = (day.info.symbol, day.info.date, day.info.levels, day.info.messages)
    if key in _SCHEDULES:
        return _SCHEDULES[key]
    flow = order_flow(day)
    full = LobsterReplay(day)
    full.advance(len(day.events))
    corr = full.replayer.corrections_table()
    group = np.searchsorted(flow.first_msg, corr["msg"], side="right") - 1
    safe = np.maximum(group, 0)
    inside = (group >= 0) & (flow.last_msg[safe] >= corr["msg"])
    corr_key = np.where(inside, 2 * flow.first_msg[safe] - 1, 2 * corr["msg"] + 1)
    keys = np.concatenate([2 * flow.last_msg, corr_key])
    items = np.concatenate([np.arange(len(flow)), -(np.arange(len(corr_key)) + 1)])
    order = np.argsort(keys, kind="stable")
    corr_ts = day.events.ts[np.where(inside, flow.first_msg[safe], corr["msg"])]
    ts = np.concatenate([flow.ts, corr_ts])[order]
    schedule = ReplaySchedule(flow, corr, items[order], ts)
    _SCHEDULES[key] = schedule
    return schedule


class ReplayBackground:
    """The historical flow from the start time on, as agent 0."""

    name = "replay"
    agent_id = AgentId.HISTORY
    visible_only = False  # its own messages reach the hidden orders

    def start(self, sim, rng: np.random.Generator) -> None:
        schedule = replay_schedule(sim.day)
        first = int(np.searchsorted(schedule.ts, sim.start_ts, side="left"))
        f = schedule.flow
        self._ts = schedule.ts[first:].tolist()
        self._item = schedule.item[first:].tolist()
        self._flow = (
            f.action.tolist(),
            f.kind.tolist(),
            f.side.tolist(),
            f.price.tolist(),
            f.qty.tolist(),
            f.order_id.tolist(),
        )
        c = schedule.corrections
        self._corr = (c["side"].tolist(), c["price"].tolist(), c["delta"].tolist())
        self._pos = 0
        self._n = len(self._ts)

    def next_ts(self) -> int:
        return self._ts[self._pos] if self._pos < self._n else NEVER

    def act(self, sim) -> None:
        ts, item = self._ts[self._pos], self._item[self._pos]
        self._pos += 1
        replayer = sim.replay.replayer
        if item < 0:
            side, price, delta = (col[-item - 1] for col in self._corr)
            sim.exchange.advance(ts)
            if delta > 0:
                replayer.add_unknown(side, price, delta, ts)
            else:
                delta = -replayer.withdraw(side, price, -delta)
            if delta:  # logged with order id 0: liquidity the file never showed as an order
                sim.book.log_event(
                    ts,
                    OrderEvent.SUBMIT if delta > 0 else OrderEvent.CANCEL,
                    0,
                    AgentId.HISTORY,
                    side,
                    price,
                    abs(delta),
                )
            return
        action, kind, side, price, qty, order_id = (col[item] for col in self._flow)
        if action == Action.SUBMIT:
            sim.exchange.submit(ts, side, price, qty, AgentId.HISTORY, kind, order_id)
            return
        sim.exchange.advance(ts)
        foreign = sim.foreign_fills
        excused = foreign.pop(order_id, 0) if action == Action.DELETE else foreign.get(order_id, 0)
        replayer.reduce(action, order_id, side, price, qty, ts, excused)
