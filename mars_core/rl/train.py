"""Training the execution agent with PPO (stable-baselines3) on the execution environment (paper Sec. 4.4).

The task is the paper's: buy `volume` shares within 5 minutes, controlling the TWAP's PVR and AP interval by
interval, rewarded by eq. 3 (`execution_env.episode_reward`). Episodes start at random seconds of the
training window (10:00-14:25, so every episode ends before the held-out afternoon) of each symbol's day;
the noise traders are fitted on the orders before 14:30. The paper used a simple policy gradient with batches of
8192 steps; PPO is the well-kept, clipped version of it (stable-baselines3), at smaller batches so that a
CPU budget of ~20 minutes holds a few hundred updates.

Every `eval_every` updates the policy is scored against the paper's best TWAP (L1-P0.9) on fixed validation
starts of the training window (common seeds): the learning curve (Fig. 7b analog) in `metrics.jsonl`, with
the rollouts' mean reward. The PPO state is saved then too (`checkpoint.zip`), so `resume` continues a run.
The result is `policy.pt` (the policy alone, what `evaluate.load_policy` reads) and `train_config.json`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from pydantic import Field, field_validator
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

from mars_core.data.schema import LobsterDay
from mars_core.errors import ConfigError, MarsInputError
from mars_core.model.training import append_jsonl
from mars_core.rl.evaluate import AGENT, BASELINE, PAPER_TWAPS, fixed, run_start, trading_day
from mars_core.rl.execution_env import TRAIN_WINDOW, ExecutionEnv, scaled
from mars_core.settings import Seed, Settings, Whole, once
from mars_core.sim.agents.twap import MAX_VOLUME
from mars_core.store import write_json
from mars_core.store.rundir import read_json

VALIDATION_STARTS = ("10:20", "11:10", "12:00", "12:50", "13:40", "14:20")  # in the training window


class RLTrainConfig(Settings):
    """PPO on the execution task; every seed is derived from `seed`."""

    symbols: tuple[str, ...] = ("GOOG", "AMZN")
    date: str = "2012-06-21"
    background: str = Field("noise", description="noise or replay (the lmm background is evaluated, not trained on)")
    volume: Whole = Field(2000, gt=0, le=MAX_VOLUME, description="shares to buy in 5 minutes")
    timesteps: Whole = Field(80_000, gt=0, le=10**8, description="environment steps (intervals) in all")
    envs: Whole = Field(8, ge=1, le=256, description="environments per update, spread over the symbols")
    n_steps: Whole = Field(64, ge=10, le=100_000, description="steps per environment per update")
    batch_size: int = Field(128, ge=8)
    epochs: int = Field(5, ge=1)
    learning_rate: float = Field(3e-4, gt=0)
    ent_coef: float = Field(0.01, ge=0)
    eval_every: int = Field(10, ge=1, description="updates between validation scores and checkpoints")
    eval_seeds: int = Field(2, ge=1, description="seeds per validation start")
    seed: Seed = 0
    data_dir: str | None = None

    _symbols = field_validator("symbols")(lambda values: once(values))


def scaled_env(env: ExecutionEnv) -> gym.Env:
    """`env` with the observations the network takes (`scaled`)."""
    space = gym.spaces.Box(scaled(env.observation_space.low), scaled(env.observation_space.high))
    return gym.wrappers.TransformObservation(env, scaled, space)


def make_envs(cfg: RLTrainConfig, days: dict[str, LobsterDay]) -> VecMonitor:
    """`cfg.envs` training environments, symbols in turn, each seeded from `cfg.seed`."""
    symbols = [cfg.symbols[k % len(cfg.symbols)] for k in range(cfg.envs)]
    venv = DummyVecEnv(
        [
            lambda s=s: scaled_env(ExecutionEnv(days[s], cfg.background, volume=cfg.volume, start_window=TRAIN_WINDOW))
            for s in symbols
        ]
    )
    venv.seed(cfg.seed * 1000)
    return VecMonitor(venv)


def validate(policy: Callable[[np.ndarray], np.ndarray], cfg: RLTrainConfig, days: dict[str, LobsterDay]) -> dict:
    """The policy's mean advantage over L1-P0.9 (bps) and fulfillment on the validation starts (training window)."""
    policies = {AGENT: policy, BASELINE: fixed(PAPER_TWAPS[BASELINE])}
    seeds = [10_000 + k for k in range(cfg.eval_seeds)]
    rows = [
        r
        for day in days.values()
        for start in VALIDATION_STARTS
        for r in run_start(day, start, seeds, cfg.background, policies, {"volume": cfg.volume})
    ]
    agent = [r for r in rows if r["policy"] == AGENT]
    base = [r for r in rows if r["policy"] == BASELINE]
    return {
        "val_advantage_bps": float(np.mean([a["advantage_bps"] - b["advantage_bps"] for a, b in zip(agent, base)])),
        "val_fulfillment": float(np.mean([a["fulfillment"] for a in agent])),
        "val_baseline_fulfillment": float(np.mean([b["fulfillment"] for b in base])),
    }


