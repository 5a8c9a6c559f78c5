"""`ExecutionEnv`: learn to execute a parent order inside the simulated market (paper App. H.2).

## Description
An agent must buy (or sell) `volume` shares within `duration_s` seconds, from a
random moment of a real trading day. Like the paper's RL agent, it controls the
configurable TWAP of Algorithm 1 interval by interval: before each interval it
picks the maximum passive volume ratio (PVR) and the aggressive price level (AP).
The market reacts: the background (noise traders or the historical flow) trades
against the agent's orders.

## Action Space
`Discrete(66)`: action a = 6 * p + ap, PVR = p / 10 for p in 0..10, AP = ap in 0..5.

## Observation Space
`Box(8,)` float32: time left, volume left, schedule lag (all fractions of the
order), spread in ticks (capped at 50), L1 imbalance (bid - ask)/(bid + ask),
5-level imbalance, mid change since the start in bps (clipped to ±500), and the
fill rate of the last interval.

## Rewards
Per interval, the price advantage of its fills over the arrival mid, in bps of
the arrival mid and weighted by the filled share of the order:
side * (arrival - price) / arrival * 1e4 * qty / volume. At the end, the
unfilled share costs `shortfall_bps` per unit.

## Starting State
The day is warmed up by replay to a start drawn uniformly (by the env's
`np_random`) from `start_window`, or the time given as `options={"start": "HH:MM"}`.

## Episode End
Terminated after the last interval (`duration_s / interval_s` steps); never truncated.

## Arguments
`gym.make("mars/Execution-v0", symbol="GOOG", date="2012-06-21", data_dir=None, ...)` loads the day
(`make_execution_env`); the class itself takes day, background ("noise" or "replay": a background that drives one simulator on its own;
the generative "lmm" is refused, it needs the lockstep runner), side, volume, duration_s,
interval_s, start_window (pair of "HH:MM"), shortfall_bps.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.data.schema import NS_PER_SECOND, LobsterDay
from mars_core.engine import parse_clock
from mars_core.sim.agent import AgentId
from mars_core.sim.agents.twap import TWAPAgent, TWAPConfig
from mars_core.sim.backgrounds import make_background, per_arm
from mars_core.sim.simulator import Simulator

PVR_STEPS = 11
AP_LEVELS = 6


class ExecutionEnv(gym.Env):
    """See the module docstring."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        day: LobsterDay,
        background: str = "noise",
        side: int = 1,
        volume: int = 2000,
        duration_s: float = 300.0,
        interval_s: float = 30.0,
        start_window: tuple[str, str] = ("10:00", "15:00"),
        shortfall_bps: float = 50.0,
    ) -> None:
        self.day = day
        self.background = per_arm(background).name  # refuses a background it cannot drive, by name
        self.twap = TWAPConfig(side=side, volume=volume, duration_s=duration_s, interval_s=interval_s)
        self.start_window = (parse_clock(start_window[0]), parse_clock(start_window[1]))
        self.shortfall_bps = shortfall_bps
        self.action_space = gym.spaces.Discrete(PVR_STEPS * AP_LEVELS)
        low = np.array([0, 0, -1, 0, -1, -1, -500, 0], dtype=np.float32)
        high = np.array([1, 1, 1, 50, 1, 1, 500, 1], dtype=np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.sim: Simulator | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        options = options or {}
        if "start" in options:
            start = parse_clock(options["start"])
        else:
            lo, hi = self.start_window
            start = int(self.np_random.integers(lo // NS_PER_SECOND, hi // NS_PER_SECOND)) * NS_PER_SECOND
        end = start + int(self.twap.duration_s * NS_PER_SECOND)
        sim_seed = int(self.np_random.integers(2**31))
        self.sim = Simulator(
            self.day, start, end + NS_PER_SECOND, make_background(self.background, self.day), seed=sim_seed
        )
        self.agent = TWAPAgent(self.twap, AgentId.EXECUTION)
        self.sim.add_agent(self.agent, np.random.default_rng([sim_seed, 1]))
        self.arrival = self._mid()
        self.step_ns = int(self.twap.interval_s * NS_PER_SECOND)
        self.interval = 0
        self._fills_seen = 0
        self._last_fill_rate = 0.0
        return self._observe(), {"start": start, "arrival_mid": self.arrival}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        self.agent.pvr = (int(action) // AP_LEVELS) / (PVR_STEPS - 1)
        self.agent.ap = int(action) % AP_LEVELS
        self.interval += 1
        target = self.agent.start_ts + self.interval * self.step_ns
        # one interval, and at the last one its closing wake-up (which cancels what rests)
        self.sim.advance(target + (1 if self.interval == self.twap.intervals else 0))
        fills = self.agent.fills
        qty = np.asarray(fills["qty"][self._fills_seen :], dtype=np.float64)
        price = np.asarray(fills["price"][self._fills_seen :], dtype=np.float64)
        self._fills_seen = len(fills["qty"])
        side, volume = self.twap.side, self.twap.volume
        reward = float(np.sum(side * (self.arrival - price) / self.arrival * 1e4 * qty) / volume)
        self._last_fill_rate = float(qty.sum()) / (volume / self.twap.intervals)
        terminated = self.interval >= self.twap.intervals
        if terminated:
            reward -= self.shortfall_bps * (1 - self.agent.fulfillment)
        info = {
            "executed": self.agent.executed,
            "fulfillment": self.agent.fulfillment,
            "vwap": self.agent.vwap,
            "pvr": self.agent.pvr,
            "ap": self.agent.ap,
        }
        return self._observe(), reward, terminated, False, info

    def _mid(self) -> float:
        bid, ask = self.sim.book.best_bid(), self.sim.book.best_ask()
        return (bid + ask) / 2 if bid and ask else float(bid or ask)

    def _observe(self) -> np.ndarray:
        book, c = self.sim.book, self.twap
        bids, bid_q = book.depth(1, 5)
        asks, ask_q = book.depth(-1, 5)
        tick = self.day.info.tick_size
        spread = (asks[0] - bids[0]) / tick if len(bids) and len(asks) else 50.0
        l1 = (bid_q[:1].sum() - ask_q[:1].sum()) / max(bid_q[:1].sum() + ask_q[:1].sum(), 1)
        l5 = (bid_q.sum() - ask_q.sum()) / max(bid_q.sum() + ask_q.sum(), 1)
        scheduled = c.volume * self.interval / c.intervals
        obs = np.array(
            [
                1 - self.interval / c.intervals,
                1 - self.agent.executed / c.volume,
                (scheduled - self.agent.executed) / c.volume,
                spread,
                l1,
                l5,
                (self._mid() / self.arrival - 1) * 1e4,
                self._last_fill_rate,
            ],
            dtype=np.float32,
        )
        return np.clip(obs, self.observation_space.low, self.observation_space.high)


def make_execution_env(
    symbol: str = "GOOG", date: str = "2012-06-21", data_dir: str | None = None, **arguments: Any
) -> ExecutionEnv:
    """An `ExecutionEnv` on a catalogued day: what `gym.make(ENV_ID, symbol=..., date=..., data_dir=...)` builds
    (`arguments` as in the module docstring)."""
    return ExecutionEnv(load_day(find_dataset(symbol, date, resolve_data_dir(data_dir))), **arguments)
