"""Verified replay of LOBSTER days: match rates, classified mismatches, corrections, resumability."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from mars_core.data import LobsterDay, find_dataset, load_day
from mars_core.engine import OrderBook
from mars_core.engine._replay import Replayer
from mars_core.engine.replay import LobsterReplay, ReplayReport, book_before_first_message, replay_day

SAMPLE_DATE = "2012-06-21"


@pytest.fixture(scope="module")
def goog_replay(goog_day: LobsterDay) -> tuple:
    return replay_day(goog_day)


@pytest.fixture(scope="module")
def amzn_replay(amzn_day: LobsterDay) -> tuple:
    return replay_day(amzn_day)


def counts(report: ReplayReport) -> dict:
    """Everything in a report except the timing."""
    result = report.to_dict()
    for key in ("seconds", "msgs_per_s"):
        result.pop(key)
    return result


def check_report(day: LobsterDay, book, report: ReplayReport) -> None:
    """What must hold on any verified day: classified mismatches, counted corrections, an intact final book."""
    n = len(day.events)
    assert report.messages == n and report.levels == day.info.levels
    mismatched = len(report.mismatch_rows)
    assert sum(report.mismatch_causes.values()) == mismatched  # every depth-mismatched message has a cause
    assert report.depth_match_rate == round((n - mismatched) / n, 6)
    assert report.mismatch_causes["in_view"] == 0  # none unexplained
    assert report.corrections > 0
    # each corrected level is one of the two out-of-view causes
    assert (
        report.corrections
        == report.mismatched_levels["revealed_level"] + report.mismatched_levels["changed_out_of_view"]
    )
    assert report.mismatched_levels["in_view"] == 0
    assert np.all(np.diff(report.mismatch_rows) > 0) and report.resting_orders == len(book)
    book.check_integrity()
    # corrections leave the book equal to LOBSTER's last row
    assert book.top(day.info.levels).tolist() == day.book[-1].tolist()


def test_goog_replay_matches_lobster_after_every_message(goog_day: LobsterDay, goog_replay: tuple) -> None:
    book, report = goog_replay
    assert report.l1_match_rate == 1.0  # required >= 0.999
    assert report.depth_match_rate >= 0.9575  # required >= 0.955; measured 0.95755
    assert report.messages == 147_916 and report.levels == 10 and report.symbol == "GOOG"
    check_report(goog_day, book, report)


def test_amzn_replay_matches_lobster_after_every_message(amzn_day: LobsterDay, amzn_replay: tuple) -> None:
    book, report = amzn_replay
    assert report.l1_match_rate == 1.0  # required >= 0.991
    assert report.depth_match_rate >= 0.9227  # required >= 0.902; measured 0.922718
    assert report.messages == 155_935 and report.levels == 5
    check_report(amzn_day, book, report)


def test_corrections_table_lists_every_correction_at_a_mismatched_message(goog_day: LobsterDay) -> None:
    replay = LobsterReplay(goog_day)
    replay.advance(len(goog_day.events))
    report = replay.report(1.0)
    table = replay.replayer.corrections_table()
    assert len(table["msg"]) == report.corrections
    assert set(table["msg"].tolist()) <= set(report.mismatch_rows.tolist())
    assert np.all(table["delta"] != 0) and set(table["side"].tolist()) == {-1, 1}


def test_replay_in_chunks_equals_one_pass(goog_day: LobsterDay, goog_replay: tuple) -> None:
    """Resumable and deterministic: the same counts, corrections and final book from any split."""
    book, report = goog_replay
    replay = LobsterReplay(goog_day)
    for stop in (1, 999, 1_000, 40_000, 40_000, 100_003, len(goog_day.events) + 10):
        replay.advance(stop)
    assert replay.position == len(goog_day.events)
    chunked = replay.report(1.0)
    assert counts(chunked) == counts(report)
    assert np.array_equal(chunked.mismatch_rows, report.mismatch_rows)
    assert replay.book.top(10).tolist() == book.top(10).tolist()
    assert replay.book.depth(1)[0].tolist() == book.depth(1)[0].tolist() and len(replay.book) == len(book)


def test_advance_to_stops_before_the_first_message_at_that_time(goog_day: LobsterDay) -> None:
    ts = goog_day.events.ts
    repeated = int(np.flatnonzero(np.diff(ts) == 0)[100])  # ts[repeated] == ts[repeated + 1]
    first = int(np.searchsorted(ts, ts[repeated]))  # first message carrying that time
    replay = LobsterReplay(goog_day)
    replay.advance_to(int(ts[repeated]))
    assert replay.position == first and ts[first - 1] < ts[first]
    replay.advance_to(int(ts[repeated]) + 1)  # strictly after: the whole group is applied
    assert replay.position == int(np.searchsorted(ts, ts[repeated], side="right"))
    replay.advance_to(0)  # the past is a no-op
    assert replay.position == int(np.searchsorted(ts, ts[repeated], side="right"))
    assert replay.replayer.verified == 0  # warm-up does not verify by default
    replay.book.check_integrity()


def test_book_before_first_message_is_row_zero_with_message_zero_undone(goog_day: LobsterDay) -> None:
    levels = book_before_first_message(goog_day)
    ev, row = goog_day.events, goog_day.book[0]
    assert (int(ev.type[0]), int(ev.side[0]), int(ev.price[0]), int(ev.size[0])) == (4, 1, 5_794_000, 4)  # an execution
    assert levels[(1, 5_794_000)] == int(row[3]) + 4  # the best bid had 4 more shares before it
    assert levels[(-1, int(row[0]))] == int(row[1])
    assert len(levels) == 20  # 10 levels a side


def test_messages_on_unknown_ids_draw_on_the_unknown_liquidity_and_never_on_agents() -> None:
    """Pre-open or out-of-window liquidity is a synthetic order (negative id) at the head of its level."""
    book = OrderBook(tick_size=100, log_orders=False)
    replayer = Replayer(book, 2)
    replayer.add_unknown(-1, 10_100, 100, 0)
    book.add(5, -1, 10_100, 50, 1)  # a historical order the file added
    book.add(6, -1, 10_100, 30, 1, agent=5)  # a simulated agent's order
    assert book.queue(-1, 10_100) == [(-1, 100, 0), (5, 50, 0), (6, 30, 5)]
    assert replayer.reduce(4, 999, -1, 10_100, 30, 2) == 0  # execution of an id never added
    assert book.queue(-1, 10_100) == [(-1, 70, 0), (5, 50, 0), (6, 30, 5)]
    # deleting order 5 "with 40 shares": the level loses 40, the other 10 stay as unknown liquidity
    assert replayer.reduce(3, 5, -1, 10_100, 40, 3) == 0
    assert book.queue(-1, 10_100) == [(-1, 80, 0), (6, 30, 5)] and replayer.anomalies.tolist() == [0, 1, 0]
    # a cancel larger than all historical liquidity: the agent's order is untouched, the rest reported
    assert replayer.reduce(2, 777, -1, 10_100, 100, 4) == 20
    assert book.queue(-1, 10_100) == [(6, 30, 5)]
    replayer.add_unknown(-1, 10_100, 15, 5)  # unknown liquidity goes ahead of the queue
    assert book.queue(-1, 10_100)[0] == (-2, 15, 0)
    book.check_integrity()


def write_lobster(folder: Path, symbol: str, events, book: np.ndarray) -> None:
    """A LOBSTER message/orderbook pair (levels from the book's width) written with pyarrow."""
    levels = book.shape[1] // 4
    stem = folder / f"{symbol}_{SAMPLE_DATE}_34200000_57600000"
    secs, frac = np.divmod(events.ts, 1_000_000_000)
    time = pc.binary_join_element_wise(
        pa.array(secs).cast(pa.string()), pc.utf8_lpad(pa.array(frac).cast(pa.string()), 9, "0"), "."
    )
    messages = pa.table(
        {"t": time, "e": events.type, "o": events.order_id, "s": events.size, "p": events.price, "d": events.side}
    )
    for table, kind in (
        (messages, "message"),
        (pa.table({f"c{i}": book[:, i] for i in range(book.shape[1])}), "orderbook"),
    ):
        out = io.BytesIO()
        pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        Path(f"{stem}_{kind}_{levels}.csv").write_bytes(out.getvalue())


def test_a_three_level_file_loads_replays_and_verifies(goog_day: LobsterDay, tmp_path: Path) -> None:
    """GOOG's messages with only the first 3 levels of its book: another level count, found by its name."""
    write_lobster(tmp_path, "GOOG3", goog_day.events, goog_day.book[:, :12])
    info = find_dataset("goog3", SAMPLE_DATE, tmp_path)
    assert (info.levels, info.messages, info.tick_size) == (3, 147_916, 100)
    day = load_day(info)
    book, report = replay_day(day)
    assert report.levels == 3 and report.l1_match_rate == 1.0
    assert report.depth_match_rate >= 0.989  # measured 0.989217
    # messages about levels 4-10 draw on liquidity a 3-level book never showed: counted, not fatal
    assert report.anomalies["overdrawn_level"] > 0
    check_report(day, book, report)


def test_tiny_day_replays_exactly_and_follows_the_halt(tiny_lobster: Callable) -> None:
    tiny = tiny_lobster(symbol="TINY")
    day = load_day(find_dataset("TINY", SAMPLE_DATE, tiny.message.parent))
    assert book_before_first_message(day) == {}
    replay = LobsterReplay(day)
    replay.advance(5, verify=True)
    assert not replay.halted
    replay.advance(6, verify=True)  # message 6: halt (price -1)
    assert replay.halted
    replay.advance(8, verify=True)
    report = replay.report(1.0)
    assert (report.l1_match_rate, report.depth_match_rate, report.corrections) == (1.0, 1.0, 0)
    assert replay.book.top(2).tolist() == [1_000_100, 50, -9_999_999_999, 0, 1_000_200, 300, -9_999_999_999, 0]
    assert report.anomalies == {"reused_order_id": 0, "delete_size_mismatch": 0, "overdrawn_level": 0}


def test_a_wrong_snapshot_inside_the_window_is_flagged_in_view_and_not_corrected(tiny_lobster: Callable) -> None:
    """The verifier is not a rubber stamp: a size LOBSTER could not explain counts as `in_view`."""
    tiny = tiny_lobster(symbol="TINY")
    rows = tiny.lines("orderbook")
    tiny.set_line("orderbook", 3, rows[2].replace("1000100,50,", "1000100,60,", 1))  # after message 3 (index 2)
    day = load_day(find_dataset("TINY", SAMPLE_DATE, tiny.message.parent))
    book, report = replay_day(day)
    assert report.mismatch_rows.tolist() == [2]
    assert report.mismatch_causes == {"revealed_level": 0, "changed_out_of_view": 0, "in_view": 1}
    assert (report.l1_match_rate, report.depth_match_rate, report.corrections) == (0.875, 0.875, 0)
    assert book.qty_at(-1, 1_000_100) == 50  # the book kept its own (right) size
