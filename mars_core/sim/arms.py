"""One rollout arm of a run: its seed, its agents, its simulator, and its output to the store.

Rollout r uses the seed `rollout_seed(config.seed, r)`. In paired mode every rollout
runs twice, "treated" (with the injected orders and TWAP agents) and "baseline"
(without), on the same seed: the background draws the same random numbers in both,
so their difference is the effect of the agents, not noise. Both runners (an arm per
process, `runner`; arms in lockstep, `lockstep`) build and commit arms with these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.data.schema import LobsterDay
from mars_core.sim.agent import Agent, AgentId, BackgroundAgent
from mars_core.sim.agents.injected import InjectedOrders
from mars_core.sim.agents.twap import TWAPAgent
from mars_core.sim.bars import BarBuilder
from mars_core.sim.config import SimConfig
from mars_core.sim.simulator import RunResult, Simulator
from mars_core.store import ArmWriter, RunDir

Progress = Callable[[int, int, dict[str, Any]], None]  # (finished, total, that arm's summary)


def rollout_seed(seed: int, rollout: int) -> int:
    return int(np.random.SeedSequence([seed, rollout]).generate_state(1)[0])


def report_progress(progress: Progress | None, finished: int, total: int, summary: dict[str, Any]) -> None:
    if progress is not None:
        progress(finished, total, summary)


def load_config_day(config: SimConfig, data_dir: str | None) -> LobsterDay:
    """The run's day, once `config` is checked against it (window, injected orders)."""
    day = load_day(find_dataset(config.symbol, config.date, resolve_data_dir(data_dir)))
    config.check_day(day.info)
    return day


def make_agents(config: SimConfig, day: LobsterDay, arm: str) -> list[Agent]:
    """The arm's agents: none in a baseline; else injected orders (id 2) and TWAP agents (ids 3, 4, ...)."""
    agents: list[Agent] = []
    if arm == "baseline":
        return agents
    if config.inject_csv:
        agents.append(InjectedOrders.from_text(config.inject_csv, day.info.tick_size, AgentId.INJECTED))
    for k, twap in enumerate(config.twap):
        agents.append(TWAPAgent(twap, AgentId.EXECUTION + k))
    return agents


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


class ArmOutput:
    """The sink of one arm's recorder: tables stream to the store, minute bars build up as chunks pass."""

    def __init__(self, run: RunDir, rollout: int, arm: str, day: LobsterDay) -> None:
        self.rollout, self.arm = rollout, arm
        self.writer = ArmWriter(run, rollout, arm)
        self.bars = BarBuilder(day.info.date)

    def __call__(self, table: str, chunk: pd.DataFrame) -> None:
        self.writer.write(table, chunk)
        self.bars.add(table, chunk)

    def commit(self, result: RunResult, agents: list[Agent], config: SimConfig) -> dict[str, Any]:
        """Write the finished arm's bars and agent records, then commit it; returns its summary."""
        self.writer.write("bars", self.bars.bars())
        for table, key in (("agent_orders", "orders"), ("agent_fills", "fills")):
            frames = [pd.DataFrame(rec[key]).assign(agent=aid) for aid, rec in result.agent_records.items() if rec[key]]
            if frames:
                self.writer.write(table, pd.concat(frames, ignore_index=True))
        summary = {
            "rollout": self.rollout,
            "arm": self.arm,
            "seed": rollout_seed(config.seed, self.rollout),
            "orders": result.orders,
            "trades": result.trades,
            "seconds": round(result.seconds, 4),
            "agents": {str(a.agent_id): agent_summary(a) for a in agents},
        }
        self.writer.commit(summary)
        return summary

    def abort(self) -> None:
        self.writer.abort()


Shipped = tuple[str, int, str, dict[str, Any], dict[str, bytes]]  # (run directory, rollout, arm, summary, files)


def land_arm(run_path: str, rollout: int, arm: str, summary: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    """Commit an arm a remote worker ran and shipped back (`RunDir.arm_files`) into its run directory here; returns
    its summary."""
    RunDir(run_path).put_arm(rollout, arm, files)
    return summary


def agent_summary(agent: Agent) -> dict[str, Any]:
    if isinstance(agent, TWAPAgent):
        return {
            "type": "twap",
            "name": agent.config.name,
            "executed": agent.executed,
            "volume": agent.config.volume,
            "fulfillment": round(agent.fulfillment, 6),
            "vwap": agent.vwap if agent.executed else None,
            **({} if agent.executed else {"vwap_reason": "nothing executed"}),
        }
    return {"type": type(agent).__name__}
