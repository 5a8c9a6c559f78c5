"""N rollouts from one start, in parallel across cores, optionally paired for what-if analysis.

Rollout r uses the seed `rollout_seed(config.seed, r)`. In paired mode every
rollout runs twice, "treated" (with the injected orders and TWAP agents) and
"baseline" (without), on the same seed: the background draws the same random
numbers in both, so their difference is the effect of the agents, not noise.
Each arm is one task in a process pool; finished arms are skipped on resume.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.data.schema import LobsterDay
from mars_core.errors import ConfigError
from mars_core.sim.agent import Agent, AgentId, BackgroundAgent
from mars_core.sim.bars import BarBuilder
from mars_core.sim.config import SimConfig
from mars_core.sim.injected import InjectedOrders
from mars_core.sim.noise import NoiseBackground, noise_params
from mars_core.sim.replay_background import ReplayBackground
from mars_core.sim.simulator import RunResult, Simulator
from mars_core.sim.twap import TWAPAgent
from mars_core.store import ArmWriter, RunDir

Progress = Callable[[int, int, dict[str, Any]], None]  # (finished, total, that arm's summary)


@dataclass(frozen=True)
class RunSummary:
    run_dir: str
    rollouts: int
    arms: int
    orders: int
    trades: int
    seconds: float

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": self.run_dir,
            "rollouts": self.rollouts,
            "arms": self.arms,
            "orders": self.orders,
            "trades": self.trades,
            "seconds": round(self.seconds, 3),
            "orders_per_s": round(self.orders_per_s, 1),
        }


def rollout_seed(seed: int, rollout: int) -> int:
    return int(np.random.SeedSequence([seed, rollout]).generate_state(1)[0])


def make_background(name: str, day: LobsterDay, noise_fit_until: int | None = None) -> BackgroundAgent:
    """A background by name: "replay", "noise" (fitted on the whole day, or on the orders before
    `noise_fit_until` ns) or "lmm"."""
    if name == "replay":
        return ReplayBackground()
    if name == "noise":
        return NoiseBackground(noise_params(day, until_ts=noise_fit_until))
    if name == "lmm":
        from mars_core.sim.lmm_background import LMMBackground

        return LMMBackground.default()
    raise ConfigError(f"unknown background {name!r}; choose replay, noise or lmm")


def make_agents(config: SimConfig, day: LobsterDay) -> list[Agent]:
    """The treated arm's agents: injected orders (id 2) and TWAP agents (ids 3, 4, ...)."""
    agents: list[Agent] = []
    if config.inject_csv:
        agents.append(InjectedOrders.from_text(config.inject_csv, day.info.tick_size, AgentId.INJECTED))
    for k, twap in enumerate(config.twap):
        agents.append(TWAPAgent(twap, AgentId.EXECUTION + k))
    return agents


def load_config_day(config: SimConfig, data_dir: str | None) -> LobsterDay:
    day = load_day(find_dataset(config.symbol, config.date, resolve_data_dir(data_dir)))
    config.check_window(day.info)
    return day


def run_arm(config: SimConfig, run_path: str, rollout: int, arm: str, data_dir: str | None) -> dict[str, Any]:
    """Simulate one arm of one rollout into the run directory; returns its summary."""
    day = load_config_day(config, data_dir)
    run = RunDir(run_path)
    writer = ArmWriter(run, rollout, arm)
    bars = BarBuilder(day.info.date)

    def sink(table: str, chunk: pd.DataFrame) -> None:
        writer.write(table, chunk)
        bars.add(table, chunk)

    try:
        agents = make_agents(config, day) if arm != "baseline" else []
        sim = make_simulator(
            config, day, make_background(config.background, day, config.noise_fit_until_ts), agents, rollout, sink
        )
        return commit_arm(writer, bars, sim.run(), agents, config, rollout, arm)
    except BaseException:
        writer.abort()
        raise


def make_simulator(
    config: SimConfig,
    day: LobsterDay,
    background: BackgroundAgent,
    agents: list[Agent],
    rollout: int,
    sink: Callable[[str, pd.DataFrame], None],
) -> Simulator:
    """The simulator of one rollout arm, as `config` describes it."""
    return Simulator(
        day,
        config.start_ts,
        config.end_ts,
        background,
        agents,
        seed=rollout_seed(config.seed, rollout),
        sink=sink,
        depth=config.depth,
        snapshot_levels=config.snapshot_levels,
        snapshot_interval_ns=config.snapshot_interval_ms * 1_000_000,
        latency_ns=int(config.latency_ms * 1_000_000),
    )


