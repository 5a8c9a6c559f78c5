"""`ExecutionEnv`: learn to execute a parent order inside the simulated market (paper Sec. 4.4, App. H.2).

## Description
An agent must buy (or sell) `volume` shares within `duration_s` seconds, from a
random moment of a real trading day. Like the paper's RL agent, it controls the
configurable TWAP of Algorithm 1 interval by interval: before each interval it
picks the maximum passive volume ratio (PVR) and the aggressive price level (AP).
The market reacts: the background (noise traders, the historical flow, or the
generative order model in `LockstepExecutionEnv`) trades against the agent's orders.

## Action Space
`Discrete(66)`: action a = 6 * p + ap, PVR = p / 10 for p in 0..10, AP = ap in 0..5
(`action_of(pvr, ap)`; the paper's best TWAP L1-P0.9 is `action_of(0.9, 1)` = 55).

## Observation Space
`Box(8,)` float32: time left, volume left, schedule lag (all fractions of the
order), spread in ticks (capped at 50), L1 imbalance (bid - ask)/(bid + ask),
5-level imbalance, mid change since the start in bps (clipped to ±500), and the
fill rate of the last interval.

## Rewards
Eq. 3 of the paper, Reward = FulfillmentRate + α · PriceAdvantage, paid at the end of the
episode (0 before), in bps: α(fulfillment) × advantage - `FULFILLMENT_BPS` × (1 - fulfillment)
(the fulfillment term shifted by a constant, so a full fill earns its advantage), the advantage being the side-signed gap between the arrival mid and the agent's average fill
price, in bps of the arrival mid (`episode_reward`). The paper's extracted text lost the comparison
sign of α; we read it as the constraint the task states: α = 1 while fulfillment ≥ 0.95,
falling linearly to 0 at 0.90, so the price advantage cannot be bought with unfilled shares.

## Starting State
The day is warmed up by replay to a start drawn uniformly (by the env's
`np_random`) from `start_window` (training: before 14:30), or the time given as `options={"start": "HH:MM"}`.

## Episode End
Terminated after the last interval (`duration_s / interval_s` steps); never truncated.

## Arguments
`gym.make("mars/Execution-v0", symbol="GOOG", date="2012-06-21", data_dir=None, background="noise", ...)`
loads the day (`lockstep_env.make_execution_env`); the class itself takes day, background ("noise" or "replay", which
drive one simulator each; the noise traders are fitted on the orders before `noise_fit_until`,
14:30 by default, None: the whole day; the generative "lmm" samples a batch of rollouts in lockstep: `gym.make`
builds a `GenerativeExecutionEnv` of one rollout, `gym.make_vec(..., background="lmm", num_envs=N)` the batched
vector env that training wants), side, volume, duration_s, interval_s,
start_window (pair of "HH:MM"), render_mode ("ansi": a line of text per step).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from mars_core.data.schema import NS_PER_SECOND, LobsterDay
from mars_core.engine import parse_clock
from mars_core.errors import ConfigError
from mars_core.sim.agent import AgentId
from mars_core.sim.agents.twap import TWAPAgent, TWAPConfig
from mars_core.sim.backgrounds import background as registered_background
from mars_core.sim.backgrounds import make_background
from mars_core.sim.simulator import Simulator

PVR_STEPS = 11
AP_LEVELS = 6
FULFILLMENT_BPS = 100.0  # weight of the fulfillment: each 1% of the order left unfilled costs 1 bps
ALPHA_FULL, ALPHA_ZERO = 0.95, 0.90  # the price advantage counts fully from 95% filled, not at all below 90%
HELD_OUT_FROM = "14:30"  # the afternoon from here is held out: no training start, no fit
TRAIN_WINDOW = ("10:00", "14:25")  # starts whose 5 minutes end before the held-out afternoon


OBS_SCALE = np.array([1, 1, 1, 10, 1, 1, 10, 1], dtype=np.float32)  # spread (ticks) and mid change (bps) / 10


def scaled(obs: np.ndarray) -> np.ndarray:
    """A policy network's input: the observation with its two wide features (spread, mid change) / 10."""
    return obs / OBS_SCALE


