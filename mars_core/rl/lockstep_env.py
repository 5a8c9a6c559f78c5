"""`LockstepExecutionEnv`: the execution task on the generative background, as a Gymnasium vector env.

The order model samples the next order of a batch of rollouts in one call (`LockstepGroup`), so
the N sub-environments are the rollouts of one lockstep group: they start at the same moment of
the day (one history context primes the model for all), each with its own seed, and one `step`
runs one interval of every sub-environment on shared batched model steps.

A rollout that reaches the end of its interval waits for the policy's next action: its next
sampled order, due after the interval's end, is held with its sampler row parked (`HorizonGroup`)
while the others go on; the next `step` sets the agent's new PVR and AP and resumes it, and the held
order is then sent, or dropped if the agent's own order reached the exchange first, exactly as when
the rollout never stopped. Every sub-environment ends at the same step (the episode has a fixed number
of intervals), so all reset together (autoreset in the same step: the last observation and info are in
`infos["final_obs"]`, `infos["final_info"]`), at a new start drawn by the vector env's `np_random`.
Observations, actions and rewards are those of `ExecutionEnv` (`execution_env`).
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np

from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.data.schema import LobsterDay
from mars_core.errors import ConfigError
from mars_core.model.checkpoint import LoadedModel, cached_order_model
from mars_core.model.tokenizer import DecodedOrder
from mars_core.rl.execution_env import (
    AP_LEVELS,
    PVR_STEPS,
    Execution,
    ExecutionEnv,
    ExecutionTask,
    observation_space,
)
from mars_core.sim.agents.lmm import LMMBackground, LockstepGroup, history_context, torch_threads
from mars_core.sim.backgrounds import background as registered_background
from mars_core.sim.simulator import Simulator


class HorizonGroup(LockstepGroup):
    """A `LockstepGroup` whose rollouts stop at a time of their own (`horizon`) until `release`d."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.horizon = [sim.clock for sim in self.sims]
        # rollout: (token, ts, order, state of its sampling uniforms) of the order held at its horizon
        self.pending: dict[int, tuple[int, int, DecodedOrder | None, dict]] = {}
        self.sent = [0] * len(self.sims)  # background orders each rollout's model sent to its exchange

    def _generate(self, b: int, sim: Simulator, token: int) -> int | None:
        if b in self.pending:  # the order held at the horizon: this step's draw is not used, nor counted
            token, ts, order, draws = self.pending.pop(b)
            self.draws[b].bit_generator.state = draws
        else:
            order, ts = self._decode(b, sim, token)
        if self.horizon[b] <= ts < sim.end_ts:
            sim.advance(self.horizon[b])
            self.pending[b] = (token, ts, order, self.draws[b].bit_generator.state)
            return None
        generated = self.generated
        fed = self._send(b, sim, token, order, ts)
        self.sent[b] += self.generated - generated
        return fed

    def run_to(self, horizons: list[int]) -> None:
        """Simulate every rollout b up to `horizons[b]` (ns), on shared model steps."""
        self.horizon = list(horizons)
        self.release()
        with torch_threads(1):
            while self.rows:
                self.step()
        for b, sim in enumerate(self.sims):  # a rollout that ended before its horizon
            sim.advance(self.horizon[b])


