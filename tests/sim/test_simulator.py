"""The simulator as such: warm start, event order, what agents see and get, latency, stepping and seeded draws."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from mars_core.data import LobsterDay
from mars_core.data.schema import NS_PER_SECOND
from mars_core.engine import OrderEvent, OrderKind, Status
from mars_core.sim.agent import NEVER, AgentId, Fill, Observation, Submit
from mars_core.sim.agents.noise import NoiseBackground, noise_params
from mars_core.sim.simulator import AGENT_ID_SPACE, Simulator

START = 11 * 3600 * NS_PER_SECOND


class Quiet:
    """A background that sends nothing."""

    name, agent_id, visible_only = "quiet", AgentId.BACKGROUND, False

    def start(self, sim: Simulator, rng: np.random.Generator) -> None:
        pass

    def next_ts(self) -> int:
        return NEVER

    def act(self, sim: Simulator) -> None:
        raise AssertionError("never called")


class Buyer:
    """Wakes every `every` ns from the start: an IOC buy of `qty` up to the 5th ask, then a bid one tick below the best."""

    def __init__(self, qty: int = 100, every: int = 10 * NS_PER_SECOND, wakes: int = 3) -> None:
        self.agent_id, self.qty, self.every, self.left = AgentId.EXECUTION, qty, every, wakes
        self.seen: list[Observation] = []
        self.results: list[tuple[int, int]] = []  # (status, ts)
        self.fills: list[Fill] = []

    def start(self, ts: int, rng: np.random.Generator) -> int:
        return ts + self.every

    def wake(self, obs: Observation) -> tuple[list, int]:
        self.seen.append(obs)
        self.left -= 1
        actions = [Submit(1, obs.level_price(-1, 5), self.qty, OrderKind.IOC), Submit(1, obs.best_bid - 100, 200)]
        return actions, (obs.ts + self.every if self.left else NEVER)

    def on_result(self, action, status: int, order_id: int, ts: int) -> None:  # noqa: ANN001
        self.results.append((status, ts))

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def records(self) -> dict[str, list]:
        return {"orders": [], "fills": []}


def recording() -> tuple[dict[str, list[pd.DataFrame]], object]:
    tables: dict[str, list[pd.DataFrame]] = defaultdict(list)
    return tables, lambda table, chunk: tables[table].append(chunk)


def test_the_warm_start_hands_over_lobsters_book_at_the_start(goog_day: LobsterDay) -> None:
    sim = Simulator(goog_day, START, START + NS_PER_SECOND, Quiet())
    last = int(np.searchsorted(goog_day.events.ts, START, side="left")) - 1
    top = np.zeros(4 * goog_day.info.levels, dtype=np.int64)
    sim.book.top(goog_day.info.levels, top)
    assert (top == goog_day.book[last]).all()
    sim.book.check_integrity()


class QuietVisible(Quiet):
    """`Quiet`, starting from the data's visible levels only (as the order model does)."""

    visible_only = True


def test_a_visible_only_background_starts_from_lobsters_visible_levels_alone(amzn_day: LobsterDay) -> None:
    levels = amzn_day.info.levels
    full = Simulator(amzn_day, START, START + NS_PER_SECOND, Quiet())
    visible = Simulator(amzn_day, START, START + NS_PER_SECOND, QuietVisible())
    for side in (1, -1):
        prices = full.book.depth(side, -1)[0]
        assert len(prices) > levels  # the replay keeps levels that left AMZN's 5-level window
        kept_prices, kept = visible.book.depth(side, -1)
        assert np.array_equal(kept_prices, prices[:levels]) and np.array_equal(kept, full.book.depth(side, levels)[1])
    assert visible.recorder.counts["orders"] == 0  # the deletions are the warm start's, not the run's
    visible.run()
    visible.book.check_integrity()


def test_agents_wake_observe_trade_and_get_their_fills(goog_day: LobsterDay) -> None:
    tables, sink = recording()
    buyer = Buyer()
    sim = Simulator(goog_day, START, START + 40 * NS_PER_SECOND, Quiet(), [buyer], sink=sink, depth=5)
    result = sim.run()
    assert [obs.ts for obs in buyer.seen] == [START + k * 10 * NS_PER_SECOND for k in (1, 2, 3)]
    first = buyer.seen[0]
    assert len(first.bid_prices) == 5 and first.best_bid < first.best_ask and first.open_orders == {}
    assert buyer.seen[1].open_orders  # the passive bid of the first wake-up rests
    assert [s for s, _ in buyer.results] == [Status.OK] * 6
    assert buyer.fills and all(f.aggressive and f.side == 1 for f in buyer.fills)
    assert sum(f.qty for f in buyer.fills) == 300  # three IOC buys of 100 through the asks
    orders = pd.concat(tables["orders"])
    mine = orders[orders.agent == AgentId.EXECUTION]
    assert len(mine) == 6 and (mine.event == OrderEvent.SUBMIT).all()
    assert set(mine.order_id.to_numpy() >> AGENT_ID_SPACE) == {AgentId.EXECUTION + 1}  # its own id range
    assert result.orders == len(orders) and result.trades == sum(len(t) for t in tables["trades"]) > 0


def test_latency_delays_an_agents_orders(goog_day: LobsterDay) -> None:
    latency = 5_000_000
    buyer = Buyer(wakes=1)
    Simulator(goog_day, START, START + 20 * NS_PER_SECOND, Quiet(), [buyer], latency_ns=latency).run()
    assert [ts for _, ts in buyer.results] == [START + 10 * NS_PER_SECOND + latency] * 2


def test_advancing_step_by_step_records_what_one_run_records(goog_day: LobsterDay) -> None:
    params = noise_params(goog_day)
    end = START + 30 * NS_PER_SECOND
    whole, sink = recording()
    Simulator(goog_day, START, end, NoiseBackground(params), [Buyer()], seed=4, sink=sink).run()
    stepped, sink = recording()
    sim = Simulator(goog_day, START, end, NoiseBackground(params), [Buyer()], seed=4, sink=sink)
    for t in range(START, end, 7 * NS_PER_SECOND):  # an RL environment's steps
        sim.advance(t)
    sim.advance(end)
    sim.finish(0.0)
    for table in ("orders", "trades"):  # (book snapshots are also taken at each step's start)
        pd.testing.assert_frame_equal(
            pd.concat(whole[table], ignore_index=True), pd.concat(stepped[table], ignore_index=True)
        )


def test_the_background_draws_do_not_depend_on_the_agents(goog_day: LobsterDay) -> None:
    """Common random numbers: with and without an agent, the noise traders draw the same numbers."""
    params = noise_params(goog_day)
    end = START + 20 * NS_PER_SECOND
    alone, with_agent = NoiseBackground(params), NoiseBackground(params)
    Simulator(goog_day, START, end, alone, seed=9).run()
    Simulator(goog_day, START, end, with_agent, [Buyer()], seed=9).run()
    assert alone.rng.random() == with_agent.rng.random()
