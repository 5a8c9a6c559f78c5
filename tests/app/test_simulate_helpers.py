"""The Simulate page's helpers (pages/_sim_ui.py): form validation, run directories, results, downloads."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `pages` is the app's folder, not an installed package
    sys.path.insert(0, str(REPO))

from mars_core.data import find_dataset  # noqa: E402
from mars_core.data.schema import NS_PER_SECOND, DatasetInfo  # noqa: E402
from mars_core.errors import ConfigError, MarsInputError  # noqa: E402
from mars_core.sim.agents.injected import InjectedOrders  # noqa: E402
from pages import _sim_ui  # noqa: E402

T10 = 36_000 * NS_PER_SECOND
TICK = 100


@pytest.fixture(scope="module")
def goog(data_dir: Path) -> DatasetInfo:
    return find_dataset("GOOG", "2012-06-21", data_dir)


def form(info: DatasetInfo, **changes: object) -> dict:
    values = {
        "info": info,
        "start": dt.time(10, 0),
        "minutes": 1,
        "rollouts": 2,
        "background": "noise",
        "seed": 0,
        "paired": True,
        "twaps": [],
        "orders": _sim_ui.empty_orders(),
        "model_found": False,
    }
    return values | changes


def orders(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["time", "action", "side", "price", "qty", "client_id"])
    return frame.astype(_sim_ui.empty_orders().dtypes.to_dict())


# ---- the injected-orders table -------------------------------------------------------------------


def test_orders_table_becomes_csv_that_the_simulator_reads() -> None:
    table = orders(
        ("10:00:30", "limit", "buy", 580.5, 100, "a"), ("10:00:40", "cancel", None, None, None, "a"), (None,) * 6
    )
    text = _sim_ui.orders_csv(table, TICK, T10, T10 + 60 * NS_PER_SECOND)
    parsed = InjectedOrders.from_text(text, TICK).table
    assert parsed["price"].tolist() == [5_805_000, 0] and parsed["qty"].tolist() == [100, 0]
    assert parsed["target"].tolist() == ["", "a"]


def test_an_empty_table_means_no_injected_orders() -> None:
    assert _sim_ui.orders_csv(_sim_ui.empty_orders(), TICK, T10, T10 + 1) is None
    assert _sim_ui.orders_csv(orders((None,) * 6), TICK, T10, T10 + 1) is None
    assert not _sim_ui.has_orders(orders((None,) * 6)) and _sim_ui.has_orders(
        orders(("10:00", None, None, None, None, None))
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("10:00:30", "limit", "buy", 580.5, -5, "")], "Injected orders, row 1: qty must be positive, was -5"),
        (
            [("10:00:30", "market", "buy", None, 10, ""), ("10:00:31", "limit", "sell", 580.505, 10, "")],
            "Injected orders, row 2: price 580.505 is not on the tick grid of $0.01",
        ),
        ([("09:59:00", "market", "buy", None, 10, "")], "row 1: time 09:59:00 is before the run starts at 10:00:00"),
        ([("10:01:00", "market", "buy", None, 10, "")], "row 1: time 10:01:00 is not before the run ends at 10:01:00"),
        ([(None,) * 6, ("10:00:30", "market", "buy", None, 10, "")], "row 1 is empty"),
        ([("10:00:30", "cancel", None, None, None, "nope")], "row 1: cancel needs the client_id of an earlier order"),
    ],
)
def test_bad_orders_are_reported_with_the_table_row(rows: list[tuple], message: str) -> None:
    with pytest.raises(MarsInputError, match=message.replace("$", r"\$").replace("(", r"\(")):
        _sim_ui.orders_csv(orders(*rows), TICK, T10, T10 + 60 * NS_PER_SECOND)


def test_an_uploaded_csv_fills_the_table_and_reports_unreadable_cells_by_file_row() -> None:
    table = _sim_ui.orders_from_csv(
        b"time,action,side,price,qty,client_id\n10:00:30,LIMIT,Buy,580.5,100,a\n10:00:40,market,sell,,5,\n", "o.csv"
    )
    assert table["action"].tolist() == ["limit", "market"] and table["side"].tolist() == ["buy", "sell"]
    assert table["price"].iloc[0] == 580.5 and pd.isna(table["price"].iloc[1]) and table["qty"].tolist() == [100, 5]
    with pytest.raises(MarsInputError, match=r"o.csv, row 3: price 'abc' is not a number"):
        _sim_ui.orders_from_csv(b"time,action,side,price,qty\n10:00,limit,buy,1,1\n10:00,limit,buy,abc,1\n", "o.csv")
    with pytest.raises(MarsInputError, match=r"o.csv: missing column\(s\) qty"):
        _sim_ui.orders_from_csv(b"time,action,side,price\n10:00,limit,buy,1\n", "o.csv")
    with pytest.raises(MarsInputError, match=r"o.csv, row 2: qty 'nan' is not a number"):  # not an empty cell
        _sim_ui.orders_from_csv(b"time,action,side,price,qty\n10:00,limit,buy,1,nan\n", "o.csv")
    with pytest.raises(MarsInputError, match=r"big.csv: 10,000,001 bytes; injected orders may hold 10,000,000"):
        _sim_ui.orders_from_csv(b"x" * 10_000_001, "big.csv")


# ---- the form ------------------------------------------------------------------------------------


def test_build_config_from_a_valid_form(goog: DatasetInfo) -> None:
    twap = _sim_ui.TwapInput(side=-1, volume=500, pvr=0.5, ap=2, minutes=None, interval_s=20)
    config = _sim_ui.build_config(**form(goog, twaps=[twap], minutes=2))
    assert (config.symbol, config.start, config.minutes, config.rollouts) == ("GOOG", "10:00:00", 2.0, 2)
    assert config.twap[0].name == "L2-P0.5" and config.twap[0].duration_s == 120 and config.twap[0].side == -1
    assert config.arms == ("treated", "baseline")


def test_build_config_lists_every_problem_of_the_basic_fields(goog: DatasetInfo) -> None:
    with pytest.raises(ConfigError) as err:
        _sim_ui.build_config(**form(goog, rollouts=0, minutes=None, seed=-1, background="lmm"))
    lines = str(err.value).splitlines()
    assert lines == [
        "Length: choose between 1 and 390 minutes (was empty).",
        "Rollouts: choose between 1 and 64 (was 0).",
        "Seed: enter a whole number, 0 or more (was -1).",
        "Background: the LMM background needs a trained order model, and none is shipped yet; pick noise or replay.",
    ]


def test_build_config_rejects_a_window_outside_the_day(goog: DatasetInfo) -> None:
    with pytest.raises(ConfigError, match="start 17:00:00 is outside GOOG 2012-06-21's trading window 09:30:00-"):
        _sim_ui.build_config(**form(goog, start=dt.time(17, 0)))
    with pytest.raises(ConfigError, match="ends at 16:04:00, after the end"):
        _sim_ui.build_config(**form(goog, start=dt.time(15, 59), minutes=5))


def test_build_config_names_the_twap_agent_and_the_order_row(goog: DatasetInfo) -> None:
    twaps = [_sim_ui.TwapInput(1, 100, 0.9, 1, None, 30), _sim_ui.TwapInput(1, 100, 0.9, 1, 3, 30)]
    bad = orders(("10:00:10", "limit", "hold", 580.0, 10, ""))
    with pytest.raises(ConfigError) as err:
        _sim_ui.build_config(**form(goog, twaps=twaps, orders=bad))
    assert str(err.value).splitlines() == [
        "TWAP 2: execution time 3 min is longer than the run (1 min); shorten it or lengthen the run.",
        "Injected orders, row 1: side 'hold' must be buy or sell.",
    ]


def test_a_twap_beyond_the_market_is_warned_about_with_its_figures() -> None:
    from mars_core.sim.agents.twap import TWAPConfig
    from mars_core.sim.config import SimConfig

    def run(volume: int, minutes: float) -> SimConfig:
        twap = TWAPConfig(side=1, volume=volume, duration_s=minutes * 60, interval_s=30)
        return SimConfig(symbol="GOOG", date="2012-06-21", start="10:00", minutes=10, twap=(twap,))

    assert _sim_ui.twap_warnings(run(1_000, 10), traded=50_000) == []  # 2% of the market: nothing to say
    (huge,) = _sim_ui.twap_warnings(run(1_000_000_000, 5), traded=50_000)  # the agent's window has 25,000 shares
    assert huge.startswith("TWAP 1 wants 1,000,000,000 shares in 5 min: 40,000.0× the 25,000 shares")
    assert "fulfilment near 0%" in huge
    (large,) = _sim_ui.twap_warnings(run(20_000, 10), traded=50_000)
    assert large.startswith("TWAP 1's 20,000 shares are 40% of the 50,000 shares")
    (nothing,) = _sim_ui.twap_warnings(run(10, 10), traded=0)
    assert "the real market traded nothing in that window" in nothing


def test_a_near_zero_fulfilment_is_explained_with_the_shares() -> None:
    from pages import _sim_results

    execution = pd.DataFrame({"fulfillment_mean": [2e-5, 0.0], "volume": [1_000_000_000, 500]})
    note = _sim_results.fill_note(execution)
    assert "executed 20,000 of the 1,000,000,500 shares they wanted" in note


def test_run_progress_counts_the_generating_rollouts_share_of_the_window() -> None:
    assert _sim_ui.run_progress(3, 8, {}) == (3 / 8, "Simulating… 3 of 8 done")
    assert _sim_ui.run_progress(0, 8, {}, lmm=True) == (0.0, "Starting: loading the day and the order model…")
    generating = {
        "treated": {"rollouts": {"0": 0.5, "1": 0.25}, "orders": 900},
        "baseline": {"rollouts": {"0": 1.0, "1": 0.75}, "orders": 950},
    }
    fraction, text = _sim_ui.run_progress(0, 4, generating)
    assert fraction == (0.5 + 0.25 + 1.0 + 0.75) / 4
    assert text == (
        "Generating 4 rollouts with the order model… With your orders: 2 rollouts at 38% · "
        "Without your orders: 2 rollouts at 88% of the window · 0 of 4 done"
    )