def action_of(pvr: float, ap: int) -> int:
    """The action that sets PVR `pvr` (a multiple of 0.1) and aggressive level `ap`."""
    return int(round(pvr * (PVR_STEPS - 1))) * AP_LEVELS + ap


def settings_of(action: int) -> tuple[float, int]:
    """(PVR, AP) of an action."""
    return (int(action) // AP_LEVELS) / (PVR_STEPS - 1), int(action) % AP_LEVELS


def alpha(fulfillment: float) -> float:
    """Weight of the price advantage in eq. 3 (see the module docstring)."""
    return float(np.clip((fulfillment - ALPHA_ZERO) / (ALPHA_FULL - ALPHA_ZERO), 0.0, 1.0))


def advantage_bps(side: int, arrival: float, vwap: float) -> float:
    """The side-signed gap between the arrival mid and the average fill price, in bps (0 with no fill)."""
    return 0.0 if not np.isfinite(vwap) else side * (arrival - vwap) / arrival * 1e4


def episode_reward(fulfillment: float, advantage: float) -> float:
    """Eq. 3 in bps: alpha(fulfillment) x advantage - `FULFILLMENT_BPS` x (1 - fulfillment)."""
    return alpha(fulfillment) * advantage - FULFILLMENT_BPS * (1 - fulfillment)


def observation_space() -> gym.spaces.Box:
    low = np.array([0, 0, -1, 0, -1, -1, -500, 0], dtype=np.float32)
    high = np.array([1, 1, 1, 50, 1, 1, 500, 1], dtype=np.float32)
    return gym.spaces.Box(low, high, dtype=np.float32)


class Execution:
    """One episode of one rollout: the TWAP agent the policy steers in `sim`, and what it observes and earns.

    The driver (`ExecutionEnv` or the lockstep vector env) calls `begin(action)`, advances the simulator to the
    returned time, then `end_interval()`.
    """

    def __init__(self, sim: Simulator, twap: TWAPConfig, seed: int) -> None:
        self.sim, self.twap = sim, twap
        self.agent = TWAPAgent(twap, AgentId.EXECUTION)
        sim.add_agent(self.agent, np.random.default_rng([seed, 1]))
        self.arrival = self.mid()
        self.step_ns = int(twap.interval_s * NS_PER_SECOND)
        self.interval = 0
        self._fills_seen = 0
        self._last_fill_rate = 0.0
        self.space = observation_space()

    def begin(self, action: int) -> int:
        """Set the next interval's PVR and AP; returns the time to simulate until (the interval's end and,
        after the last one, its closing wake-up, which cancels what rests)."""
        self.agent.pvr, self.agent.ap = settings_of(action)
        self.interval += 1
        target = self.agent.start_ts + self.interval * self.step_ns
        return target + (1 if self.done else 0)

    @property
    def done(self) -> bool:
        return self.interval >= self.twap.intervals

    def end_interval(self) -> tuple[np.ndarray, float, bool, dict[str, Any]]:
        """(observation, reward, terminated, info) once the simulator reached the time `begin` returned."""
        qty = np.asarray(self.agent.fills["qty"][self._fills_seen :], dtype=np.float64)
        self._fills_seen = len(self.agent.fills["qty"])
        self._last_fill_rate = float(qty.sum()) / (self.twap.volume / self.twap.intervals)
        info = self.info()
        reward = episode_reward(info["fulfillment"], info["advantage_bps"]) if self.done else 0.0
        return self.observe(), reward, self.done, info

    def info(self) -> dict[str, Any]:
        agent = self.agent
        return {
            "executed": agent.executed,
            "fulfillment": agent.fulfillment,
            "vwap": agent.vwap,
            "arrival_mid": self.arrival,
            "advantage_bps": advantage_bps(self.twap.side, self.arrival, agent.vwap),
            "pvr": agent.pvr,
            "ap": agent.ap,
        }

    def mid(self) -> float:
        bid, ask = self.sim.book.best_bid(), self.sim.book.best_ask()
        return (bid + ask) / 2 if bid and ask else float(bid or ask)

    def observe(self) -> np.ndarray:
        book, c = self.sim.book, self.twap
        bids, bid_q = book.depth(1, 5)
        asks, ask_q = book.depth(-1, 5)
        tick = self.sim.day.info.tick_size
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
                (self.mid() / self.arrival - 1) * 1e4,
                self._last_fill_rate,
            ],
            dtype=np.float32,
        )
        return np.clip(obs, self.space.low, self.space.high)

    def render(self) -> str:
        i = self.info()
        return (
            f"interval {self.interval}/{self.twap.intervals}  PVR {i['pvr']:.1f} AP {i['ap']}  "
            f"filled {i['executed']}/{self.twap.volume}  mid {self.mid() / 1e4:.2f}  "
            f"advantage {i['advantage_bps']:+.2f} bps"
        )