def commit_arm(
    writer: ArmWriter,
    bars: BarBuilder,
    result: RunResult,
    agents: list[Agent],
    config: SimConfig,
    rollout: int,
    arm: str,
) -> dict[str, Any]:
    """Write a finished arm's bars and agent records, then commit it; returns its summary."""
    writer.write("bars", bars.bars())
    for table, key in (("agent_orders", "orders"), ("agent_fills", "fills")):
        frames = [pd.DataFrame(rec[key]).assign(agent=aid) for aid, rec in result.agent_records.items() if rec[key]]
        if frames:
            writer.write(table, pd.concat(frames, ignore_index=True))
    summary = {
        "rollout": rollout,
        "arm": arm,
        "seed": rollout_seed(config.seed, rollout),
        "orders": result.orders,
        "trades": result.trades,
        "seconds": round(result.seconds, 4),
        "agents": {str(a.agent_id): agent_summary(a) for a in agents},
    }
    writer.commit(summary)
    return summary


def agent_summary(agent: Agent) -> dict[str, Any]:
    if isinstance(agent, TWAPAgent):
        return {
            "type": "twap",
            "name": agent.config.name,
            "executed": agent.executed,
            "volume": agent.config.volume,
            "fulfillment": round(agent.fulfillment, 6),
            "vwap": agent.vwap,
        }
    return {"type": type(agent).__name__}


Task = tuple[SimConfig, str, int, str]  # (config, run directory, rollout, arm)


def run_simulation(
    config: SimConfig,
    out: str | Path,
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Run (or resume) every rollout arm of `config` into the run directory `out`."""
    day = load_config_day(config, data_dir)  # validate before creating anything
    if config.background == "lmm":
        from mars_core.sim.lmm_background import run_lmm_rollouts

        return run_lmm_rollouts(config, out, day, progress, workers, data_dir)
    run = RunDir.create(out, config.model_dump(mode="json"))
    tasks = pending_tasks(config, run)
    started = time.perf_counter()
    total = config.rollouts * len(config.arms)
    run_tasks(tasks, data_dir, workers, progress, done_before=total - len(tasks), total=total)
    return finalize(run, config, time.perf_counter() - started)


def pending_tasks(config: SimConfig, run: RunDir) -> list[Task]:
    """The arms of `config` not yet finished in `run`."""
    return [
        (config, str(run.path), r, arm)
        for r in range(config.rollouts)
        for arm in config.arms
        if not run.is_done(r, arm)
    ]


def run_tasks(
    tasks: list[Task],
    data_dir: str | None,
    workers: int | None = None,
    progress: Progress | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> list[dict[str, Any]]:
    """Run rollout arms in a process pool (in this process when one worker); returns their summaries."""
    total = done_before + len(tasks) if total is None else total
    finished, summaries = done_before, []
    workers = min(workers or os.cpu_count() or 1, max(len(tasks), 1))
    if workers <= 1:
        for config, path, r, arm in tasks:
            summaries.append(run_arm(config, path, r, arm, data_dir))
            finished += 1
            report_progress(progress, finished, total, summaries[-1])
        return summaries
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        pending = {pool.submit(run_arm, config, path, r, arm, data_dir) for config, path, r, arm in tasks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                summaries.append(future.result())
                finished += 1
                report_progress(progress, finished, total, summaries[-1])
    return summaries


def finalize(run: RunDir, config: SimConfig, seconds: float) -> RunSummary:
    """Write summary.json from every finished arm."""
    arms = [run.arm_summary(r, a) for r, a in run.finished()]
    summary = RunSummary(
        run_dir=str(run.path),
        rollouts=config.rollouts,
        arms=len(arms),
        orders=sum(a["orders"] for a in arms),
        trades=sum(a["trades"] for a in arms),
        seconds=seconds,
    )
    run.write_summary(summary.to_dict() | {"arms_detail": arms})
    return summary


def report_progress(progress: Progress | None, finished: int, total: int, summary: dict[str, Any]) -> None:
    if progress is not None:
        progress(finished, total, summary)
