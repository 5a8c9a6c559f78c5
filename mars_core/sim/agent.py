"""What agents see and send, and the two agent interfaces of the simulator.

Agent ids are fixed by role (`AgentId`): historical orders (replayed or resting
since the warm-up) are 0, the background flow (noise traders or the generative
model) is 1, a user's injected orders 2, execution agents (TWAP) 3 and up.

* `Agent`: wakes at times it chooses, sees an `Observation` (what a market
  participant could see: the book to a depth, recent trades, its own orders and
  fills) and answers with actions and its next wake-up time.
* `BackgroundAgent`: the high-rate flow that makes the market (replay, noise,
  generative model). The simulator asks it for the time of its next order and
  then lets it act on the exchange directly, so it reacts to the current book.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

import numpy as np

from mars_core.engine import OrderKind

if TYPE_CHECKING:
    from mars_core.sim.simulator import Simulator

NEVER = 2**63 - 1


class AgentId(IntEnum):
    HISTORY = 0
    BACKGROUND = 1
    INJECTED = 2
    EXECUTION = 3  # first execution agent; the k-th gets EXECUTION + k


@dataclass(frozen=True, slots=True)
class Submit:
    side: int  # 1 buy, -1 sell
    price: int  # limit price (ignored for market orders)
    qty: int
    kind: int = OrderKind.LIMIT
    tag: str = ""  # the agent's own label, kept in its records (e.g. "passive", "aggressive")


@dataclass(frozen=True, slots=True)
class Cancel:
    order_id: int
    qty: int = 0  # 0: the whole order


@dataclass(frozen=True, slots=True)
class Modify:
    order_id: int
    price: int
    qty: int


Action = Submit | Cancel | Modify


@dataclass(frozen=True, slots=True)
class Fill:
    ts: int
    order_id: int
    side: int
    price: int
    qty: int
    aggressive: bool  # True when the agent's order was the incoming one


@dataclass(frozen=True, slots=True)
class Observation:
    """A participant's view at time `ts`."""

    ts: int
    bid_prices: np.ndarray  # best first, up to the configured depth
    bid_qtys: np.ndarray
    ask_prices: np.ndarray
    ask_qtys: np.ndarray
    recent_trades: dict[str, np.ndarray]  # the last trades, columnar (ts, price, qty, aggressor)
    open_orders: dict[int, tuple[int, int, int]]  # own resting orders: id -> (side, price, qty)
    fills: list[Fill] = field(default_factory=list)  # own fills since the last wake-up

    @property
    def best_bid(self) -> int:
        return int(self.bid_prices[0]) if len(self.bid_prices) else 0

    @property
    def best_ask(self) -> int:
        return int(self.ask_prices[0]) if len(self.ask_prices) else 0

    def level_price(self, side: int, level: int) -> int:
        """Price of the `level`-th best level (1-based) of one side; the deepest shown if fewer."""
        prices = self.bid_prices if side > 0 else self.ask_prices
        if len(prices) == 0:
            return 0
        return int(prices[min(level, len(prices)) - 1])


class Agent(Protocol):
    """A strategy that wakes up at times of its choosing."""

    agent_id: int

    def start(self, ts: int, rng: np.random.Generator) -> int:
        """Called once when the run starts; returns the first wake-up time (NEVER for none)."""
        ...

    def wake(self, obs: Observation) -> tuple[list[Action], int]:
        """Decide at `obs.ts`; returns actions and the next wake-up time (NEVER to stop)."""
        ...

    def on_result(self, action: Action, status: int, order_id: int, ts: int) -> None:
        """The exchange's answer to one of this agent's actions."""
        ...

    def on_fill(self, fill: Fill) -> None: ...

    def records(self) -> dict[str, list]:
        """Columnar records the agent keeps (child orders, fills) for the results store."""
        ...


class BackgroundAgent(Protocol):
    """The flow that makes the market; switchable by name (`replay`, `noise`, `lmm`)."""

    name: str
    agent_id: int
    visible_only: bool  # start from the data's visible levels only (`simulator.drop_hidden_levels`)

    def start(self, sim: Simulator, rng: np.random.Generator) -> None:
        """Called once after the warm-up, with the simulator and this run's generator."""
        ...

    def next_ts(self) -> int:
        """Time of the next order this background will send (NEVER when it has no more)."""
        ...

    def act(self, sim: Simulator) -> None:
        """Send that order to `sim.exchange` (it may look at the current book to decide)."""
        ...
