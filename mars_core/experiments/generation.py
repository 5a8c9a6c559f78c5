"""What the order model generated in a run: its mid paths, its orders and their tokens, next to the real flow.

A generation is a run of the generative background alone (the Order Model page runs one with a
book snapshot after every event). Its orders are encoded back into tokens with the model's
tokenizer, as the model saw them, so the generated and the real flow of the same window can
be compared slot by slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import rollout_fans
from analysis.charts import market
from mars_core.data.orderflow import order_flow
from mars_core.data.schema import LobsterDay
from mars_core.engine import OrderEvent, Status
from mars_core.model.order_images import run_raw_orders
from mars_core.model.tokenizer import OrderTokenizer, raw_orders
from mars_core.model.vocab import split_token
from mars_core.sim.agent import AgentId
from mars_core.sim.config import SimConfig
from mars_core.store import RunDir

ORDER_COLUMNS = ["rollout", "ts", "event", "side", "price", "qty"]


@dataclass
@dataclass
class Generation:
    """A finished generation, ready to draw."""

    config: SimConfig
    grid: np.ndarray  # (T,) ns since midnight
    fan: rollout_fans.Fan  # generated mids across rollouts, price units
    orders: pd.DataFrame  # generated orders of every rollout (rollout, ts, event, side, price, qty), in time order
    tokens: pd.DataFrame  # aligned with `orders`: token, type, price, volume, interval
    real_tokens: pd.DataFrame  # the real orders of the same window, same columns
    summaries: list[dict] = field(default_factory=list)

    @property
    def per_rollout(self) -> float:
        return len(self.orders) / max(self.config.rollouts, 1)


def _split(tokens: np.ndarray) -> pd.DataFrame:
    tokens = np.asarray(tokens, dtype=np.int64)
    type_, price, volume, interval = split_token(tokens)
    return pd.DataFrame({"token": tokens, "type": type_, "price": price, "volume": volume, "interval": interval})


def generation(
    path: str | Path, finished: tuple[tuple[int, str], ...], tok: OrderTokenizer, day: LobsterDay
) -> Generation:
    """The generated mids, orders and tokens (by the model's tokenizer `tok`) of a finished run's arms, and the
    real tokens of its window of `day`."""
    run = RunDir.open(path)
    config = SimConfig.from_dict(run.config, where=f"{path}/config.json")
    grid = market.time_grid(config.start_ts, config.end_ts, max_points=600)
    mids, parts, summaries = [], [], []
    for rollout, arm in finished:
        book = run.table("book", rollout, arm).sort_values("ts", kind="stable")
        mids.append(rollout_fans.mid_on_grid(book, grid))
        table = run.table("orders", rollout, arm)
        ok = (
            (table["agent"] == AgentId.BACKGROUND)
            & (table["status"] == Status.OK)
            & table["event"].isin((OrderEvent.SUBMIT, OrderEvent.CANCEL, OrderEvent.DELETE))
        )
        mine = table[ok].sort_values("ts", kind="stable")  # the rows run_raw_orders encodes, in its order
        raw, _ = run_raw_orders(table, book, day.info.tick_size, agents={AgentId.BACKGROUND})
        slots = _split(tok.encode(raw)).add_prefix("tok_")
        parts.append(pd.concat([mine[ORDER_COLUMNS].reset_index(drop=True), slots], axis=1))
        summaries.append(run.arm_summary(rollout, arm))
    both = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.concat([pd.DataFrame(columns=ORDER_COLUMNS), _split([]).add_prefix("tok_")], axis=1)
    )
    both = both.sort_values(["ts", "rollout"], kind="stable").reset_index(drop=True)
    tokens = both.filter(like="tok_").rename(columns=lambda c: c.removeprefix("tok_"))
    flow = order_flow(day)
    window = flow[(flow.ts >= config.start_ts) & (flow.ts < config.end_ts)]
    fan = rollout_fans.fan(np.stack(mids)) if mids else rollout_fans.fan(np.full((0, len(grid)), np.nan))
    return Generation(
        config, grid, fan, both[ORDER_COLUMNS], tokens, _split(tok.encode(raw_orders(day, window))), summaries
    )
