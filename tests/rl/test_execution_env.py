"""The execution environment follows the Gymnasium API and is deterministic by seed."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from mars_core.data import LobsterDay
from mars_core.errors import ConfigError
from mars_core.rl import EXECUTION_ENV_ID
from mars_core.rl.execution_env import AP_LEVELS, ExecutionEnv, action_of, alpha, episode_reward, settings_of


@pytest.fixture
def env(goog_day: LobsterDay) -> ExecutionEnv:
    return ExecutionEnv(goog_day, volume=1500, duration_s=120, interval_s=30)


def rollout(env: ExecutionEnv, action: int, seed: int) -> tuple[list[np.ndarray], list[float], dict]:
    obs, info = env.reset(seed=seed)
    observations, rewards, done = [obs], [], False
    while not done:
        obs, reward, done, truncated, info = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        assert not truncated
    return observations, rewards, info


def test_passes_gymnasiums_env_checker(env: ExecutionEnv) -> None:
    check_env(env, skip_render_check=True)


def test_same_seed_same_episode(env: ExecutionEnv) -> None:
    a = rollout(env, 6 * 5 + 2, seed=11)
    b = rollout(env, 6 * 5 + 2, seed=11)
    assert np.array_equal(np.stack(a[0]), np.stack(b[0])) and a[1] == b[1]
    c = rollout(env, 6 * 5 + 2, seed=12)
    assert not np.array_equal(np.stack(a[0]), np.stack(c[0]))


def test_episode_runs_one_step_per_interval_and_aggression_fills(env: ExecutionEnv) -> None:
    observations, rewards, info = rollout(env, 0 * AP_LEVELS + 5, seed=3)  # PVR 0, AP 5: cross the spread
    assert len(rewards) == 4 and observations[-1][0] == 0.0
    aggressive = info["fulfillment"]
    assert aggressive > 0.95 and observations[-1][1] == pytest.approx(1 - aggressive)
    assert sum(rewards[:-1]) == 0 and rewards[-1] == episode_reward(aggressive, info["advantage_bps"])
    assert info["advantage_bps"] < 0  # paying the spread costs against the arrival mid
    assert info["advantage_bps"] == pytest.approx((info["arrival_mid"] - info["vwap"]) / info["arrival_mid"] * 1e4)
    _, rewards, info = rollout(env, 10 * AP_LEVELS + 0, seed=3)  # PVR 1, AP 0: passive only
    assert info["fulfillment"] < aggressive


def test_fixed_start_and_bad_actions(env: ExecutionEnv) -> None:
    _, info = env.reset(seed=0, options={"start": "11:30"})
    assert info["start"] == 11.5 * 3600 * 10**9
    with pytest.raises(ValueError, match="not in"):
        env.step(99)


def test_a_background_it_cannot_drive_is_refused_by_name(goog_day: LobsterDay) -> None:
    with pytest.raises(ConfigError, match=r"'lmm' background samples .* in lockstep.*gym.make_vec\("):
        ExecutionEnv(goog_day, background="lmm")
    with pytest.raises(ConfigError, match="unknown background 'hawkes'"):
        ExecutionEnv(goog_day, background="hawkes")


def test_the_environment_is_registered_with_gymnasium(data_dir: Path) -> None:
    env = gym.make(
        EXECUTION_ENV_ID, symbol="GOOG", date="2012-06-21", data_dir=str(data_dir), volume=800, duration_s=60
    )
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs) and info["arrival_mid"] > 0
    assert env.unwrapped.twap.volume == 800 and env.unwrapped.day.info.symbol == "GOOG"


def test_eq3_weighs_the_price_advantage_by_fulfillment() -> None:
    assert [alpha(f) for f in (1.0, 0.95, 0.925, 0.9, 0.5)] == pytest.approx([1, 1, 0.5, 0, 0])
    assert episode_reward(1.0, 3.0) == pytest.approx(3.0)
    assert episode_reward(0.925, 4.0) == pytest.approx(-7.5 + 2.0)
    assert episode_reward(0.8, 50.0) == pytest.approx(-20.0)  # no advantage bought with unfilled shares


def test_actions_encode_the_papers_twap_settings() -> None:
    assert action_of(0.9, 1) == 55 and settings_of(55) == (0.9, 1)
    assert all(action_of(*settings_of(a)) == a for a in range(66))


def test_ansi_render_describes_the_step(goog_day: LobsterDay) -> None:
    env = ExecutionEnv(goog_day, volume=1000, duration_s=60, interval_s=30, render_mode="ansi")
    env.reset(seed=2, options={"start": "11:00"})
    info = env.step(action_of(0.0, 5))[-1]
    assert env.render().startswith(f"interval 1/2  PVR 0.0 AP 5  filled {info['executed']}/1000  mid ")
    assert info["executed"] > 0
    with pytest.raises(ConfigError, match="render_mode 'human'"):
        ExecutionEnv(goog_day, render_mode="human")


def test_the_replay_background_drives_the_environment_too(goog_day: LobsterDay) -> None:
    env = ExecutionEnv(goog_day, background="replay", volume=1000, duration_s=60, interval_s=30)
    a = rollout(env, action_of(0.9, 1), seed=4)
    b = rollout(env, action_of(0.9, 1), seed=4)
    assert a[1] == b[1] and a[2]["executed"] > 0 and env.background == "replay"
