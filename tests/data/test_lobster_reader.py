"""Reading LOBSTER days: real sample values, exact times, caching, other level counts."""

from __future__ import annotations

import zipfile
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mars_core.data import DatasetInfo, discover, load_day, load_events, load_orderbook, parse_lobster_name
from mars_core.data.lobster import parse_messages
from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE

GOOG_ZIP = "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
GOOG_MESSAGE = "GOOG_2012-06-21_34200000_57600000_message_10.csv"
AMZN_ZIP = "LOBSTER_SampleFile_AMZN_2012-06-21_5.zip"


def test_goog_day_has_the_published_shape_and_first_row(goog_day):
    assert goog_day.info.levels == 10
    assert len(goog_day.events) == 147_916
    assert goog_day.book.shape == (147_916, 40)
    assert goog_day.events.ts[0] == 34_200_015_105_074
    assert goog_day.events.ts[-1] == 57_599_871_751_084
    first = goog_day.events[0:1]
    assert (first.type[0], first.order_id[0], first.size[0], first.price[0], first.side[0]) == (
        4,
        15818974,
        4,
        5794000,
        1,
    )
    assert goog_day.book[0, :8].tolist() == [5802300, 100, 5794000, 496, 5804300, 100, 5787000, 400]


def test_amzn_day_has_the_published_shape(amzn_day):
    assert amzn_day.info.levels == 5
    assert len(amzn_day.events) == 155_935
    assert amzn_day.book.shape == (155_935, 20)
    counts = np.bincount(amzn_day.events.type, minlength=8)
    assert counts[1:6].tolist() == [77_381, 450, 66_685, 8_974, 2_445]


def test_event_columns_have_the_schema_dtypes(goog_day):
    ev = goog_day.events
    assert [a.dtype for a in (ev.ts, ev.type, ev.order_id, ev.size, ev.price, ev.side)] == [
        np.int64,
        np.int8,
        np.int64,
        np.int64,
        np.int64,
        np.int8,
    ]
    assert goog_day.book.dtype == np.int64


def test_every_goog_time_matches_an_exact_decimal_parse(data_dir, goog_day):
    text = zipfile.ZipFile(data_dir / GOOG_ZIP).read(GOOG_MESSAGE).decode()
    expected = [int(Decimal(line.split(",", 1)[0]) * 10**9) for line in text.splitlines()]
    assert goog_day.events.ts.tolist() == expected
    assert goog_day.events.ts[1] == 34_200_059_901_970  # written with 8 decimals: "34200.05990197"


def test_a_time_finer_than_a_nanosecond_is_rounded_to_the_nearest(amzn_day):
    # AMZN line 67823 reads 43002.632812672004 (a float artifact in LOBSTER's file).
    assert amzn_day.events.ts[67_822] == 43_002_632_812_672


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=86_400 * 10**9 - 1), min_size=1, max_size=40))
def test_any_time_with_up_to_nine_decimals_parses_exactly(times):
    times = sorted(times)
    lines = []
    for ns in times:
        seconds, frac = divmod(ns, 10**9)
        text = f"{seconds}.{frac:09d}".rstrip("0").rstrip(".")
        lines.append(f"{text},1,1,100,1000000,1")
    events = parse_messages("\n".join(lines).encode(), "generated")
    assert events.ts.tolist() == times


def test_digits_beyond_nanoseconds_round_half_up(tmp_path):
    texts = ["1.0000000004", "1.0000000005", "2.1234567899999"]
    events = parse_messages("".join(f"{t},1,1,1,1,1\n" for t in texts).encode(), "x")
    expected = [int((Decimal(t) * 10**9).quantize(Decimal(1), rounding=ROUND_HALF_UP)) for t in texts]
    assert events.ts.tolist() == expected == [1_000_000_000, 1_000_000_001, 2_123_456_790]


def test_loaded_arrays_are_cached_and_read_only(data_dir, goog_day):
    first = load_day(goog_day.info)  # (the session's goog_day may have left the small cache since it was loaded)
    again = load_day(goog_day.info)
    assert again.book is first.book and again.events.ts is first.events.ts
    with pytest.raises(ValueError, match="read-only"):
        goog_day.book[0, 0] = 1


def test_load_events_and_orderbook_find_the_member_inside_a_zip(data_dir, goog_day):
    events = load_events(data_dir / GOOG_ZIP)
    book = load_orderbook(data_dir / GOOG_ZIP, 10)
    assert len(events) == len(book) == 147_916
    assert np.array_equal(book, goog_day.book)


