"""The dataset catalogue: data-dir resolution, discovery, lookup, tick inference."""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mars_core.data import (
    Events,
    discover,
    discover_with_problems,
    find_dataset,
    format_ts,
    infer_tick_size,
    info_to_dict,
    load_events,
    resolve_data_dir,
)
from mars_core.errors import DatasetNotFoundError, MarsInputError


def test_discover_lists_both_sample_days_with_their_facts(data_dir):
    goog_amzn = discover(data_dir)
    assert [(i.symbol, i.date, i.levels, i.messages) for i in goog_amzn] == [
        ("AMZN", dt.date(2012, 6, 21), 5, 155_935),
        ("GOOG", dt.date(2012, 6, 21), 10, 147_916),
    ]
    amzn, goog = goog_amzn
    assert (goog.ts_start, goog.ts_end) == (34_200_015_105_074, 57_599_871_751_084)
    assert (amzn.ts_start, amzn.ts_end) == (34_200_017_459_617, 57_599_959_359_650)
    assert goog.tick_size == amzn.tick_size == 100
    assert goog.message_path == goog.orderbook_path == data_dir / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
    assert goog.message_member == "GOOG_2012-06-21_34200000_57600000_message_10.csv"
    assert goog.orderbook_member == "GOOG_2012-06-21_34200000_57600000_orderbook_10.csv"
    assert discover_with_problems(data_dir)[1] == []


def test_info_to_dict_is_json_ready(data_dir):
    row = info_to_dict(find_dataset("GOOG", "2012-06-21", data_dir))
    assert row["date"] == "2012-06-21" and row["first_time"] == "09:30:00.015105074"
    assert row["last_time"] == "15:59:59.871751084" and row["message_path"].endswith("_10.zip")


def test_format_ts_keeps_every_nanosecond():
    assert format_ts(34_200_015_105_074) == "09:30:00.015105074"
    assert format_ts(0) == "00:00:00.000000000"


def test_find_dataset_is_case_insensitive_and_takes_dates_or_text(data_dir):
    by_text = find_dataset("goog", "2012-06-21", data_dir)
    by_date = find_dataset("Goog", dt.date(2012, 6, 21), data_dir)
    assert by_text == by_date and by_text.symbol == "GOOG"


def test_find_dataset_lists_what_is_available(data_dir):
    with pytest.raises(DatasetNotFoundError) as caught:
        find_dataset("MSFT", "2012-06-21", data_dir)
    assert (
        str(caught.value)
        == "no dataset MSFT 2012-06-21; available: AMZN 2012-06-21 (5 levels), GOOG 2012-06-21 (10 levels)"
    )


def test_find_dataset_rejects_a_malformed_date(data_dir):
    with pytest.raises(MarsInputError, match="date '21/06/2012' is not YYYY-MM-DD"):
        find_dataset("GOOG", "21/06/2012", data_dir)


