"""Model evaluation: a background's flow is measured as LOBSTER shows the real one."""
from __future__ import annotations

import pandas as pd

from mars_core.engine.types import OrderKind
from mars_core.sim.model_eval import background_orders

LIMIT, MARKET, IOC = OrderKind.LIMIT, OrderKind.MARKET, OrderKind.IOC
COLUMNS = ["ts", "event", "order_id", "agent", "side", "price", "qty", "kind", "status"]


def test_background_flow_counts_its_cancels_of_history_and_prices_taking_orders_by_their_executions() -> None:
    orders = pd.DataFrame([
        (1, 1, 10, 1, 1, 5000, 100, LIMIT, 0),  # a resting buy
        (2, 3, 7, 0, -1, 5100, 300, LIMIT, 0),  # deletes a historical order (logged under its owner, agent 0)
        (3, 1, 11, 1, 1, 0, 250, MARKET, 0),  # market buy: executes 200 at 5100 and 50 at 5200
        (4, 1, 12, 1, -1, 4800, 100, IOC, 0),  # IOC sell: executes 40 at 5000
        (5, 1, 13, 1, -1, 4000, 100, IOC, 0),  # IOC that finds nothing: invisible in LOBSTER
        (6, 1, 14, 1, 1, 5000, 100, LIMIT, 8),  # rejected
        (7, 1, 15, 0, 1, 5000, 100, LIMIT, 0),  # a historical submission: not the background's
    ], columns=COLUMNS)  # fmt: skip
    trades = pd.DataFrame({"taker_id": [11, 11, 12], "price": [5100, 5200, 5000], "qty": [200, 50, 40]})
    flow = background_orders(orders, trades, agent=1)
    assert flow.ts.tolist() == [1, 2, 3, 4]
    assert flow.price.tolist() == [5000, 5100, 5200, 5000]
    assert flow.qty.tolist() == [100, 300, 250, 40]
    assert flow.event.tolist() == [1, 3, 1, 1]