class ExecutionTask:
    """The order to execute and where episodes start (the arguments shared by both environments)."""

    def __init__(
        self,
        side: int = 1,
        volume: int = 2000,
        duration_s: float = 300.0,
        interval_s: float = 30.0,
        start_window: tuple[str, str] = TRAIN_WINDOW,
    ) -> None:
        self.twap = TWAPConfig(side=side, volume=volume, duration_s=duration_s, interval_s=interval_s)
        self.start_window = (parse_clock(start_window[0]), parse_clock(start_window[1]))

    def start(self, rng: np.random.Generator, options: dict[str, Any] | None) -> int:
        """The episode's start: `options["start"]` ("HH:MM[:SS]") or a whole second drawn from the window."""
        if options and "start" in options:
            return parse_clock(options["start"])
        lo, hi = self.start_window
        return int(rng.integers(lo // NS_PER_SECOND, hi // NS_PER_SECOND)) * NS_PER_SECOND

    def end(self, start: int) -> int:
        """The simulator's end: a second after the execution (its closing wake-up falls inside)."""
        return start + int(self.twap.duration_s * NS_PER_SECOND) + NS_PER_SECOND


class ExecutionEnv(gym.Env):
    """See the module docstring."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        day: LobsterDay,
        background: str = "noise",
        noise_fit_until: str | None = HELD_OUT_FROM,
        render_mode: str | None = None,
        **task: Any,
    ) -> None:
        if registered_background(background).lockstep:
            raise ConfigError(
                f"the {background!r} background samples the orders of its rollouts in lockstep, which ExecutionEnv "
                f'cannot drive: gym.make("mars/Execution-v0", background={background!r}) builds one such rollout, '
                f'gym.make_vec("mars/Execution-v0", num_envs=N, background={background!r}, ...) a batch'
            )
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ConfigError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']}")
        self.day = day
        self.background = background
        self.noise_fit_until = parse_clock(noise_fit_until) if noise_fit_until else None
        self.render_mode = render_mode
        self.task = ExecutionTask(**task)
        self.twap = self.task.twap
        self.action_space = gym.spaces.Discrete(PVR_STEPS * AP_LEVELS)
        self.observation_space = observation_space()
        self.execution: Execution | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        start = self.task.start(self.np_random, options)
        sim_seed = int(self.np_random.integers(2**31))
        sim = Simulator(
            self.day,
            start,
            self.task.end(start),
            make_background(self.background, self.day, self.noise_fit_until),
            seed=sim_seed,
        )
        self.execution = Execution(sim, self.twap, sim_seed)
        return self.execution.observe(), {"start": start, "arrival_mid": self.execution.arrival}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.execution is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        self.execution.sim.advance(self.execution.begin(int(action)))
        obs, reward, terminated, info = self.execution.end_interval()
        return obs, reward, terminated, False, info

    def render(self) -> str | None:
        if self.render_mode == "ansi" and self.execution is not None:
            return self.execution.render()
        return None