class LockstepExecutionEnv(gym.vector.VectorEnv):
    """See the module docstring.

    Args:
        day: the trading day.
        num_envs: rollouts of the lockstep group.
        model: the loaded order model (the shipped one by default).
        temperature, top_p: the order model's sampling settings.
        render_mode: "ansi" (a line per sub-environment) or None.
        **task: `ExecutionTask` arguments (side, volume, duration_s, interval_s, start_window).
    """

    metadata = {"render_modes": ["ansi"], "autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}

    def __init__(
        self,
        day: LobsterDay,
        num_envs: int = 8,
        model: LoadedModel | None = None,
        temperature: float = 1.0,
        top_p: float | None = None,
        render_mode: str | None = None,
        **task: Any,
    ) -> None:
        if num_envs < 1:
            raise ConfigError(f"num_envs must be at least 1, was {num_envs}")
        if render_mode not in (None, "ansi"):
            raise ConfigError(f"render_mode {render_mode!r} is not one of ['ansi']")
        self.day, self.num_envs, self.render_mode = day, num_envs, render_mode
        self.model = model or cached_order_model()
        self.temperature, self.top_p = temperature, top_p
        self.task = ExecutionTask(**task)
        self.twap = self.task.twap
        self.single_action_space = gym.spaces.Discrete(PVR_STEPS * AP_LEVELS)
        self.single_observation_space = observation_space()
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.executions: list[Execution] = []
        self.group: HorizonGroup | None = None

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start every sub-environment at one start (`options["start"]` or drawn); `options["seeds"]` may give
        each rollout's seed (e.g. the same seeds for a policy and its baselines), else they are drawn."""
        super().reset(seed=seed if not isinstance(seed, list) else seed[0])
        return self._begin_episode(options)

    def _begin_episode(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        start = self.task.start(self.np_random, options)
        seeds = (options or {}).get("seeds")
        if seeds is None:
            seeds = self.np_random.integers(2**31, size=self.num_envs).tolist()
        if len(seeds) != self.num_envs:
            raise ConfigError(f"options['seeds'] has {len(seeds)} seeds for {self.num_envs} sub-environments")
        end = self.task.end(start)
        sims = [Simulator(self.day, start, end, LMMBackground(), seed=int(s)) for s in seeds]
        self.executions = [Execution(sim, self.twap, int(s)) for sim, s in zip(sims, seeds)]
        context = history_context(self.day, start, self.model)
        self.group = HorizonGroup(
            sims, [int(s) for s in seeds], self.model, context, temperature=self.temperature, top_p=self.top_p
        )
        obs = np.stack([e.observe() for e in self.executions])
        info = {"start": np.full(self.num_envs, start), "seed": np.array(seeds)}
        return obs, info

    def advance(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One interval of every sub-environment: observations, rewards, terminated and infos, no autoreset."""
        if self.group is None:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        if not self.action_space.contains(actions.astype(self.action_space.dtype)):
            raise ValueError(f"actions {actions!r} are not in {self.action_space}")
        self.group.run_to([e.begin(int(a)) for e, a in zip(self.executions, actions)])
        results = [e.end_interval() for e in self.executions]
        obs = np.stack([r[0] for r in results])
        rewards = np.array([r[1] for r in results], dtype=np.float64)
        terminated = np.array([r[2] for r in results])
        infos = {k: np.array([r[3][k] for r in results]) for k in results[0][3]}
        infos["background_orders"] = np.array(self.group.sent)
        return obs, rewards, terminated, infos

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        obs, rewards, terminated, infos = self.advance(actions)
        if terminated.all():  # every sub-environment ends at the same interval
            infos["final_obs"], infos["final_info"] = obs, dict(infos)
            obs, _ = self._begin_episode(None)
        return obs, rewards, terminated, np.zeros(self.num_envs, dtype=bool), infos

    def render(self) -> tuple[str, ...] | None:
        if self.render_mode == "ansi":
            return tuple(e.render() for e in self.executions)
        return None


class GenerativeExecutionEnv(gym.Env):
    """The execution task on the generative background as a plain `gym.Env`: a lockstep group of one rollout.

    What `gym.make(ENV_ID, background="lmm", ...)` builds (arguments as `LockstepExecutionEnv`'s, without
    num_envs). Each step is one interval of that rollout, so the model runs at batch 1: for training, the
    vector env (`gym.make_vec`) batches N rollouts on one model step and is several times faster per order.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, day: LobsterDay, render_mode: str | None = None, **arguments: Any) -> None:
        self.rollouts = LockstepExecutionEnv(day, 1, render_mode=render_mode, **arguments)
        self.render_mode = render_mode
        self.action_space = self.rollouts.single_action_space
        self.observation_space = self.rollouts.single_observation_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """A new episode (`options` as `LockstepExecutionEnv.reset`'s; `options["seeds"]` a list of one seed)."""
        super().reset(seed=seed)
        obs, info = self.rollouts.reset(seed=seed, options=options)
        return obs[0], {k: v[0] for k, v in info.items()}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        obs, rewards, terminated, infos = self.rollouts.advance(np.array([action]))
        return obs[0], float(rewards[0]), bool(terminated[0]), False, {k: v[0] for k, v in infos.items()}

    def render(self) -> str | None:
        lines = self.rollouts.render()
        return lines[0] if lines else None


def make_lockstep_env(
    symbol: str = "GOOG",
    date: str = "2012-06-21",
    data_dir: str | None = None,
    num_envs: int = 8,
    background: str = "lmm",
    **arguments: Any,
) -> gym.vector.VectorEnv:
    """What `gym.make_vec(ENV_ID, num_envs=N, symbol=..., date=..., background=..., ...)` builds: for "lmm" a
    `LockstepExecutionEnv`; for a background that drives one simulator each ("noise", "replay"), N
    `ExecutionEnv`s on the same loaded day in a `SyncVectorEnv` (autoreset in the same step, as the lockstep env)."""
    day = load_day(find_dataset(symbol, date, resolve_data_dir(data_dir)))
    if registered_background(background).lockstep:
        return LockstepExecutionEnv(day, num_envs, **arguments)
    return gym.vector.SyncVectorEnv(
        [functools.partial(ExecutionEnv, day, background, **arguments) for _ in range(num_envs)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )


def make_execution_env(
    symbol: str = "GOOG", date: str = "2012-06-21", data_dir: str | None = None, **arguments: Any
) -> gym.Env:
    """What `gym.make(ENV_ID, symbol=..., date=..., data_dir=..., background=...)` builds on a catalogued day: an
    `ExecutionEnv`, or for the generative background a `GenerativeExecutionEnv` (one lockstep rollout; `arguments`
    as in `execution_env`'s docstring)."""
    day = load_day(find_dataset(symbol, date, resolve_data_dir(data_dir)))
    background = arguments.pop("background", "noise")
    if registered_background(background).lockstep:
        return GenerativeExecutionEnv(day, **arguments)
    return ExecutionEnv(day, background, **arguments)
