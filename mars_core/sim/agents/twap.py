"""The configurable TWAP execution agent of the paper's Algorithm 1 (App. H).

Buying (selling mirrors it: bid1 <-> ask1, askN <-> bidN): the total volume V
is split into n = T / t equal parts K = V / n, one per interval of t seconds.
In each interval i = 1..n:
  1. Passive period (the first t - 5 seconds): cancel all resting volume not at
     bid1, then submit a passive order at bid1 so that the passive volume resting
     there reaches PVR x K, without running ahead of the schedule i x K.
  2. Aggressive period (the last 5 seconds): if the executed volume lags the
     schedule i x K, the extra volume E = i x K - executed is needed; if what is
     still free (V - executed - resting) is less than E, passive orders are
     cancelled (newest first) to free it; then an order of E at price AP (askAP,
     the AP-th best ask; AP = 0 means no aggressive orders) is submitted.
At the end of the execution time every resting order is cancelled.

Algorithm 1 writes the passive size as "max volume PVR x V". Taken literally a
PVR of 0.9 would post 90% of the whole order in the first interval, which is
not time-weighted; we read V there as the interval's part K (the quantity the
interval is "expected to execute"), which keeps the execution on schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from mars_core.data.schema import NS_PER_SECOND
from mars_core.engine import Status
from mars_core.settings import Settings
from mars_core.sim.agent import NEVER, Action, Cancel, Fill, Observation, Submit

MAX_VOLUME = 1_000_000_000  # shares
MAX_INTERVALS = 10_000  # child intervals of one execution (a 6.5-hour day in 2.34 s slices)


class TWAPConfig(Settings):
    """One TWAP agent; `name` follows the paper (L{AP}-P{PVR})."""

    side: int = Field(1, description="1 buy, -1 sell")
    volume: int = Field(gt=0, le=MAX_VOLUME, description="total shares V")
    duration_s: float = Field(300.0, gt=0, description="execution time T")
    interval_s: float = Field(30.0, gt=0, description="split interval t")
    aggressive_s: float = Field(5.0, ge=0, description="aggressive period at the end of each interval")
    pvr: float = Field(0.9, ge=0, le=1, description="maximum passive volume ratio")
    ap: int = Field(1, ge=0, le=5, description="aggressive price level (0: never aggressive)")

    def model_post_init(self, _context: object) -> None:
        if self.side not in (1, -1):
            raise ValueError(f"side must be 1 (buy) or -1 (sell), was {self.side}")
        if self.duration_s / self.interval_s > MAX_INTERVALS:
            raise ValueError(
                f"interval {self.interval_s:g}s splits the execution time {self.duration_s:g}s into "
                f"{self.duration_s / self.interval_s:,.0f} intervals; at most {MAX_INTERVALS:,}"
            )
        if self.aggressive_s >= self.interval_s:
            raise ValueError(
                f"aggressive period {self.aggressive_s}s must be shorter than the interval {self.interval_s}s"
            )
        if self.interval_s > self.duration_s:
            raise ValueError(f"interval {self.interval_s}s is longer than the execution time {self.duration_s}s")

    @property
    def name(self) -> str:
        return f"L{self.ap}-P{self.pvr:g}"

    @property
    def intervals(self) -> int:
        return max(1, int(round(self.duration_s / self.interval_s)))


@dataclass
class _Child:
    order_id: int
    tag: str  # "passive" or "aggressive"
    price: int
    qty: int  # resting quantity


class TWAPAgent:
    """Executes `config` from its start time; records every child order and fill."""

    def __init__(self, config: TWAPConfig, agent_id: int, start_ts: int | None = None) -> None:
        self.config = config
        self.agent_id = agent_id
        # the interval's settings; a policy (the RL environment) may change them between intervals
        self.pvr = config.pvr
        self.ap = config.ap
        self.start_ts = start_ts
        self.executed = 0
        self.notional = 0
        self.resting: dict[int, _Child] = {}
        self.orders: dict[str, list] = {k: [] for k in ("ts", "order_id", "tag", "side", "price", "qty", "status")}
        self.fills: dict[str, list] = {k: [] for k in ("ts", "order_id", "price", "qty", "aggressive")}
        self._plan: list[tuple[int, str, int]] = []  # (ts, phase, interval index 1..n)

    # ------------------------------------------------------------ schedule
    def start(self, ts: int, rng: np.random.Generator) -> int:
        c = self.config
        t0 = ts if self.start_ts is None else max(ts, self.start_ts)
        self.start_ts = t0
        step = int(c.interval_s * NS_PER_SECOND)
        aggressive_at = int((c.interval_s - c.aggressive_s) * NS_PER_SECOND)
        for i in range(1, c.intervals + 1):
            begin = t0 + (i - 1) * step
            self._plan.append((begin, "passive", i))
            if c.aggressive_s > 0:
                self._plan.append((begin + aggressive_at, "aggressive", i))
        self._plan.append((t0 + int(c.duration_s * NS_PER_SECOND), "end", c.intervals))
        self._plan.reverse()
        return self._plan[-1][0]

    @property
    def end_ts(self) -> int:
        return self.start_ts + int(self.config.duration_s * NS_PER_SECOND)

    def wake(self, obs: Observation) -> tuple[list[Action], int]:
        _, phase, i = self._plan.pop()
        match phase:
            case "passive":
                actions = self._passive(obs, i)
            case "aggressive":
                actions = self._aggressive(obs, i)
            case _:  # "end"
                actions = self._end()
        return actions, (self._plan[-1][0] if self._plan else NEVER)

    # -------------------------------------------------------------- phases
    def _passive(self, obs: Observation, i: int) -> list[Action]:
        c = self.config
        best = obs.best_bid if c.side > 0 else obs.best_ask
        actions: list[Action] = [Cancel(oid) for oid, child in self.resting.items() if child.price != best]
        if not best:
            return actions
        at_best = [ch for ch in self.resting.values() if ch.price == best]
        passive_resting = sum(ch.qty for ch in at_best if ch.tag == "passive")
        behind_schedule = c.volume * i // c.intervals - self.executed - sum(ch.qty for ch in at_best)
        qty = min(int(self.pvr * c.volume / c.intervals) - passive_resting, behind_schedule)
        if qty > 0:
            actions.append(Submit(c.side, best, qty, tag="passive"))
        return actions

    def _aggressive(self, obs: Observation, i: int) -> list[Action]:
        c = self.config
        extra = c.volume * i // c.intervals - self.executed
        if extra <= 0 or self.ap == 0:
            return []
        actions: list[Action] = []
        free = c.volume - self.executed - sum(ch.qty for ch in self.resting.values())
        for oid in sorted(self.resting, reverse=True):  # newest first
            if free >= extra:
                break
            if self.resting[oid].tag == "passive":
                actions.append(Cancel(oid))
                free += self.resting[oid].qty
        price = obs.level_price(-c.side, self.ap)
        qty = min(extra, free)
        if price and qty > 0:
            actions.append(Submit(c.side, price, qty, tag="aggressive"))
        return actions

    def _end(self) -> list[Action]:
        return [Cancel(oid) for oid in self.resting]

    # ------------------------------------------------------------- results
    def on_result(self, action: Action, status: int, order_id: int, ts: int) -> None:
        if isinstance(action, Submit):
            for key, value in zip(
                self.orders, (ts, order_id, action.tag, action.side, action.price, action.qty, status)
            ):
                self.orders[key].append(value)
            filled_now = sum(q for oid, q in zip(self.fills["order_id"], self.fills["qty"]) if oid == order_id)
            if status == Status.OK and action.qty - filled_now > 0:
                self.resting[order_id] = _Child(order_id, action.tag, action.price, action.qty - filled_now)
        elif isinstance(action, Cancel) and status in (Status.OK, Status.UNKNOWN_ORDER):
            for key, value in zip(
                self.orders, (ts, action.order_id, "cancel", self.config.side, 0, action.qty, status)
            ):
                self.orders[key].append(value)
            self.resting.pop(action.order_id, None)

    def on_fill(self, fill: Fill) -> None:
        for key, value in zip(self.fills, (fill.ts, fill.order_id, fill.price, fill.qty, fill.aggressive)):
            self.fills[key].append(value)
        self.executed += fill.qty
        self.notional += fill.price * fill.qty
        child = self.resting.get(fill.order_id)
        if child is not None:
            child.qty -= fill.qty
            if child.qty <= 0:
                del self.resting[fill.order_id]

    @property
    def fulfillment(self) -> float:
        return self.executed / self.config.volume

    @property
    def vwap(self) -> float:
        return self.notional / self.executed if self.executed else float("nan")

    def records(self) -> dict[str, list]:
        return {"orders": self.orders, "fills": self.fills}
