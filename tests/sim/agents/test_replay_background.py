"""The replay background reproduces history through the matching engine."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mars_core.data import LobsterDay
from mars_core.data.orderflow import Action, order_flow
from mars_core.engine import parse_clock
from mars_core.sim.agents.replay import ReplayBackground, replay_schedule
from mars_core.sim.simulator import Simulator


def _book_rows(day: LobsterDay, start: str, minutes: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Snapshots after every event of a replay run, and LOBSTER's rows at the same times."""
    chunks: list[pd.DataFrame] = []
    start_ts = parse_clock(start)
    sim = Simulator(
        day,
        start_ts,
        start_ts + minutes * 60 * 10**9,
        ReplayBackground(),
        seed=0,
        snapshot_interval_ns=0,
        snapshot_levels=day.info.levels,
        sink=lambda table, chunk: chunks.append(chunk) if table == "book" else None,
    )
    sim.run()
    sim.book.check_integrity()
    book = pd.concat(chunks, ignore_index=True)
    # several events can share a timestamp: compare the state after the last of them
    book = book.drop_duplicates("ts", keep="last").iloc[1:-1]
    rows = np.searchsorted(day.events.ts, book["ts"].to_numpy(), side="right") - 1
    return book, book.drop(columns="ts").to_numpy(), day.book[rows]


def test_replay_run_reproduces_lobsters_book_at_every_event(goog_day: LobsterDay) -> None:
    book, mine, lobster = _book_rows(goog_day, "10:00", 10)
    assert len(book) > 2000
    assert (mine[:, :4] == lobster[:, :4]).all(axis=1).mean() == 1.0
    assert (mine == lobster).all(axis=1).mean() > 0.97  # the rest: levels LOBSTER's snapshot reveals later


def test_replay_run_matches_on_a_five_level_day(amzn_day: LobsterDay) -> None:
    _, mine, lobster = _book_rows(amzn_day, "14:00", 10)
    assert (mine[:, :4] == lobster[:, :4]).all(axis=1).mean() == 1.0


def test_schedule_keeps_every_order_once_in_time_order(goog_day: LobsterDay) -> None:
    schedule = replay_schedule(goog_day)
    flow_items = schedule.item[schedule.item >= 0]
    assert sorted(flow_items.tolist()) == list(range(len(schedule.flow)))
    assert (np.diff(schedule.ts) >= 0).all()
    assert len(schedule.item) == len(schedule.flow) + len(schedule.corrections["msg"])


def test_order_flow_regroups_marketable_orders(goog_day: LobsterDay) -> None:
    flow = order_flow(goog_day)
    submits = flow.action == Action.SUBMIT
    # every visible execution belongs to exactly one aggressive order of the flow
    executed = goog_day.events.size[goog_day.events.type == 4].sum()
    aggressive = submits & (flow.first_msg < flow.last_msg) | (flow.kind == 3)
    rested = np.where(flow.kind[aggressive] == 1, goog_day.events.size[flow.last_msg[aggressive]], 0)
    assert flow.qty[aggressive].sum() - rested.sum() == executed
    assert (np.diff(flow.ts) >= 0).all()
