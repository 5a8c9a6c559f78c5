"""A what-if run's results, arm by arm: fans with and without the agent, their difference, fills and execution."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mars_core.experiments.whatif import WhatIfView, agent_names, load_view
from mars_core.sim.agent import AgentId
from mars_core.sim.config import SimConfig
from mars_core.store import RunDir


def test_the_view_collects_paths_fills_and_execution(paired_run: Path) -> None:
    view = load_view(str(paired_run), tuple(RunDir(paired_run).finished()))
    assert view.finished == view.expected == 4
    fans = view.fans()
    assert set(fans) == {"treated", "baseline"} and fans["treated"].rollouts == 2
    assert len(view.grid) == 61 and np.isfinite(fans["baseline"].q(0.5)).all()
    difference = view.difference()
    assert difference.rollouts == 2 and difference.q(0.5)[0] == 0  # identical until the agent acts
    fills = view.fills_frame()
    assert not fills.empty and set(fills["side"]) == {1} and set(fills["arm"]) == {"treated"}
    execution = view.execution().iloc[0]
    assert execution["name"] == "TWAP 1 · L1-P0.9" and 0 < execution["fulfillment_mean"] <= 1
    assert view.totals()["orders"] == sum(s["orders"] for s in view.summaries) > 0


def test_a_view_grows_one_arm_at_a_time(paired_run: Path) -> None:
    config = SimConfig.from_dict(RunDir.open(paired_run).config)
    view = WhatIfView.start(paired_run, config)
    assert view.difference().rollouts == 0 and view.execution().empty
    view.add_arm(0, "treated")
    assert view.finished == 1 and view.difference().rollouts == 0  # its baseline is not in yet
    view.add_arm(0, "baseline")
    assert view.difference().rollouts == 1
    assert agent_names(config) == {int(AgentId.INJECTED): "Injected order", int(AgentId.EXECUTION): "TWAP 1 (L1-P0.9)"}
