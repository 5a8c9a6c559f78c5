"""The event-driven simulator: one exchange, a background flow and any number of agents.

A run starts at any moment of a catalogued day: the book is warmed up by
replaying the real messages up to that moment (`warm_start`), then the
background agent (replay, noise or the generative model) makes the market
while agents wake up, observe and trade. The clock is integer ns; events are
processed in time order, agent actions reach the exchange after an optional
latency. Every random draw comes from generators seeded by the run's seed:
the background's from `[seed, 0]`, agent k's from `[seed, 1 + k]`, so a run
with and without the agents shares the background's draws (common random
numbers for paired what-if runs).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mars_core.data.schema import LobsterDay
from mars_core.engine import Exchange, LobsterReplay, MarketRules, Status
from mars_core.sim.agent import (
    NEVER,
    Action,
    Agent,
    BackgroundAgent,
    Cancel,
    Fill,
    Modify,
    Observation,
    Submit,
)
from mars_core.sim.recorder import Recorder, Sink

RECENT_TRADES = 50
# Order ids in a simulation: historical orders keep LOBSTER's (< 2^40), the exchange numbers
# historical IOC orders from 2^40, and agent k numbers its own from (k + 1) x 2^44, so an
# agent's orders never shift another's ids (treated and baseline arms stay comparable).
SIM_ORDER_IDS = 1 << 40
AGENT_ID_SPACE = 44


def warm_start(day: LobsterDay, start_ts: int, rules: MarketRules | None = None) -> tuple[LobsterReplay, Exchange]:
    """Replay the day's messages before `start_ts` (verified, so revealed levels are filled in)
    and hand the book to an exchange whose price band is centred on the mid at that time."""
    replay = LobsterReplay(day)
    replay.advance_to(start_ts, verify=True)
    book = replay.book
    bid, ask = book.best_bid(), book.best_ask()
    reference = (bid + ask) // 2 if bid and ask else (bid or ask or None)
    exchange = Exchange(
        rules or MarketRules.nasdaq(day.info.tick_size), book=book, reference_price=reference, ts=start_ts
    )
    return replay, exchange


def drop_hidden_levels(book, levels: int, ts: int) -> int:
    """Delete every resting order beyond the first `levels` price levels of each side; returns the shares deleted.

    The replay keeps the orders of levels that left the data's visible window (LOBSTER sends no message
    about them), so beyond it the book holds whatever was last seen there: orders that were cancelled
    unseen, and at AMZN (5 levels) 500-3,500 shares within 20 ticks of the best. A background that only ever
    saw the visible levels (the order model) starts from them; the replay needs the hidden orders, which
    its own messages later execute or cancel."""
    dropped = 0
    for side in (1, -1):
        for price in book.depth(side, -1)[0].tolist()[levels:]:
            for order_id, qty, _agent in book.queue(side, price):
                book.cancel(order_id, ts)
                dropped += qty
    return dropped


@dataclass
class RunResult:
    """Counts of a finished run (the tables went to the sink)."""

    orders: int
    trades: int
    seconds: float
    agent_records: dict[int, dict[str, list]] = field(default_factory=dict)


class Simulator:
    """One rollout.

    Args:
        day: the trading day.
        start_ts, end_ts: simulated window, ns since midnight.
        background: the market-making flow.
        agents: strategies that wake up (TWAP, injected orders, RL policies...).
        seed: run seed (see the module docstring).
        sink: receives recorded table chunks ("orders", "trades", "book").
        depth: levels agents observe.
        snapshot_levels: levels of the recorded book snapshots.
        snapshot_interval_ns: snapshot sampling interval; 0 records after every event.
        latency_ns: delay between an agent's decision and its arrival at the exchange.
        rules: market rules; NASDAQ continuous trading with the day's tick by default.
    """

    def __init__(
        self,
        day: LobsterDay,
        start_ts: int,
        end_ts: int,
        background: BackgroundAgent,
        agents: list[Agent] = (),
        seed: int = 0,
        sink: Sink | None = None,
        depth: int = 10,
        snapshot_levels: int = 10,
        snapshot_interval_ns: int = 1_000_000_000,
        latency_ns: int = 0,
        rules: MarketRules | None = None,
    ) -> None:
        self.day = day
        self.start_ts = start_ts
        self.end_ts = end_ts
        self.seed = seed
        self.depth = depth
        self.latency_ns = latency_ns
        self.replay, self.exchange = warm_start(day, start_ts, rules)
        self.book = self.exchange.book
        if background.visible_only:
            drop_hidden_levels(self.book, day.info.levels, start_ts)
        self.book.log_orders = True
        self.book.next_order_id = max(self.book.next_order_id, SIM_ORDER_IDS)
        self.book.drain_orders()
        self.book.drain_trades()
        self.sink = sink or (lambda table, chunk: None)
        self.sink("start_book", resting_orders(self.book))
        self.recorder = Recorder(self.book, snapshot_levels, snapshot_interval_ns, self.sink)
        self.background = background
        self.agents = {agent.agent_id: agent for agent in agents}
        self.open_orders: dict[int, dict[int, list[int]]] = {a.agent_id: {} for a in agents}
        self.pending_fills: dict[int, list[Fill]] = {a.agent_id: [] for a in agents}
        # shares of historical (agent 0) orders filled by other agents' orders, by maker id
        self.foreign_fills: dict[int, int] = {}
        self._next_ids: dict[int, int] = {}
        self._seen_trades = self.book.n_trades
        self._events: list[tuple[int, int, int, object]] = []  # (ts, seq, agent_id, action or None for a wake-up)
        self._seq = 0
        self.clock = start_ts
        # called with (ts, action, bid, ask, resting order before it) for every accepted agent action
        self.on_external: Callable[[int, Action, int, int, tuple | None], None] | None = None
        self.background.start(self, np.random.default_rng([seed, 0]))
        for k, agent in enumerate(agents):
            first = agent.start(start_ts, np.random.default_rng([seed, 1 + k]))
            self._schedule(first, agent.agent_id, None)

    # ------------------------------------------------------------------ loop
    def run(self) -> RunResult:
        """Simulate until `end_ts`; returns counts, the tables went to the sink."""
        started = time.perf_counter()
        self.advance(self.end_ts)
        return self.finish(time.perf_counter() - started)

    def advance(self, until: int) -> None:
        """Process every event before `until` (capped at `end_ts`): the step of an RL environment."""
        events, bg, recorder, book = self._events, self.background, self.recorder, self.book
        end = min(until, self.end_ts)
        recorder.snapshot(self.clock)
        while True:
            tb = bg.next_ts()
            ta = events[0][0] if events else NEVER
            if ta <= tb:
                if ta >= end:
                    break
                self.clock = ta
                self._handle_event()
            else:
                if tb >= end:
                    break
                self.clock = tb
                bg.act(self)
            if book.n_trades != self._seen_trades:
                self._dispatch_fills()
            recorder.snapshot(self.clock)
            recorder.maybe_flush()
        self.clock = max(self.clock, end)

    def add_agent(self, agent: Agent, rng: np.random.Generator) -> None:
        """Join an agent during the run (e.g. a policy driven step by step)."""
        self.agents[agent.agent_id] = agent
        self.open_orders[agent.agent_id] = {}
        self.pending_fills[agent.agent_id] = []
        self._schedule(agent.start(self.clock, rng), agent.agent_id, None)

    def finish(self, seconds: float) -> RunResult:
        """Close the run: record the final book, flush every table, collect agent records."""
        self.exchange.advance(self.end_ts - 1)
        self.recorder.snapshot(self.end_ts - 1, force=True)
        self.recorder.flush()
        counts = self.recorder.counts
        return RunResult(
            counts["orders"], counts["trades"], seconds, {aid: a.records() for aid, a in self.agents.items()}
        )

    def _schedule(self, ts: int, agent_id: int, action: Action | None) -> None:
        if ts < NEVER:
            self._seq += 1
            heapq.heappush(self._events, (max(ts, self.clock), self._seq, agent_id, action))

    def _handle_event(self) -> None:
        ts, _, agent_id, action = heapq.heappop(self._events)
        agent = self.agents[agent_id]
        if action is not None:
            self._apply(agent, action, ts)
            return
        actions, next_wake = agent.wake(self.observe(agent_id, ts))
        for act in actions:
            if self.latency_ns:
                self._schedule(ts + self.latency_ns, agent_id, act)
            else:
                self._apply(agent, act, ts)
        self._schedule(next_wake, agent_id, None)

    # --------------------------------------------------------------- agents
    def observe(self, agent_id: int, ts: int) -> Observation:
        """What `agent_id` can see at `ts`."""
        bid_p, bid_q = self.book.depth(1, self.depth)
        ask_p, ask_q = self.book.depth(-1, self.depth)
        start = max(self.book.n_trades - RECENT_TRADES, 0)
        trades = self.book.trades(start)
        recent = {k: trades[k] for k in ("ts", "price", "qty", "aggressor")}
        fills, self.pending_fills[agent_id] = self.pending_fills[agent_id], []
        own = {oid: (o[0], o[1], o[2]) for oid, o in self.open_orders[agent_id].items()}
        return Observation(ts, bid_p, bid_q, ask_p, ask_q, recent, own, fills)

    def new_order_id(self, agent_id: int) -> int:
        """The next id in `agent_id`'s own range (see SIM_ORDER_IDS)."""
        oid = self._next_ids.get(agent_id, (agent_id + 1) << AGENT_ID_SPACE)
        self._next_ids[agent_id] = oid + 1
        return oid

    def _apply(self, agent: Agent, action: Action, ts: int) -> None:
        aid = agent.agent_id
        book, own = self.book, self.open_orders[aid]
        bid, ask = book.best_bid(), book.best_ask()
        resting = None if isinstance(action, Submit) else book.order(action.order_id)
        if isinstance(action, Submit):
            oid = self.new_order_id(aid)
            status = self.exchange.submit(ts, action.side, action.price, action.qty, aid, action.kind, oid)
            if status == Status.OK and book.last_rested > 0:
                own[oid] = [action.side, action.price, book.last_rested]
        elif isinstance(action, Cancel):
            oid = action.order_id
            status = self.exchange.cancel(ts, oid, action.qty, aid)
            if status == Status.OK:
                resting = book.order(oid)
                if resting is None:
                    own.pop(oid, None)
                else:
                    own[oid][2] = resting[2]
        elif isinstance(action, Modify):
            oid = action.order_id
            status = self.exchange.modify(ts, oid, action.price, action.qty, aid)
            if status == Status.OK:
                own.pop(oid, None)
                resting = book.order(oid)
                if resting is not None:
                    own[oid] = [resting[0], resting[1], resting[2]]
        else:
            raise TypeError(f"unknown action {action!r}")
        agent.on_result(action, status, oid, ts)
        if status == Status.OK and self.on_external is not None:
            self.on_external(ts, action, bid, ask, resting)
        if book.n_trades != self._seen_trades:
            self._dispatch_fills()

    def _dispatch_fills(self) -> None:
        """Route new trades that involve an agent (id >= 2) to it; note historical orders they took."""
        trades = self.book.trades(self._seen_trades)
        self._seen_trades = self.book.n_trades
        maker_agent, taker_agent = trades["maker_agent"], trades["taker_agent"]
        involved = np.flatnonzero((maker_agent >= 2) | (taker_agent >= 2))
        for j in involved:
            ts, price, qty = int(trades["ts"][j]), int(trades["price"][j]), int(trades["qty"][j])
            maker, taker = int(maker_agent[j]), int(taker_agent[j])
            maker_id, taker_id = int(trades["maker_id"][j]), int(trades["taker_id"][j])
            aggressor = int(trades["aggressor"][j])
            if maker in self.agents:
                self._fill(maker, Fill(ts, maker_id, -aggressor, price, qty, False))
            elif maker == 0:
                self.foreign_fills[maker_id] = self.foreign_fills.get(maker_id, 0) + qty
            if taker in self.agents:
                self._fill(taker, Fill(ts, taker_id, aggressor, price, qty, True))

    def _fill(self, agent_id: int, fill: Fill) -> None:
        own = self.open_orders[agent_id].get(fill.order_id)
        if own is not None and not fill.aggressive:
            own[2] -= fill.qty
            if own[2] <= 0:
                del self.open_orders[agent_id][fill.order_id]
        self.pending_fills[agent_id].append(fill)
        self.agents[agent_id].on_fill(fill)


def resting_orders(book) -> pd.DataFrame:
    """Every resting order, best level first and in queue order within a level."""
    rows = []
    for side in (1, -1):
        for price in book.depth(side)[0].tolist():
            rows += [(side, price, oid, qty, agent) for oid, qty, agent in book.queue(side, price)]
    return pd.DataFrame(rows, columns=["side", "price", "order_id", "qty", "agent"]).astype(
        {"side": np.int8, "price": np.int64, "order_id": np.int64, "qty": np.int64, "agent": np.int32}
    )
