"""Gymnasium environments on top of the simulator, registered by id:

import gymnasium as gym
import mars_core.rl  # registers the ids below
env = gym.make("mars/Execution-v0", symbol="GOOG", date="2012-06-21", background="noise")  # or "replay", "lmm"
envs = gym.make_vec("mars/Execution-v0", num_envs=8, symbol="GOOG", date="2012-06-21", background="lmm")
"""

import gymnasium as gym

EXECUTION_ENV_ID = "mars/Execution-v0"

if EXECUTION_ENV_ID not in gym.registry:
    gym.register(
        id=EXECUTION_ENV_ID,
        entry_point="mars_core.rl.lockstep_env:make_execution_env",
        vector_entry_point="mars_core.rl.lockstep_env:make_lockstep_env",
    )