def test_find_dataset_in_an_empty_folder_says_how_to_get_data(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no LOBSTER datasets found in .*fetch-samples"):
        find_dataset("GOOG", "2012-06-21", tmp_path)


def test_find_dataset_prefers_the_deepest_book_unless_told(tiny_lobster, tmp_path):
    tiny_lobster(levels=1, folder="one")
    tiny_lobster(levels=3, folder="three")
    assert [i.levels for i in discover(tmp_path)] == [3, 1]
    assert find_dataset("TINY", "2012-06-21", tmp_path).levels == 3
    assert find_dataset("TINY", "2012-06-21", tmp_path, levels=1).levels == 1


def test_discover_finds_loose_pairs_and_zips_in_subfolders(tiny_lobster, tmp_path):
    loose = tiny_lobster(symbol="LOOSE", folder="x/y")
    src = tiny_lobster(symbol="ZIPPED", folder="src")
    with zipfile.ZipFile(tmp_path / "x" / "zipped.zip", "w") as zf:
        zf.write(src.message, f"deep/{src.message.name}")
        zf.write(src.orderbook, f"deep/{src.orderbook.name}")
    infos, problems = discover_with_problems(tmp_path)
    assert problems == []
    assert [(i.symbol, i.message_member) for i in infos] == [
        ("LOOSE", None),
        ("ZIPPED", None),  # the loose source pair under src/
        ("ZIPPED", f"deep/{src.message.name}"),
    ]
    assert infos[0].orderbook_path == loose.orderbook
    assert all(i.messages == 8 and i.ts_start == 34_200_000_000_001 and i.ts_end == 34_400_999_999_999 for i in infos)


def test_an_orderbook_without_its_message_file_is_a_problem(tiny_lobster, tmp_path):
    tiny = tiny_lobster()
    tiny.message.unlink()
    assert discover_with_problems(tmp_path) == (
        [],
        [f"{tiny.orderbook}: orderbook file without its message file {tiny.message.name}"],
    )


def test_a_name_with_an_impossible_date_is_a_problem(tmp_path):
    (tmp_path / "X_2012-13-40_1_2_message_1.csv").write_text("1,1,1,1,1,1\n")
    infos, problems = discover_with_problems(tmp_path)
    assert infos == [] and "date 2012-13-40 is not a calendar date" in problems[0]


def test_unrelated_files_are_ignored(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n")
    (tmp_path / "README.md").write_text("hello")
    assert discover_with_problems(tmp_path) == ([], [])


def test_discovery_is_cached_until_a_file_changes(tiny_lobster, tmp_path):
    tiny = tiny_lobster()
    first = discover(tmp_path)
    assert discover(tmp_path) == first
    tiny.write("message", tiny.lines("message")[:-1])
    tiny.write("orderbook", tiny.lines("orderbook")[:-1])
    os.utime(tiny.message, ns=(1, 1))  # a different mtime even on coarse clocks
    assert [i.messages for i in discover(tmp_path)] == [7]


def test_tick_size_is_the_gcd_of_submitted_price_gaps(tiny_lobster):
    assert infer_tick_size(load_events(tiny_lobster().message)) == 100  # 99.99, 100.01, 100.02


@pytest.mark.parametrize(
    ("prices", "tick"),
    [
        ([1_000_000, 1_000_050, 1_000_150], 50),
        ([1_000_000, 2_000_000, 5_000_000], 100),
        ([1_000_000], 100),
        ([1_000_001, 1_000_004], 1),
    ],
)
def test_tick_size_is_capped_to_a_divisor_of_one_cent(prices, tick):
    n = len(prices)
    ones = np.ones(n, dtype=np.int64)
    events = Events(
        np.arange(n, dtype=np.int64),
        ones.astype(np.int8),
        ones,
        ones,
        np.array(prices, dtype=np.int64),
        ones.astype(np.int8),
    )
    assert infer_tick_size(events) == tick


def test_resolve_data_dir_prefers_the_flag_then_the_environment(tmp_path, monkeypatch):
    flag, env = tmp_path / "flag", tmp_path / "env"
    flag.mkdir(), env.mkdir()
    monkeypatch.setenv("MARS_DATA_DIR", str(env))
    assert resolve_data_dir(flag) == flag.resolve()
    assert resolve_data_dir() == env.resolve()


@pytest.mark.parametrize("origin", ["--data-dir", "$MARS_DATA_DIR"])
def test_resolve_data_dir_names_a_missing_given_path(tmp_path, monkeypatch, origin):
    missing = tmp_path / "nope"
    if origin == "--data-dir":
        call = lambda: resolve_data_dir(str(missing))  # noqa: E731
    else:
        monkeypatch.setenv("MARS_DATA_DIR", str(missing))
        call = resolve_data_dir
    with pytest.raises(MarsInputError) as caught:
        call()
    assert str(caught.value) == f"data directory {missing} (from {origin}) does not exist"


def test_resolve_data_dir_uses_dot_data_when_present(tmp_path, monkeypatch):
    monkeypatch.delenv("MARS_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert resolve_data_dir() == (tmp_path / "data").resolve()


def test_resolve_data_dir_falls_back_to_the_shared_samples(tmp_path, monkeypatch, data_dir):
    monkeypatch.delenv("MARS_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir() == data_dir
    assert [i.symbol for i in discover()] == ["AMZN", "GOOG"]


def test_a_missing_given_dir_is_an_error_for_discover_too(tmp_path: Path):
    with pytest.raises(MarsInputError, match="does not exist"):
        discover(tmp_path / "absent")
