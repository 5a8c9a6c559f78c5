"""The execution task on the generative background: a lockstep vector env that really sends model orders."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from mars_core.data import LobsterDay
from mars_core.engine import parse_clock
from mars_core.errors import ConfigError
from mars_core.model.checkpoint import cached_order_model
from mars_core.rl import EXECUTION_ENV_ID
from mars_core.rl.execution_env import action_of, episode_reward
from mars_core.rl.lockstep_env import GenerativeExecutionEnv, LockstepExecutionEnv
from mars_core.sim.agent import AgentId
from mars_core.sim.agents.lmm import LMMBackground, LockstepGroup, history_context
from mars_core.sim.agents.twap import TWAPAgent, TWAPConfig
from mars_core.sim.simulator import Simulator

TASK = {"volume": 1200, "duration_s": 60, "interval_s": 30}
L1_P09 = action_of(0.9, 1)


def episode(env: LockstepExecutionEnv, actions: np.ndarray, **options) -> dict:
    env.reset(seed=0, options={"start": "11:00", **options})
    for _ in range(2):
        _, rewards, terminated, _, info = env.step(actions)
    assert terminated.all()
    return info["final_info"] | {"rewards": rewards}


def test_gym_make_vec_builds_the_lockstep_env_whose_model_sends_orders(data_dir: Path) -> None:
    envs = gym.make_vec(
        EXECUTION_ENV_ID, num_envs=2, symbol="GOOG", date="2012-06-21", data_dir=str(data_dir), background="lmm", **TASK
    )
    assert isinstance(envs, LockstepExecutionEnv) and envs.action_space == gym.spaces.MultiDiscrete([66, 66])
    obs, info = envs.reset(seed=3, options={"start": "11:00"})
    assert obs.shape == (2, 8) and (info["start"] == parse_clock("11:00")).all()
    _, rewards, terminated, _, info = envs.step(np.array([L1_P09, L1_P09]))
    assert not terminated.any() and (rewards == 0).all()
    assert (info["background_orders"] > 50).all()  # the order model makes the market of every rollout (30 s)
    assert envs.group.sent == info["background_orders"].tolist()
    for sim in envs.group.sims:  # every rollout stopped at the interval's end, for the next action
        assert sim.clock == parse_clock("11:00:30")


def test_same_seeds_same_episodes_and_the_seeds_are_the_rollouts(goog_day: LobsterDay) -> None:
    env = LockstepExecutionEnv(goog_day, num_envs=2, **TASK)
    a = episode(env, np.array([L1_P09, action_of(0.2, 3)]), seeds=[5, 5])
    b = episode(env, np.array([L1_P09, action_of(0.2, 3)]), seeds=[5, 5])
    assert np.array_equal(a["vwap"], b["vwap"]) and np.array_equal(a["background_orders"], b["background_orders"])
    assert a["vwap"][0] != a["vwap"][1]  # same market seed, other actions: other fills


def test_a_held_rollout_continues_exactly_as_one_never_stopped(goog_day: LobsterDay) -> None:
    """One rollout, stopped at every interval's end for the policy, fills as the plain lockstep group's."""
    start, seed = parse_clock("11:00"), 7
    env = LockstepExecutionEnv(goog_day, num_envs=1, **TASK)
    env.reset(options={"start": "11:00", "seeds": [seed]})
    env.step(np.array([L1_P09]))
    held = dict(env.group.pending)
    agent = env.executions[0].agent
    env.step(np.array([L1_P09]))
    assert held  # the rollout did stop with an order due after the interval

    model = cached_order_model()
    twap = TWAPConfig(volume=1200, duration_s=60, interval_s=30, pvr=0.9, ap=1)
    reference = TWAPAgent(twap, AgentId.EXECUTION)
    sim = Simulator(goog_day, start, start + 61 * 10**9, LMMBackground(), [reference], seed=seed)
    LockstepGroup([sim], [seed], model, history_context(goog_day, start, model)).run()
    assert agent.fills == reference.fills and agent.executed == reference.executed > 0
    assert agent.orders == reference.orders


def test_gym_make_builds_one_generative_rollout_that_is_the_vector_envs_first(data_dir: Path) -> None:
    from gymnasium.utils.env_checker import check_env

    env = gym.make(EXECUTION_ENV_ID, symbol="GOOG", data_dir=str(data_dir), background="lmm", **TASK)
    assert isinstance(env.unwrapped, GenerativeExecutionEnv) and env.action_space == gym.spaces.Discrete(66)
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=4, options={"start": "11:00"})
    assert obs.shape == (8,) and info["start"] == parse_clock("11:00")
    steps = [env.step(L1_P09) for _ in range(2)]
    (_, r0, t0, _, i0), (_, r1, t1, _, i1) = steps
    assert (r0, t0) == (0.0, False) and t1 and 50 < i0["background_orders"] < i1["background_orders"]
    assert r1 == pytest.approx(episode_reward(i1["fulfillment"], i1["advantage_bps"]))
    # the same seed gives the vector env's rollout of that seed, fill for fill
    envs = LockstepExecutionEnv(env.unwrapped.rollouts.day, num_envs=1, **TASK)
    final = episode(envs, np.array([L1_P09]), seeds=[int(info["seed"])])
    assert final["vwap"][0] == i1["vwap"] and final["background_orders"][0] == i1["background_orders"]


def test_refusals_are_clear(goog_day: LobsterDay, data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="num_envs must be at least 1"):
        LockstepExecutionEnv(goog_day, num_envs=0)
    env = LockstepExecutionEnv(goog_day, num_envs=2, **TASK)
    with pytest.raises(ConfigError, match="1 seeds for 2 sub-environments"):
        env.reset(options={"seeds": [1]})
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([0, 0]))
    env.reset(seed=1)
    with pytest.raises(ValueError, match="not in"):
        env.step(np.array([0, 66]))


def test_per_simulator_backgrounds_vectorize_in_sync(data_dir: Path) -> None:
    envs = gym.make_vec(EXECUTION_ENV_ID, num_envs=2, data_dir=str(data_dir), background="noise", **TASK)
    assert isinstance(envs, gym.vector.SyncVectorEnv)
    envs.reset(seed=0)
    envs.step(np.array([L1_P09, L1_P09]))
    _, rewards, terminated, _, info = envs.step(np.array([L1_P09, L1_P09]))
    final = info["final_info"]
    assert terminated.all() and final["fulfillment"].min() > 0 and "final_obs" in info
    expected = [episode_reward(f, a) for f, a in zip(final["fulfillment"], final["advantage_bps"])]
    assert rewards.tolist() == pytest.approx(expected)
