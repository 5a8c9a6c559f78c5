"""Minute bars against sums over the raw messages, and hand-computed bars of the tiny day."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mars_core.data import BAR_COLUMNS, load_day, minute_bars, scan_file
from mars_core.data.schema import NS_PER_MINUTE


@pytest.fixture(scope="module")
def goog_bars(goog_day) -> pd.DataFrame:
    return minute_bars(goog_day)


def test_a_full_day_has_390_minutes_from_0930(goog_bars, amzn_day):
    assert list(goog_bars.columns) == list(BAR_COLUMNS)
    assert len(goog_bars) == 390 and len(minute_bars(amzn_day)) == 390
    assert goog_bars["minute"].iloc[0] == 570 * NS_PER_MINUTE
    assert goog_bars["time"].iloc[0] == pd.Timestamp("2012-06-21 09:30")
    assert goog_bars["time"].iloc[-1] == pd.Timestamp("2012-06-21 15:59")
    assert np.all(np.diff(goog_bars["minute"].to_numpy()) == NS_PER_MINUTE)


def test_volume_and_counts_add_up_to_the_messages(goog_day, goog_bars):
    kind, size = goog_day.events.type, goog_day.events.size
    executed = np.isin(kind, [4, 5])
    assert goog_bars["volume"].sum() == size[executed].sum()
    assert goog_bars["trades"].sum() == goog_bars["executions"].sum() == executed.sum()
    assert goog_bars["submits"].sum() == (kind == 1).sum()
    assert goog_bars["cancels"].sum() == np.isin(kind, [2, 3]).sum()


def test_first_mid_is_the_first_rows_mid(goog_day, goog_bars):
    book = goog_day.book
    assert goog_bars["mid_open"].iloc[0] == (book[0, 0] + book[0, 2]) / 2
    assert goog_bars["mid_close"].iloc[-1] == (book[-1, 0] + book[-1, 2]) / 2


def test_trade_prices_stay_inside_their_bar(goog_bars):
    traded = goog_bars.dropna(subset=["last_open"])
    assert (traded["last_low"] <= traded[["last_open", "last_close"]].min(axis=1)).all()
    assert (traded["last_high"] >= traded[["last_open", "last_close"]].max(axis=1)).all()
    assert (goog_bars["spread"] > 0).all() and (goog_bars["mid_low"] <= goog_bars["mid_high"]).all()


def test_a_window_keeps_only_its_minutes(goog_day, goog_bars):
    start, end = 600 * NS_PER_MINUTE, 605 * NS_PER_MINUTE  # 10:00 to 10:05
    window = minute_bars(goog_day, start, end)
    assert window["minute"].tolist() == [m * NS_PER_MINUTE for m in range(600, 605)]
    pd.testing.assert_frame_equal(window, goog_bars.iloc[30:35].reset_index(drop=True))


def test_a_window_cutting_a_minute_counts_only_its_part(goog_day):
    start = 600 * NS_PER_MINUTE + 30 * 10**9  # 10:00:30
    [bar] = minute_bars(goog_day, start, 601 * NS_PER_MINUTE).to_dict("records")
    ts = goog_day.events.ts
    inside = (ts >= start) & (ts < 601 * NS_PER_MINUTE)
    assert (
        bar["submits"] + bar["cancels"] + bar["executions"]
        == np.isin(goog_day.events.type[inside], [1, 2, 3, 4, 5]).sum()
    )


def test_an_empty_window_gives_no_rows(goog_day):
    empty = minute_bars(goog_day, 0, 1)
    assert list(empty.columns) == list(BAR_COLUMNS) and len(empty) == 0


def test_tiny_day_bars_by_hand(tiny_lobster):
    [info], _ = scan_file(tiny_lobster().message)
    bars = minute_bars(load_day(info)).to_dict("records")
    assert [b["minute"] // NS_PER_MINUTE for b in bars] == [570, 571, 572, 573]
    first, second, third, fourth = bars
    # Row 1 has no bid: the minute's mid starts at row 2.
    assert (first["mid_open"], first["mid_high"], first["mid_low"], first["mid_close"]) == (1_000_000.0,) * 4
    assert math.isnan(first["last_open"]) and first["volume"] == 0 and first["trades"] == 0
    assert (first["submits"], first["cancels"], first["executions"]) == (2, 1, 0)
    assert first["spread"] == 200.0
    assert first["ask_depth"] == pytest.approx((100 + 100 + 50) / 3) and first["bid_depth"] == pytest.approx(400 / 3)
    # A visible execution at 99.99 then a hidden one at 100.00; the halt row counts for depth only.
    assert (second["last_open"], second["last_high"], second["last_low"], second["last_close"]) == (
        999_900.0,
        1_000_000.0,
        999_900.0,
        1_000_000.0,
    )
    assert (second["volume"], second["trades"], second["executions"]) == (130, 2, 2)
    assert third["ask_depth"] == 350.0 and third["submits"] == 1
    # The last row has an empty bid side: no mid, no spread.
    assert math.isnan(fourth["mid_open"]) and math.isnan(fourth["spread"]) and fourth["cancels"] == 1
