"""The TWAP agent follows Algorithm 1 (App. H) on a scripted book."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from mars_core.engine import Status
from mars_core.sim.agent import NEVER, Cancel, Fill, Observation, Submit
from mars_core.sim.agents.twap import TWAPAgent, TWAPConfig

S = 1_000_000_000
T0 = 36_000 * S


def obs(ts: int, bids=(1000, 999, 998, 997, 996), asks=(1001, 1002, 1003, 1004, 1005)) -> Observation:
    arr = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
    return Observation(ts, arr(bids), arr([100] * len(bids)), arr(asks), arr([100] * len(asks)), {}, {}, [])


def accept(agent: TWAPAgent, actions, ts: int, first_id: int = 1) -> int:
    """Tell the agent every action was accepted; returns the next free order id."""
    oid = first_id
    for action in actions:
        if isinstance(action, Submit):
            agent.on_result(action, Status.OK, oid, ts)
            oid += 1
        else:
            agent.on_result(action, Status.OK, action.order_id, ts)
    return oid


def test_schedule_has_a_passive_and_an_aggressive_period_per_interval() -> None:
    agent = TWAPAgent(TWAPConfig(volume=1000, pvr=0.5, ap=2), agent_id=3)
    wake = agent.start(T0, np.random.default_rng(0))
    times = []
    while wake != NEVER:
        times.append((wake - T0) / S)
        _, wake = agent.wake(obs(wake))
    assert times[:4] == [0, 25, 30, 55] and times[-1] == 300 and len(times) == 21


def test_passive_order_at_bid1_sized_pvr_times_the_interval_part() -> None:
    agent = TWAPAgent(TWAPConfig(volume=1000, pvr=0.5, ap=2), agent_id=3)
    agent.start(T0, np.random.default_rng(0))
    actions, _ = agent.wake(obs(T0))
    assert actions == [Submit(1, 1000, 50, tag="passive")]


def test_aggressive_period_catches_up_at_the_ap_level_and_frees_volume() -> None:
    agent = TWAPAgent(TWAPConfig(volume=1000, pvr=1.0, ap=2), agent_id=3)
    agent.start(T0, np.random.default_rng(0))
    actions, _ = agent.wake(obs(T0))
    accept(agent, actions, T0)  # 100 resting passively at bid1, nothing filled
    agent.on_fill(Fill(T0 + 5 * S, 1, 1, 1000, 40, False))
    actions, _ = agent.wake(obs(T0 + 25 * S))
    assert actions == [Submit(1, 1002, 60, tag="aggressive")]  # schedule 100 - executed 40, at ask2


def test_passive_volume_not_at_bid1_is_cancelled_next_interval() -> None:
    agent = TWAPAgent(TWAPConfig(volume=1000, pvr=0.5, ap=0), agent_id=3)
    agent.start(T0, np.random.default_rng(0))
    accept(agent, agent.wake(obs(T0))[0], T0)
    assert agent.wake(obs(T0 + 25 * S))[0] == []  # AP 0: the aggressive period does nothing
    actions, _ = agent.wake(obs(T0 + 30 * S, bids=(1003, 1000)))  # the market moved up
    assert actions[0] == Cancel(1)
    assert actions[1] == Submit(1, 1003, 50, tag="passive")  # new passive order, behind schedule by 200


def test_sell_side_mirrors_buy() -> None:
    agent = TWAPAgent(TWAPConfig(side=-1, volume=1000, pvr=0.0, ap=3), agent_id=3)
    agent.start(T0, np.random.default_rng(0))
    assert agent.wake(obs(T0))[0] == []  # PVR 0: no passive order
    actions, _ = agent.wake(obs(T0 + 25 * S))
    assert actions == [Submit(-1, 998, 100, tag="aggressive")]  # at bid3


def test_end_cancels_what_rests_and_reports_fulfillment() -> None:
    agent = TWAPAgent(TWAPConfig(volume=100, pvr=1.0, ap=0, duration_s=30, interval_s=30), agent_id=3)
    wake = agent.start(T0, np.random.default_rng(0))
    accept(agent, agent.wake(obs(wake))[0], T0)
    agent.on_fill(Fill(T0 + S, 1, 1, 1000, 30, False))
    assert agent.wake(obs(T0 + 25 * S))[0] == []
    actions, wake = agent.wake(obs(T0 + 30 * S))
    assert actions == [Cancel(1)] and wake == NEVER
    assert agent.fulfillment == pytest.approx(0.3) and agent.vwap == 1000


@pytest.mark.parametrize(
    "bad",
    [
        dict(volume=0),
        dict(volume=10, pvr=1.5),
        dict(volume=10, ap=6),
        dict(volume=10, side=0),
        dict(volume=10, interval_s=400),
        dict(volume=10, aggressive_s=30),
    ],
)
def test_invalid_configurations_are_rejected(bad: dict) -> None:
    with pytest.raises((ValidationError, ValueError)):
        TWAPConfig(**bad)


def test_names_follow_the_paper() -> None:
    assert TWAPConfig(volume=1, ap=5, pvr=0.9).name == "L5-P0.9"
    assert TWAPConfig(volume=1, ap=1, pvr=0.1).name == "L1-P0.1"
