"""Scoring an execution policy against the paper's TWAP configurations, in the same simulated futures.

At each start point, the policy and the four TWAPs of the paper (L{AP}-P{PVR}: L1-P0.9, the paper's best,
L1-P0.1, L5-P0.1, L5-P0.9) execute the same order with the same seeds (common random numbers: the same
background draws; on the generative background, the rollouts of one lockstep group, so one batched model step
serves them all). The score is the price advantage over L1-P0.9 in bps (the policy's advantage over the
arrival mid minus the baseline's, paired by start and seed), averaged over seeds per start, with a 95%
bootstrap interval over start points (held-out starts are 6 minutes apart and episodes last 5, so they do not
overlap: plain resampling, `block=1`); fulfillment beside it.

The work is a list of picklable `EvalUnit`s (one start of one day) mapped by one function, `evaluate_unit`.
"""

from __future__ import annotations

import functools
import pickletools
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from stable_baselines3.common.policies import ActorCriticPolicy

from analysis.bootstrap import block_bootstrap
from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.data.schema import NS_PER_SECOND, LobsterDay
from mars_core.engine import format_clock, parse_clock
from mars_core.errors import MarsInputError
from mars_core.model.checkpoint import verify_shipped
from mars_core.paths import MODELS_DIR
from mars_core.rl.execution_env import ExecutionEnv, action_of, scaled
from mars_core.rl.lockstep_env import LockstepExecutionEnv

PAPER_TWAPS = {
    "L1-P0.9": action_of(0.9, 1),
    "L1-P0.1": action_of(0.1, 1),
    "L5-P0.1": action_of(0.1, 5),
    "L5-P0.9": action_of(0.9, 5),
}
BASELINE = "L1-P0.9"
AGENT = "agent"
HELD_OUT = ("14:30", "15:54")  # held-out starts: the afternoon, episodes ending by 16:00
HELD_OUT_EVERY_S = 360

Policy = Callable[[np.ndarray], np.ndarray]  # observations (n, 8) -> actions (n,)


# What a saved `ActorCriticPolicy` asks the unpickler for. stable-baselines3 loads a policy with
# weights_only=False, so a file asking for anything else (os.system, eval, ...) is refused before it is read.
POLICY_GLOBALS = frozenset(
    {
        "builtins.getattr",
        "gymnasium.spaces.box.Box",
        "gymnasium.spaces.discrete.Discrete",
        "numpy._core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.random._pcg64.PCG64",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random.bit_generator.SeedSequence",
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
        "stable_baselines3.common.policies.BasePolicy",
        "stable_baselines3.common.torch_layers.FlattenExtractor",
        "torch.nn.modules.activation.Tanh",
        "torch.nn.modules.activation.ReLU",
        "torch.optim.adam.Adam",
    }
)


