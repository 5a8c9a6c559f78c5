"""Injected orders: validation names the row, and the orders reach the exchange."""

from __future__ import annotations

from pathlib import Path

import pytest

from mars_core.data import LobsterDay
from mars_core.engine import parse_clock
from mars_core.errors import MarsInputError
from mars_core.sim.agents.injected import InjectedOrders
from mars_core.sim.agents.noise import NoiseBackground, noise_params
from mars_core.sim.simulator import Simulator

HEADER = "time,action,side,price,qty,client_id\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("10:00:05,limit,buy,575.10,-5,a", "row 2: qty must be positive"),
        ("10:00:05,limit,hold,575.10,5,a", "row 2: side 'hold' must be buy or sell"),
        ("10:00:05,limit,buy,575.105,5,a", "row 2: price 575.105 is not on the tick grid"),
        ("10:00:05,limit,buy,abc,5,a", "row 2: price 'abc' is not a number"),
        ("10:00:05,sweep,buy,575.10,5,a", "row 2: action 'sweep' is not one of"),
        ("25:00,limit,buy,575.10,5,a", "row 2: time '25:00'"),
        ("10:00:05,cancel,,,0,nobody", "row 2: cancel needs the client_id of an earlier order"),
        ("10:00:05,limit,buy,575.10,2.5,a", "row 2: qty '2.5' must be a whole number"),
    ],
)
def test_each_bad_row_is_named(row: str, message: str) -> None:
    with pytest.raises(MarsInputError, match=message.replace(".", r"\.").replace("(", r"\(")):
        InjectedOrders.from_text(HEADER + row + "\n", tick_size=100)


def test_missing_columns_empty_tables_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(MarsInputError, match="missing column"):
        InjectedOrders.from_text("when,what\n1,2\n", tick_size=100)
    with pytest.raises(MarsInputError, match="no orders"):
        InjectedOrders.from_text(HEADER, tick_size=100)
    with pytest.raises(MarsInputError, match="not found"):
        InjectedOrders.from_csv(tmp_path / "nope.csv", tick_size=100)
    dup = HEADER + "10:00:01,limit,buy,575.10,5,a\n10:00:02,limit,buy,575.10,5,a\n"
    with pytest.raises(MarsInputError, match="row 3: client_id 'a' is used twice"):
        InjectedOrders.from_text(dup, tick_size=100)


def test_injected_orders_trade_rest_and_cancel(goog_day: LobsterDay) -> None:
    start = parse_clock("10:00")
    text = HEADER + "10:00:01,market,buy,,500,m\n10:00:02,limit,sell,700.00,100,far\n10:00:03,cancel,,,0,far\n"
    agent = InjectedOrders.from_text(text, goog_day.info.tick_size)
    sim = Simulator(goog_day, start, start + 10 * 10**9, NoiseBackground(noise_params(goog_day)), [agent], seed=1)
    sim.run()
    results = agent.records()["orders"]
    assert results["status"] == [0, 0, 0]
    assert results["action"] == ["market", "limit", "cancel"]
    assert sum(agent.fills["qty"]) == 500 and all(agent.fills["aggressive"])
    assert results["order_id"][2] == results["order_id"][1]  # the cancel hit the order named "far"
    assert sim.open_orders[2] == {}
