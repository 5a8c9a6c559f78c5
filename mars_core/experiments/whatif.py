"""A what-if run's results, arm by arm: mid fans with and without the agents, their difference, execution.

A run with agents (TWAP, injected orders) pairs every rollout with a baseline on the same
seed, so the difference of the two mid paths is the agents' effect (`mars_core.sim.runner`).
`WhatIfView` collects a run's finished arms one at a time (live, as they finish, or when a
run is reopened) and reduces them to what the Simulate page draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import rollout_fans
from analysis.charts import market
from mars_core.engine import OrderEvent
from mars_core.sim.agent import AgentId
from mars_core.sim.config import SimConfig
from mars_core.store import RunDir


def execution_targets(config: SimConfig) -> list[rollout_fans.ExecutionTarget]:
    """The run's TWAP agents as execution targets (agent ids as `make_agents` numbers them)."""
    return [
        rollout_fans.ExecutionTarget(AgentId.EXECUTION + k, f"TWAP {k + 1} · {t.name}", t.side, t.volume)
        for k, t in enumerate(config.twap)
    ]


def agent_names(config: SimConfig) -> dict[int, str]:
    """Display names of the run's own agents by agent id (injected orders, TWAP agents)."""
    names = {int(AgentId.INJECTED): "Injected order"}
    names.update({int(AgentId.EXECUTION) + k: f"TWAP {k + 1} ({t.name})" for k, t in enumerate(config.twap)})
    return names


@dataclass
class WhatIfView:
    """A run's results as the Simulate page draws them, collected one finished rollout arm at a time."""

    path: str
    config: SimConfig
    grid: np.ndarray  # (T,) common time grid of the mid paths, ns since midnight
    mids: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)  # arm -> rollout -> (T,) mid
    arrival: dict[int, float] = field(default_factory=dict)  # rollout -> arrival mid (price units)
    bars: list[pd.DataFrame] = field(default_factory=list)
    fills: list[pd.DataFrame] = field(default_factory=list)
    summaries: list[dict] = field(default_factory=list)

    @classmethod
    def start(cls, path: str | Path, config: SimConfig) -> WhatIfView:
        grid = market.time_grid(config.start_ts, config.end_ts, max_points=600)
        return cls(str(path), config, grid)

    @property
    def expected(self) -> int:
        return self.config.rollouts * len(self.config.arms)

    @property
    def finished(self) -> int:
        return len(self.summaries)

    def add_arm(self, rollout: int, arm: str) -> None:
        """Read one finished arm's tables from the run directory."""
        run = RunDir(self.path)

        def read(table: str, **options: object) -> pd.DataFrame:
            return run.read(rollout, arm, table, **options)

        self.mids.setdefault(arm, {})[rollout] = rollout_fans.mid_on_grid(
            read("book", columns=["ts", "ask_price_1", "ask_size_1", "bid_price_1", "bid_size_1"]), self.grid
        )
        if rollout not in self.arrival:
            self.arrival[rollout] = rollout_fans.arrival_mid(read("start_book", columns=["side", "price"]))
        bars = read("bars", columns=["minute", "spread", "volume"])
        if not bars.empty:
            self.bars.append(bars.assign(rollout=rollout, arm=arm))
        fills = read("agent_fills")
        if not fills.empty:
            sides = read(
                "orders",
                columns=["order_id", "side"],
                filters=[("agent", ">=", int(AgentId.INJECTED)), ("event", "=", int(OrderEvent.SUBMIT))],
            )
            fills = fills.merge(sides.drop_duplicates("order_id"), on="order_id", how="left")
            self.fills.append(fills.assign(rollout=rollout, arm=arm))
        self.summaries.append(run.arm_summary(rollout, arm))

    # -- reductions for the figures and metrics --
    def fans(self) -> dict[str, rollout_fans.Fan]:
        return {
            arm: rollout_fans.fan(np.stack([paths[r] for r in sorted(paths)]))
            for arm, paths in self.mids.items()
            if paths
        }

    def paired_rollouts(self) -> list[int]:
        treated, baseline = self.mids.get("treated", {}), self.mids.get("baseline", {})
        return sorted(set(treated) & set(baseline))

    def difference(self) -> rollout_fans.Fan | None:
        """Fan of treated - baseline (bps) over the rollouts with both arms finished; None when unpaired."""
        if self.config.arms != ("treated", "baseline"):
            return None
        both = self.paired_rollouts()
        if not both:
            return rollout_fans.fan(np.empty((0, len(self.grid))))
        diff = rollout_fans.paired_difference_bps(
            np.stack([self.mids["treated"][r] for r in both]),
            np.stack([self.mids["baseline"][r] for r in both]),
            np.array([self.arrival[r] for r in both]),
        )
        return rollout_fans.fan(diff)

    def minute_stats(self) -> pd.DataFrame:
        return rollout_fans.minute_stats(pd.concat(self.bars, ignore_index=True) if self.bars else pd.DataFrame())

    def fills_frame(self) -> pd.DataFrame:
        return (
            pd.concat(self.fills, ignore_index=True).sort_values("ts", kind="stable") if self.fills else pd.DataFrame()
        )

    def execution(self) -> pd.DataFrame:
        """Per TWAP agent: fulfillment and VWAP vs arrival over the finished treated arms."""
        targets = execution_targets(self.config)
        treated_arm = "treated" if "treated" in self.config.arms else "main"
        rollouts = sorted(self.mids.get(treated_arm, {}))
        if not targets or not rollouts:
            return pd.DataFrame()
        fills = self.fills_frame()
        if not fills.empty:
            fills = fills[fills["arm"] == treated_arm]
        return rollout_fans.execution_summary(fills, targets, pd.Series(self.arrival), rollouts)

    def totals(self) -> dict[str, float]:
        """Orders and trades over the finished arms, and the engine's simulated orders per second."""
        orders = sum(s["orders"] for s in self.summaries)
        seconds = sum(s["seconds"] for s in self.summaries)
        return {
            "orders": orders,
            "trades": sum(s["trades"] for s in self.summaries),
            "orders_per_s": orders / seconds if seconds > 0 else float("nan"),
        }


def load_view(path: str | Path, finished: tuple[tuple[int, str], ...]) -> WhatIfView:
    """A run's results over the given finished arms."""
    run = RunDir.open(path)
    view = WhatIfView.start(path, SimConfig.from_dict(run.config, where=f"{path}/config.json"))
    for rollout, arm in finished:
        view.add_arm(rollout, arm)
    return view
