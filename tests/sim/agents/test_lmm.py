"""The generative background: the shipped order model continues the market in closed loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mars_core.data import LobsterDay
from mars_core.engine import OrderKind, parse_clock
from mars_core.errors import ConfigError
from mars_core.model.checkpoint import cached_order_model
from mars_core.model.vocab import CTX_SIZES, N_CTX, N_LOB
from mars_core.sim.agents.lmm import LMMBackground, LockstepGroup, history_context
from mars_core.sim.agents.twap import TWAPConfig
from mars_core.sim.arms import rollout_seed
from mars_core.sim.config import SimConfig
from mars_core.sim.runner import run_simulation
from mars_core.sim.simulator import Simulator
from mars_core.store import RunDir


def config(**overrides) -> SimConfig:
    base = dict(symbol="GOOG", date="2012-06-21", start="14:40", minutes=1, rollouts=2, background="lmm", seed=5)
    return SimConfig(**(base | overrides))


def test_history_context_is_the_last_window_of_real_orders(goog_day: LobsterDay) -> None:
    model = cached_order_model()
    tokens, lob, mask, ctx = history_context(goog_day, parse_clock("14:40"), model)
    window = model.model.config.window
    assert (
        tokens.shape == (window,)
        and lob.shape == (window, N_LOB)
        and mask.shape == (window, N_LOB)
        and ctx.shape == (window, N_CTX)
    )
    assert tokens.min() >= 0 and tokens.max() < 49_152 and mask.all()  # GOOG has 10 levels: nothing masked
    assert (ctx >= 0).all() and (ctx < np.array(CTX_SIZES)).all()  # every flow-context column within its vocabulary
    assert ctx[:, 2].max() > 0  # 14:40 follows five busy minutes: a nonzero rate


def test_lmm_rollouts_generate_orders_that_the_exchange_matches(tmp_path: Path, data_dir: Path) -> None:
    summary = run_simulation(config(), tmp_path / "lmm", str(data_dir), workers=1)
    run = RunDir(summary.run_dir)
    orders, trades, bars = run.table("orders"), run.table("trades"), run.table("bars")
    generated = orders[(orders.agent == 1) & (orders.status == 0)]
    assert len(generated) > 200  # the model sends hundreds of orders a minute, like the real stock
    assert set(generated["event"]) >= {1, 3}  # submissions and cancels
    assert set(generated.loc[generated.event == 1, "kind"]) == {
        OrderKind.LIMIT,
        OrderKind.IOC,
    }  # marketable ones are IOC
    # as in the real flow, a few percent of the orders trade (plain limits resting through the spread made it 4x more)
    assert len(trades) > 0 and trades["taker_agent"].eq(1).sum() < 0.15 * len(generated)
    assert bars["spread"].notna().all()
    for r in range(2):
        book = run.table("book", r, "main")
        assert (book["ask_price_1"] > book["bid_price_1"]).all()  # never crossed


def test_same_seed_same_rollout_and_paired_arms_agree_until_the_agent_acts(tmp_path: Path, data_dir: Path) -> None:
    twap = TWAPConfig(
        volume=600, pvr=0.0, ap=3, duration_s=60, interval_s=30
    )  # first order at the aggressive period, 25 s in
    paired = config(rollouts=1, twap=(twap,))
    a = RunDir(run_simulation(paired, tmp_path / "a", str(data_dir), workers=1).run_dir)
    b = RunDir(run_simulation(paired, tmp_path / "b", str(data_dir), workers=2).run_dir)
    pd.testing.assert_frame_equal(a.table("orders"), b.table("orders"))  # deterministic, in or out of process
    treated, baseline = (a.table("orders", 0, arm).drop(columns="arm") for arm in ("treated", "baseline"))
    first_agent = treated.loc[treated.agent == 3, "ts"].min()
    before = lambda t: t[t.ts < first_agent].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(before(treated), before(baseline))  # common random numbers
    assert first_agent >= parse_clock("14:40:25")
    after_t, after_b = treated[treated.ts >= first_agent], baseline[baseline.ts >= first_agent]
    assert (
        not after_t[after_t.agent == 1]
        .reset_index(drop=True)
        .equals(after_b[after_b.agent == 1].reset_index(drop=True))
    )


def test_an_injected_order_is_fed_to_the_model(goog_day: LobsterDay) -> None:
    """The model's sequence holds the agent's order: the group queues its token and then feeds it."""
    from mars_core.sim.agent import Submit

    model = cached_order_model()
    start = parse_clock("14:40")
    sim = Simulator(goog_day, start, start + 60 * 10**9, LMMBackground(), seed=rollout_seed(1, 0))
    group = LockstepGroup([sim], [1], model, history_context(goog_day, start, model))

    class Buyer:
        """Buys 300 shares at the ask 5 s in."""

        agent_id = 2

        def start(self, ts: int, rng: np.random.Generator) -> int:
            return ts + 5 * 10**9

        def wake(self, obs):
            return [Submit(1, obs.best_ask, 300)], 2**63 - 1

        def on_result(self, *args) -> None:
            pass

        def on_fill(self, fill) -> None:
            pass

        def records(self) -> dict:
            return {"orders": {}, "fills": {}}

    sim.add_agent(Buyer(), np.random.default_rng(0))
    fed = []
    real_feed = group.sampler.feed
    group.sampler.feed = lambda tokens, lob, mid: (fed.append(int(tokens[0])), real_feed(tokens, lob, mid))  # type: ignore[method-assign]
    while sim.clock < start + 10 * 10**9:
        group.step()
    expected = model.tokenizer.encode_order(False, 1, 0, 300, 0, 0, 0, 100)  # type 0 (bid) crossing, 300 shares
    assert any(t // (32 * 16) == expected // (32 * 16) for t in fed)  # same type, price slot and volume slot


@pytest.mark.parametrize(
    ("field", "value"), [("lmm_temperature", 0), ("lmm_temperature", 2.5), ("lmm_top_p", 0), ("lmm_top_p", 1.1)]
)
def test_decoding_config_rejects_bad_values_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"SimConfig: {field}: Input should be"):
        SimConfig.from_dict({"symbol": "GOOG", "date": "2012-06-21", field: value})


def test_lmm_top_p_changes_the_flow_and_is_deterministic_by_seed(tmp_path: Path, data_dir: Path) -> None:
    def background_orders(name: str, **decoding) -> pd.DataFrame:
        run = RunDir(run_simulation(config(rollouts=1, **decoding), tmp_path / name, str(data_dir), workers=1).run_dir)
        orders = run.table("orders")
        return orders[orders.agent == 1].reset_index(drop=True)

    default, nucleus, again = (
        background_orders("default"),
        background_orders("a", lmm_top_p=0.8),
        background_orders("b", lmm_top_p=0.8),
    )
    pd.testing.assert_frame_equal(nucleus, again)
    assert not nucleus[["ts", "side", "price", "qty"]].equals(default[["ts", "side", "price", "qty"]])
    # the nucleus drops each factor's unlikely tail: fewer distinct sizes than the full distribution draws
    assert nucleus.qty.nunique() < default.qty.nunique()


def test_a_generating_group_reports_how_far_its_rollouts_got(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mars_core.sim import lockstep

    seen: list[dict] = []
    report = lockstep.report_generation

    def record(run: RunDir, *args: object) -> None:
        report(run, *args)
        seen.append(lockstep.generation_progress(run.path))

    monkeypatch.setattr(lockstep, "REPORT_EVERY_S", 0.0)  # a report after every step
    monkeypatch.setattr(lockstep, "report_generation", record)
    summary = run_simulation(config(rollouts=2, minutes=0.5), tmp_path / "lmm", str(data_dir), workers=1)
    shares = [tuple(s["main"]["rollouts"].values()) for s in seen]
    assert len(shares) > 10 and all(len(s) == 2 for s in shares)
    assert all(0.0 <= x <= 1.0 for s in shares for x in s)
    assert all(a <= b for before, after in zip(shares, shares[1:]) for a, b in zip(before, after))  # only forward
    assert min(shares[-1]) > 0.9 and seen[-1]["main"]["orders"] > 50
    assert lockstep.generation_progress(summary.run_dir) == {}  # the file goes once the rollouts are committed


def test_an_action_the_model_does_not_see_never_puts_its_next_order_in_the_past(goog_day: LobsterDay) -> None:
    """A refused agent action (a TWAP's cancel of a slice just filled) moves the exchange's clock past the rollout's
    last order without reaching the model; the rollout's next orders go no earlier than that clock."""
    model = cached_order_model()
    start = parse_clock("14:40")
    sim = Simulator(goog_day, start, start + 60 * 10**9, LMMBackground(), seed=rollout_seed(1, 0))
    group = LockstepGroup([sim], [1], model, history_context(goog_day, start, model))
    for _ in range(20):
        group.step()
    refused_at = group.last_ts[0] + 30 * 10**9
    assert sim.exchange.cancel(refused_at, 12345) != 0  # no such order: refused, but the clock is at refused_at
    times = []
    real_submit, real_cancel = sim.exchange.submit, sim.exchange.cancel
    sim.exchange.submit = lambda ts, *a: (times.append(ts), real_submit(ts, *a))[1]  # type: ignore[method-assign]
    sim.exchange.cancel = lambda ts, *a: (times.append(ts), real_cancel(ts, *a))[1]  # type: ignore[method-assign]
    for _ in range(20):
        group.step()
    assert times and min(times) >= refused_at and times == sorted(times)


def test_a_book_emptied_on_both_sides_comes_back(tmp_path: Path, data_dir: Path) -> None:
    """AMZN 11:15, rollout 0 of seed 0: its cancels empty the book at about 1.9 minutes. Before the book was quoted
    at the last two-sided quotes, nothing could be placed in it any more and the market stayed dead for the
    rest of the run (993 orders in 30 minutes against 9,000-11,000 for its sibling rollouts)."""
    summary = run_simulation(
        config(symbol="AMZN", start="11:15", minutes=4, rollouts=1, seed=0), tmp_path / "amzn", str(data_dir), workers=1
    )
    run = RunDir(summary.run_dir)
    book, orders = run.table("book", 0, "main"), run.table("orders", 0, "main")
    start = parse_clock("11:15")
    assert ((book.bid_size_1 > 0) | (book.ask_size_1 > 0)).all()  # never empty on both sides at a snapshot
    late = orders[(orders.agent == 1) & (orders.ts >= start + 3 * 60 * 10**9)]
    assert len(late) > 100  # the last minute trades on: hundreds of orders, as in the minutes before
