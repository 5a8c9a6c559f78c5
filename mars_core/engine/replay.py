"""Verified replay: rebuild the order book from a LOBSTER day and compare it with LOBSTER's own.

Rules (the compiled loop is `_replay.Replayer`):
  * Start from the first orderbook row with the first message undone: that is the
    book before the first message, orders resting from before the open included.
  * Submissions rest without matching (LOBSTER shows a marketable order as the
    executions it causes plus, if any is left, a submission).
  * Cancels, deletions and visible executions take their size from the named
    order; when the file never added that id (resting before the open, entered
    outside the top N) or holds less of it, from the unknown liquidity at that
    price, then from the other orders there, oldest first.
  * Hidden executions and cross trades leave the visible book alone; halt
    messages set the halt state.
  * After each message the top N levels are compared with LOBSTER's row (before
    any correction). Where they differ, every differing level is classified:
    `revealed_level` (liquidity enters the window at a price the book had nothing),
    `changed_out_of_view` (a known level changed while beyond the window, where
    LOBSTER sends no messages) or `in_view` (unexplained). Only the first two are
    corrected from the snapshot, and each correction is counted.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from mars_core.data.schema import LobsterDay
from mars_core.engine._book import OrderBook
from mars_core.engine._replay import Replayer

CAUSES = ("revealed_level", "changed_out_of_view", "in_view")
ANOMALIES = ("reused_order_id", "delete_size_mismatch", "overdrawn_level")


@dataclass
class ReplayReport:
    """What `replay_day` measured; `to_dict()` is the `mars replay --json` line."""

    symbol: str
    date: str
    levels: int
    messages: int
    seconds: float
    msgs_per_s: float
    l1_match_rate: float
    depth_match_rate: float
    corrections: int
    mismatch_causes: dict[str, int]
    mismatched_levels: dict[str, int]
    anomalies: dict[str, int]
    resting_orders: int = 0
    mismatch_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False)

    def to_dict(self) -> dict:
        result = asdict(self)
        result.pop("mismatch_rows")
        return result


def book_before_first_message(day: LobsterDay) -> dict[tuple[int, int], int]:
    """{(side, price): size} of the book before message 0: LOBSTER's row 0 with message 0 undone."""
    levels: dict[tuple[int, int], int] = {}
    row = day.book[0]
    for lvl in range(day.info.levels):
        for side, col in ((-1, 4 * lvl), (1, 4 * lvl + 2)):
            if row[col + 1] > 0:
                levels[(side, int(row[col]))] = int(row[col + 1])
    ev = day.events
    kind, key, size = int(ev.type[0]), (int(ev.side[0]), int(ev.price[0])), int(ev.size[0])
    if kind == 1:
        levels[key] = levels.get(key, 0) - size
    elif kind in (2, 3, 4):
        levels[key] = levels.get(key, 0) + size
    return {k: v for k, v in levels.items() if v > 0}


class LobsterReplay:
    """A LOBSTER day replayed into an `OrderBook`, advanced message by message or up to a time.

    The simulator warms up with `advance_to(ts)`; `mars replay --verify` runs it to the end.
    """

    def __init__(self, day: LobsterDay, tick_size: int | None = None) -> None:
        self.day = day
        self.book = OrderBook(tick_size=tick_size or day.info.tick_size, log_orders=False)
        self.replayer = Replayer(self.book, day.info.levels)
        ts0 = int(day.events.ts[0])
        for (side, price), size in book_before_first_message(day).items():
            self.replayer.add_unknown(side, price, size, ts0)
        self.position = 0  # index of the next message to apply

    @property
    def halted(self) -> bool:
        return bool(self.replayer.halted)

    def advance(self, stop: int, verify: bool = True) -> None:
        """Apply messages up to (not including) index `stop`."""
        stop = min(stop, len(self.day.events))
        if stop <= self.position:
            return
        ev = self.day.events
        self.replayer.run(
            ev.ts, ev.type, ev.order_id, ev.size, ev.price, ev.side, self.day.book, self.position, stop, verify
        )
        self.position = stop

    def advance_to(self, ts: int, verify: bool = False) -> None:
        """Apply every message with a timestamp strictly before `ts` (ns since midnight)."""
        self.advance(int(np.searchsorted(self.day.events.ts, ts, side="left")), verify)

    def report(self, seconds: float) -> ReplayReport:
        r = self.replayer
        n = max(int(r.verified), 1)
        return ReplayReport(
            symbol=self.day.info.symbol,
            date=self.day.info.date.isoformat(),
            levels=self.day.info.levels,
            messages=int(r.messages),
            seconds=round(seconds, 4),
            msgs_per_s=round(r.messages / seconds, 1) if seconds > 0 else 0.0,
            l1_match_rate=round(r.l1_matches / n, 6),
            depth_match_rate=round(r.depth_matches / n, 6),
            corrections=int(r.corrections),
            mismatch_causes=dict(zip(CAUSES, map(int, r.row_causes))),
            mismatched_levels=dict(zip(CAUSES, map(int, r.level_causes))),
            anomalies=dict(zip(ANOMALIES, map(int, r.anomalies))),
            resting_orders=len(self.book),
            mismatch_rows=r.mismatch_rows,
        )


def replay_day(day: LobsterDay, verify: bool = True) -> tuple[OrderBook, ReplayReport]:
    """Replay a whole day, comparing with LOBSTER's book after every message when `verify`."""
    replay = LobsterReplay(day)
    start = time.perf_counter()
    replay.advance(len(day.events), verify=verify)
    seconds = time.perf_counter() - start
    return replay.book, replay.report(seconds)