def check_policy(path: str | Path) -> Path:
    """`path` if it is a policy file that asks only for `POLICY_GLOBALS` (read without running it); a shipped one
    must also match the manifest. Raises MarsInputError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise MarsInputError(f"no policy at {path}; train one with `mars rl train --out DIR` (it writes policy.pt)")
    verify_shipped(path)
    try:
        asked = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception as err:  # not a torch.save zip at all
        raise MarsInputError(f"{path}: not a saved stable-baselines3 policy ({err})") from None
    if asked - POLICY_GLOBALS:
        strange = ", ".join(sorted(asked - POLICY_GLOBALS)[:5])
        raise MarsInputError(f"{path}: refused unread: it asks for {strange}, which a saved policy does not")
    if not _getattr_only_for_the_schedule(path):
        raise MarsInputError(f"{path}: refused unread: it calls getattr otherwise than a saved policy does")
    return path


SCHEDULE_CALL = [  # the one getattr of a saved policy: getattr(BasePolicy, "_dummy_schedule"), its lr_schedule
    ("GLOBAL", "stable_baselines3.common.policies BasePolicy"),
    ("BINUNICODE", "_dummy_schedule"),
    ("TUPLE2", None),
    ("REDUCE", None),
]


def _getattr_only_for_the_schedule(path: Path) -> bool:
    """Whether every getattr in the policy's pickle is `SCHEDULE_CALL` (read opcode by opcode, nothing run): getattr
    on other objects reaches any function, so POLICY_GLOBALS alone would not keep code from running."""
    with zipfile.ZipFile(path) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        ops = [(op.name, arg) for op, arg, _ in pickletools.genops(archive.read(name))]
    memo = [(k, op) for k, op in enumerate(ops) if op[0] in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE")]
    getattr_slots = set()
    for k, (code, arg) in enumerate(ops):
        if code in ("STACK_GLOBAL", "INST", "OBJ"):  # torch.save writes protocol 2: GLOBAL only
            return False
        if code == "GLOBAL" and arg in ("__builtin__ getattr", "builtins getattr"):
            rest = [op for op in ops[k + 1 :] if op[0] not in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE")][:4]
            if [(c, a if c in ("GLOBAL", "BINUNICODE") else None) for c, a in rest] != SCHEDULE_CALL:
                return False
            getattr_slots |= {op[1] for j, op in memo if j == k + 1}
    return not any(code in ("GET", "BINGET", "LONG_BINGET") and arg in getattr_slots for code, arg in ops)


def load_policy(path: str) -> Policy:
    """The deterministic policy of a saved stable-baselines3 `ActorCriticPolicy` (`policy.pt`, on `scaled` inputs)."""
    policy = ActorCriticPolicy.load(str(check_policy(path)), device="cpu")
    return lambda obs: policy.predict(scaled(obs), deterministic=True)[0]


def shipped_policy() -> Path:
    """The shipped agent's policy, checked against the models' manifest."""
    path = MODELS_DIR / "execution_agent" / "policy.pt"
    verify_shipped(path)
    return path


def fixed(action: int) -> Policy:
    return lambda obs: np.full(len(obs), action)


def held_out_starts(every_s: int = HELD_OUT_EVERY_S) -> list[str]:
    lo, hi = (parse_clock(t) for t in HELD_OUT)
    return [format_clock(t)[:5] for t in range(lo, hi + 1, every_s * NS_PER_SECOND)]


@dataclass(frozen=True)
class EvalUnit:
    """One start of one day: the policy and the TWAPs over `seeds`."""

    symbol: str
    date: str
    start: str
    seeds: tuple[int, ...]
    background: str
    policy_path: str | None  # None: the TWAPs only
    task: dict[str, Any] = field(default_factory=dict)
    data_dir: str | None = None


@functools.cache
def trading_day(symbol: str, date: str, data_dir: str | None) -> LobsterDay:
    """A catalogued day, loaded once per process."""
    return load_day(find_dataset(symbol, date, resolve_data_dir(data_dir)))


def evaluate_unit(unit: EvalUnit) -> list[dict[str, Any]]:
    """Rows (symbol, start, seed, policy, fulfillment, advantage_bps, reward) of one start."""
    policies: dict[str, Policy] = {name: fixed(a) for name, a in PAPER_TWAPS.items()}
    if unit.policy_path is not None:
        policies = {AGENT: load_policy(unit.policy_path), **policies}
    day = trading_day(unit.symbol, unit.date, unit.data_dir)
    return run_start(day, unit.start, unit.seeds, unit.background, policies, unit.task)


def run_start(
    day: LobsterDay, start: str, seeds: Iterable[int], background: str, policies: dict[str, Policy], task: dict
) -> list[dict[str, Any]]:
    """Every policy over every seed from `start` (see the module docstring); one row per episode."""
    seeds = list(seeds)
    if background == "lmm":
        finals = _lockstep_episodes(day, start, seeds, policies, task)
    else:
        finals = [
            _episode(ExecutionEnv(day, background, **task), start, s, p) for p in policies.values() for s in seeds
        ]
    keys = [(name, s) for name in policies for s in seeds]
    return [
        {"symbol": day.info.symbol, "start": start, "seed": s, "policy": name} | final
        for (name, s), final in zip(keys, finals)
    ]


def _result(info: dict[str, Any], reward: float) -> dict[str, Any]:
    return {"fulfillment": float(info["fulfillment"]), "advantage_bps": float(info["advantage_bps"]), "reward": reward}


def _episode(env: ExecutionEnv, start: str, seed: int, policy: Policy) -> dict[str, Any]:
    obs, _ = env.reset(seed=seed, options={"start": start})
    done = False
    while not done:
        obs, reward, done, _, info = env.step(int(policy(obs[None])[0]))
    return _result(info, reward)


def _lockstep_episodes(
    day: LobsterDay, start: str, seeds: list[int], policies: dict[str, Policy], task: dict
) -> list[dict[str, Any]]:
    """All policies x seeds as the rollouts of one lockstep group (policy-major order)."""
    n = len(seeds)
    env = LockstepExecutionEnv(day, num_envs=n * len(policies), **task)
    obs, _ = env.reset(options={"start": start, "seeds": seeds * len(policies)})
    while True:
        actions = np.concatenate([p(obs[k * n : (k + 1) * n]) for k, p in enumerate(policies.values())])
        obs, rewards, terminated, _, info = env.step(actions)
        if terminated.all():
            final = info["final_info"]
            return [_result({k: final[k][i] for k in final}, float(rewards[i])) for i in range(len(rewards))]


def trace_start(
    day: LobsterDay, start: str, seed: int, background: str, policies: dict[str, Policy], task: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every policy from one start in the same future (one seed), for a picture: (steps, fills).

    steps: policy, interval, pvr, ap (chosen before the interval), executed, fulfillment, mid_bps (the mid after
    the interval against the arrival mid), advantage_bps (so far); fills: policy, ts, price, qty, aggressive.
    """
    names = list(policies)
    if background == "lmm":
        env = LockstepExecutionEnv(day, num_envs=len(names), **task)
        obs, _ = env.reset(options={"start": start, "seeds": [seed] * len(names)})
        executions = list(env.executions)
    else:
        envs = [ExecutionEnv(day, background, **task) for _ in names]
        obs = np.stack([e.reset(seed=seed, options={"start": start})[0] for e in envs])
        executions = [e.execution for e in envs]
    steps = []
    for interval in range(1, executions[0].twap.intervals + 1):
        actions = np.concatenate([p(obs[k : k + 1]) for k, p in enumerate(policies.values())])
        if background == "lmm":
            obs = env.step(actions)[0]
        else:
            obs = np.stack([e.step(int(a))[0] for e, a in zip(envs, actions)])
        for name, ex in zip(names, executions):
            info = ex.info()
            mid = (ex.mid() / ex.arrival - 1) * 1e4
            steps.append({"policy": name, "interval": interval} | info | {"mid_bps": mid})
    fills = pd.concat(
        [pd.DataFrame(ex.agent.fills).assign(policy=name) for name, ex in zip(names, executions)], ignore_index=True
    )
    return pd.DataFrame(steps), fills