def train_agent(
    cfg: RLTrainConfig, out: str | Path, resume: bool = False, progress: Callable[[dict], None] | None = None
) -> dict[str, Any]:
    """Train (or resume) into folder `out`; returns the summary (also in `out/summary.json`)."""
    if cfg.background not in ("noise", "replay", "lmm"):
        raise ConfigError(f"unknown background {cfg.background!r}; training runs on noise or replay")
    if cfg.background == "lmm":
        raise ConfigError(
            f"training runs on the noise or replay background, not {cfg.background!r}: on the order model one PPO "
            "update of 512 steps would take minutes of lockstep simulation; score the agent there with "
            "`mars rl evaluate --background lmm`"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt, metrics = out / "checkpoint.zip", out / "metrics.jsonl"
    torch.manual_seed(cfg.seed)
    days = {s: trading_day(s, cfg.date, cfg.data_dir) for s in cfg.symbols}
    venv = make_envs(cfg, days)
    if resume:
        if not ckpt.is_file():
            raise MarsInputError(f"nothing to resume: {ckpt} does not exist")
        saved = RLTrainConfig.from_dict(
            read_json(out / "train_config.json", "training configuration"), str(out / "train_config.json")
        )
        if saved.model_dump(exclude={"timesteps"}) != cfg.model_dump(exclude={"timesteps"}):
            raise MarsInputError(
                f"{out} was trained with other settings (train_config.json); resume with the same ones"
            )
        try:  # stable-baselines3's own zip, written by this command (it unpickles: resume only your own runs)
            model = PPO.load(ckpt, env=venv, device="cpu")
        except Exception as err:  # a truncated or foreign file: say which, not where in stable-baselines3
            why = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise MarsInputError(
                f"{ckpt}: not a readable training checkpoint ({why}); train again without --resume"
            ) from None
        elapsed = read_json(out / "progress.json", "training progress").get("seconds", 0.0)
    else:
        metrics.unlink(missing_ok=True)
        write_json(out / "train_config.json", cfg.model_dump())
        model = PPO(
            "MlpPolicy",
            venv,
            learning_rate=cfg.learning_rate,
            n_steps=cfg.n_steps,
            batch_size=cfg.batch_size,
            n_epochs=cfg.epochs,
            gamma=1.0,
            gae_lambda=0.95,
            ent_coef=cfg.ent_coef,
            policy_kwargs={"net_arch": [64, 64]},
            seed=cfg.seed,
            device="cpu",
            verbose=0,
        )
        elapsed = 0.0
    started = time.perf_counter() - elapsed
    per_update = cfg.n_steps * cfg.envs
    total_updates = -(-cfg.timesteps // per_update)

    def deterministic(obs: np.ndarray) -> np.ndarray:
        return model.policy.predict(scaled(obs), deterministic=True)[0]

    recorded: list[dict] = []

    def record(update: int) -> dict:
        if recorded and recorded[-1]["update"] == update:
            return recorded[-1]
        rewards = [e["r"] for e in model.ep_info_buffer] if model.ep_info_buffer else [float("nan")]
        row = {
            "update": update,
            "timesteps": int(model.num_timesteps),
            "episode_reward": float(np.mean(rewards)),
            **validate(deterministic, cfg, days),
            "seconds": round(time.perf_counter() - started, 1),
        }
        append_jsonl(metrics, row)
        model.save(ckpt)
        write_json(out / "progress.json", {"update": update, "seconds": row["seconds"]})
        if progress:
            progress(row | {"updates": total_updates})
        recorded.append(row)
        return row

    class Every(BaseCallback):
        def _on_rollout_end(self) -> None:
            update = model.num_timesteps // per_update
            if update % cfg.eval_every == 0:
                record(update)

        def _on_step(self) -> bool:
            return True

    if not resume:
        record(0)
    remaining = cfg.timesteps - model.num_timesteps
    if remaining > 0:
        model.learn(remaining, callback=Every(), reset_num_timesteps=False)
    last = record(model.num_timesteps // per_update)
    model.policy.save(out / "policy.pt")
    summary = {
        "updates": last["update"],
        "timesteps": last["timesteps"],
        "seconds": last["seconds"],
        "val_advantage_bps": last["val_advantage_bps"],
        "val_fulfillment": last["val_fulfillment"],
        "policy": str(out / "policy.pt"),
        "train_config": cfg.model_dump(),
    }
    write_json(out / "summary.json", summary)
    return summary