def test_dummy_levels_pad_an_empty_side(goog_day):
    asks, bids = goog_day.ask_prices, goog_day.bid_prices
    # Either a real price or LOBSTER's dummy, never anything in between.
    assert ((asks > 0) & (asks < 10**8) | (asks == DUMMY_ASK_PRICE)).all()
    assert ((bids > 0) & (bids < 10**8) | (bids == DUMMY_BID_PRICE)).all()


def test_tiny_pair_loads_with_exact_values(tiny_lobster):
    tiny = tiny_lobster()
    events = load_events(tiny.message)
    assert events.ts.tolist() == [
        34_200_000_000_001,
        34_200_500_000_000,
        34_201_250_000_000,
        34_260_123_456_789,
        34_260_123_456_789,
        34_300_000_000_000,
        34_320_200_000_000,
        34_400_999_999_999,
    ]
    assert events.type.tolist() == [1, 1, 2, 4, 5, 7, 1, 3]
    assert events.side.tolist() == [-1, 1, -1, 1, -1, -1, -1, 1]
    assert load_orderbook(tiny.orderbook, 2).shape == (8, 8)


def test_trailing_blank_lines_and_crlf_are_accepted(tiny_lobster):
    tiny = tiny_lobster()
    tiny.message.write_bytes("\r\n".join(tiny.lines("message")).encode() + b"\r\n\r\n\n")
    assert len(load_events(tiny.message)) == 8


@pytest.mark.parametrize("levels", [1, 3])
def test_a_day_of_another_depth_is_discovered_and_loaded(tmp_path, tiny_lobster, levels):
    tiny = tiny_lobster(levels=levels, folder="nested/deeper")
    [info] = discover(tmp_path)
    assert (info.symbol, info.levels, info.messages, info.message_path) == ("TINY", levels, 8, tiny.message.resolve())
    day = load_day(info)
    assert day.book.shape == (8, 4 * levels)
    assert day.ask_prices[0, 0] == 1_000_100


def test_a_one_level_zip_cut_from_goog_is_discovered_and_loaded(tmp_path, data_dir, goog_day):
    rows = 1000
    with zipfile.ZipFile(data_dir / GOOG_ZIP) as source:
        messages = source.read(GOOG_MESSAGE).decode().splitlines()[:rows]
    book = "".join(",".join(map(str, row)) + "\n" for row in goog_day.book[:rows, :4])
    stem = "GOOG1_2012-06-21_34200000_57600000"
    with zipfile.ZipFile(tmp_path / "goog1.zip", "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(f"inner/{stem}_message_1.csv", "\n".join(messages) + "\n")
        out.writestr(f"inner/{stem}_orderbook_1.csv", book)
    [info] = discover(tmp_path)
    assert (info.symbol, info.levels, info.messages, info.message_member) == (
        "GOOG1",
        1,
        rows,
        f"inner/{stem}_message_1.csv",
    )
    day = load_day(info)
    assert np.array_equal(day.book, goog_day.book[:rows, :4])
    assert np.array_equal(day.events.ts, goog_day.events.ts[:rows])


def test_lobster_names_are_parsed_with_their_partner():
    name = parse_lobster_name("dir/GOOG_2012-06-21_34200000_57600000_message_10.csv")
    assert (name.symbol, name.date.isoformat(), name.kind, name.levels) == ("GOOG", "2012-06-21", "message", 10)
    assert name.partner() == "dir/GOOG_2012-06-21_34200000_57600000_orderbook_10.csv"
    assert parse_lobster_name("LOBSTER_SampleFiles_ReadMe.txt") is None


def test_validate_false_skips_the_semantic_checks(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 2, "34200.5,1,2,200,999900,0")  # direction 0
    info = DatasetInfo(
        "TINY", parse_lobster_name(tiny.message.name).date, 2, 8, 0, 0, 100, tiny.message, tiny.orderbook
    )
    assert load_day(info, validate=False).events.side[1] == 0


def test_no_float_goes_between_text_and_ns(goog_day):
    # GOOG line 9 reads 34200.173594288; through float64 it would lose its last nanosecond.
    assert int(float("34200.173594288") * 1e9) == 34_200_173_594_287
    assert goog_day.events.ts[8] == 34_200_173_594_288