def summarize(rows: list[dict[str, Any]], background: str, seed: int = 0) -> dict[str, Any]:
    """The scoreboard of `rows`: the agent's advantage over each TWAP (mean over starts of the per-start mean over
    seeds of the paired difference) with its 95% interval, and every policy's mean fulfillment and advantage."""
    df = pd.DataFrame(rows)
    table = df.pivot_table(index=["symbol", "start", "seed"], columns="policy", values="advantage_bps")
    per_start = table.groupby(level=["symbol", "start"]).mean()
    fulfillment = df.groupby("policy")["fulfillment"].mean()
    result: dict[str, Any] = {"background": background, "baseline": BASELINE}
    versus = {}
    for name in PAPER_TWAPS:
        if AGENT not in per_start:
            break
        diff = (per_start[AGENT] - per_start[name]).to_numpy()
        estimate, ci, _ = block_bootstrap(lambda idx, diff=diff: diff[idx].mean(), len(diff), seed=seed, block=1)
        versus[name] = {"advantage_bps": estimate, "ci": list(ci), "fulfillment": float(fulfillment[name])}
    if versus:
        result |= {
            "advantage_bps": versus[BASELINE]["advantage_bps"],
            "ci": versus[BASELINE]["ci"],
            "fulfillment": float(fulfillment[AGENT]),
            "baseline_fulfillment": float(fulfillment[BASELINE]),
        }
    result["episodes"] = int((df.policy == AGENT).sum()) if AGENT in set(df.policy) else 0
    result["starts"] = len(per_start)
    result["versus"] = versus
    result["policies"] = {
        name: {"fulfillment": float(g.fulfillment.mean()), "advantage_vs_arrival_bps": float(g.advantage_bps.mean())}
        for name, g in df.groupby("policy")
    }
    return result
