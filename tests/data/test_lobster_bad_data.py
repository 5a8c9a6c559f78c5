"""Every kind of bad LOBSTER input raises LobsterFormatError naming the file, the first bad line and the problem."""

from __future__ import annotations

import dataclasses
import zipfile

import pytest

from mars_core.data import discover_with_problems, load_day, load_events, load_orderbook, scan_file
from mars_core.errors import LobsterFormatError


def _error(call, *args, **kwargs) -> LobsterFormatError:
    with pytest.raises(LobsterFormatError) as caught:
        call(*args, **kwargs)
    return caught.value


def _day_info(tiny):
    [info], problems = scan_file(tiny.message)
    assert problems == []
    return info


def test_message_line_with_seven_columns(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 3, "34201.25,2,1,50,1000100,-1,9")
    err = _error(load_events, tiny.message)
    assert (err.path, err.line) == (str(tiny.message.resolve()), 3)
    assert "expected 6 comma-separated columns, found 7" in err.problem


def test_message_line_with_five_columns(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 8, "34400.999999999,3,2,100,999900")
    err = _error(load_events, tiny.message)
    assert err.line == 8 and "found 5" in err.problem


def test_orderbook_line_with_the_wrong_column_count(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("orderbook", 2, "1000100,100,999900,200,9999999999,0,-9999999999")
    err = _error(load_orderbook, tiny.orderbook, 2)
    assert (err.path, err.line) == (str(tiny.orderbook.resolve()), 2)
    assert "expected 8 comma-separated columns, found 7" in err.problem


def test_orderbook_of_another_depth_than_its_name(tiny_lobster):
    tiny = tiny_lobster(levels=2)
    tiny.write("orderbook", [row + ",9999999999,0,-9999999999,0" for row in tiny.lines("orderbook")])  # 3 levels
    _, problems = scan_file(tiny.message)
    assert problems == [f"{tiny.orderbook.resolve()}, line 1: 12 columns; expected 8 (4 x 2 levels from the file name)"]
    err = _error(load_orderbook, tiny.orderbook, 2)
    assert err.line == 1 and "found 12" in err.problem


@pytest.mark.parametrize(
    ("line", "text", "column"),
    [
        (4, "34260.123456789,4,2,abc,999900,1", "column 4 (size) is 'abc', not an integer"),
        (2, "34200.5,1,2,200,99.99,1", "column 5 (price) is '99.99', not an integer"),
        (5, "34260.123456789,5,0,30,1000000,", "column 6 (direction) is empty"),
        (7, "9:32:00,1,3,300,1000200,-1", "column 1 (time) is '9:32:00', not seconds after midnight"),
        (3, "34201.25,2,x1,50,1000100,-1", "column 3 (order id) is 'x1', not an integer"),
    ],
)
def test_non_numeric_field_names_its_column(tiny_lobster, line, text, column):
    tiny = tiny_lobster()
    tiny.set_line("message", line, text)
    err = _error(load_events, tiny.message)
    assert (err.line, err.problem) == (line, column)


def test_binary_junk_is_located(tiny_lobster):
    tiny = tiny_lobster()
    lines = [line.encode() for line in tiny.lines("message")]
    lines[5] = b"\xff\xfe\x00junk,7,0,0,-1,-1"
    tiny.message.write_bytes(b"\n".join(lines) + b"\n")
    err = _error(load_events, tiny.message)
    assert err.line == 6 and err.problem.startswith("column 1 (time) is ")


def test_non_numeric_orderbook_field(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("orderbook", 5, "1000100,50,999900,lots,9999999999,0,-9999999999,0")
    err = _error(load_orderbook, tiny.orderbook, 2)
    assert (err.line, err.problem) == (5, "column 4 (bid size 1) is 'lots', not an integer")


def test_time_that_decreases(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 5, "34260.123456788,5,0,30,1000000,-1")
    err = _error(load_events, tiny.message)
    assert (err.line, err.problem) == (
        5,
        "time 34260.123456788 is earlier than the previous line's 34260.123456789; times must not decrease",
    )


def test_equal_times_are_fine(tiny_lobster):
    tiny = tiny_lobster()  # lines 4 and 5 share a timestamp
    assert len(load_events(tiny.message)) == 8


def test_time_past_the_end_of_the_day(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 8, "86400.5,3,2,100,999900,1")
    assert _error(load_events, tiny.message).line == 8


@pytest.mark.parametrize("size", ["0", "-100"])
def test_size_must_be_positive(tiny_lobster, size):
    tiny = tiny_lobster()
    tiny.set_line("message", 3, f"34201.25,2,1,{size},1000100,-1")
    err = _error(load_events, tiny.message)
    assert (err.line, err.problem) == (3, f"column 4 (size) is {size}; must be positive")


def test_halts_with_size_zero_and_hidden_executions_with_order_id_zero_are_valid(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 6, "34300,7,0,0,0,-1")  # quoting resumes: price 0
    events = load_events(tiny.message)
    assert events.type[4] == 5 and events.order_id[4] == 0
    assert events.type[5] == 7 and events.size[5] == 0 and events.price[5] == 0


def test_negative_size_on_a_halt_is_still_wrong(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 6, "34300,7,0,-1,-1,-1")
    assert _error(load_events, tiny.message).line == 6


def test_price_must_be_positive_except_on_halts(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 7, "34320.2,1,3,300,-1000200,-1")
    err = _error(load_events, tiny.message)
    assert (err.line, err.problem) == (7, "column 5 (price) is -1000200; must be positive")


@pytest.mark.parametrize("kind", ["0", "8", "-4"])
def test_unknown_event_type(tiny_lobster, kind):
    tiny = tiny_lobster()
    tiny.set_line("message", 2, f"34200.5,{kind},2,200,999900,1")
    err = _error(load_events, tiny.message)
    assert (err.line, err.problem) == (2, f"column 2 (event type) is {kind}; must be 1..7")


@pytest.mark.parametrize("direction", ["0", "2", "-2"])
def test_direction_not_buy_or_sell(tiny_lobster, direction):
    tiny = tiny_lobster()
    tiny.set_line("message", 4, f"34260.123456789,4,2,100,999900,{direction}")
    err = _error(load_events, tiny.message)
    assert (err.line, err.problem) == (4, f"column 6 (direction) is {direction}; must be 1 (buy) or -1 (sell)")


def test_negative_order_id(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 3, "34201.25,2,-1,50,1000100,-1")
    assert _error(load_events, tiny.message).line == 3


def test_negative_orderbook_size(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("orderbook", 7, "1000100,50,999900,100,1000200,-300,-9999999999,0")
    err = _error(load_orderbook, tiny.orderbook, 2)
    assert (err.line, err.problem) == (7, "column 6 (ask size 2) is -300; sizes must not be negative")


def test_message_and_orderbook_row_counts_differ(tiny_lobster):
    tiny = tiny_lobster()
    info = _day_info(tiny)
    tiny.write("orderbook", tiny.lines("orderbook")[:-1])
    err = _error(load_day, info)
    assert (err.path, err.line) == (str(tiny.orderbook), 8)
    assert err.problem.startswith("orderbook has 7 rows but the message file has 8")
    _, problems = scan_file(tiny.message)
    assert problems == [f"{tiny.orderbook.resolve()}, line 8: orderbook has 7 rows but the message file has 8"]


def test_message_file_without_its_orderbook(tiny_lobster, tmp_path):
    tiny = tiny_lobster()
    info = _day_info(tiny)
    tiny.orderbook.unlink()
    err = _error(load_day, info)
    assert (err.path, err.line) == (str(tiny.message), None)
    assert err.problem == f"message file has no orderbook file; expected {tiny.orderbook}"
    datasets, problems = discover_with_problems(tmp_path)
    assert datasets == []
    assert problems == [f"{tiny.message.resolve()}: no orderbook file {tiny.orderbook.name} next to it"]


@pytest.mark.parametrize("content", [b"", b"\n\n"])
def test_empty_message_file(tiny_lobster, content):
    tiny = tiny_lobster()
    tiny.message.write_bytes(content)
    err = _error(load_events, tiny.message)
    assert (err.path, err.line, err.problem) == (str(tiny.message.resolve()), None, "file is empty")


def test_empty_orderbook_file(tiny_lobster):
    tiny = tiny_lobster()
    tiny.orderbook.write_bytes(b"")
    assert _error(load_orderbook, tiny.orderbook, 2).problem == "file is empty"


def test_empty_line_inside_a_file(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 4, "")
    err = _error(load_events, tiny.message)
    assert (err.line, err.problem) == (4, "empty line")


def test_zip_without_a_message_member(tiny_lobster, tmp_path):
    tiny = tiny_lobster(folder="src")
    archive = tmp_path / "book_only.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tiny.orderbook, tiny.orderbook.name)
    err = _error(load_events, archive)
    assert (err.path, err.line) == (str(archive), None)
    assert err.problem == "zip holds no LOBSTER message file (*_message_N.csv)"
    _, problems = scan_file(archive)
    assert f"{archive.resolve()}: zip holds no LOBSTER message file (*_message_N.csv)" in problems


def test_zip_with_a_message_but_no_orderbook_member(tiny_lobster, tmp_path):
    tiny = tiny_lobster(folder="src")
    archive = tmp_path / "messages_only.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tiny.message, tiny.message.name)
    info = dataclasses.replace(
        _day_info(tiny),
        message_path=archive,
        message_member=tiny.message.name,
        orderbook_path=archive,
        orderbook_member=tiny.orderbook.name,
    )
    err = _error(load_day, info)
    assert err.path == f"{archive}:{tiny.message.name}" and "has no orderbook file" in err.problem
    _, problems = scan_file(archive)
    assert problems == [f"{archive.resolve()}:{tiny.message.name}: no orderbook file {tiny.orderbook.name} in the zip"]


def test_errors_inside_a_zip_name_the_member(tiny_lobster, tmp_path):
    tiny = tiny_lobster(folder="src")
    tiny.set_line("message", 6, "34300,9,0,0,-1,-1")
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tiny.message, tiny.message.name)
        zf.write(tiny.orderbook, tiny.orderbook.name)
    err = _error(load_events, archive)
    assert str(err) == f"{archive.resolve()}:{tiny.message.name}, line 6: column 2 (event type) is 9; must be 1..7"


def test_the_first_bad_line_wins_across_checks(tiny_lobster):
    tiny = tiny_lobster()
    tiny.set_line("message", 7, "34000,1,3,300,1000200,-1")  # time goes back
    tiny.set_line("message", 3, "34201.25,2,1,50,1000100,5")  # bad direction, earlier
    assert _error(load_events, tiny.message).line == 3


@pytest.mark.parametrize(
    ("first", "second", "line"),
    [
        ((2, "34200.5,1,2,200,999900"), (6, "34300,7,0,zero,-1,-1"), 2),  # column count before junk
        ((6, "34300,7,0,0,-1"), (2, "34200.5,1,2,2x0,999900,1"), 2),  # junk before column count
    ],
)
def test_the_first_bad_line_wins_across_parse_errors(tiny_lobster, first, second, line):
    tiny = tiny_lobster()
    tiny.set_line("message", *first)
    tiny.set_line("message", *second)
    assert _error(load_events, tiny.message).line == line


def test_one_bad_dataset_does_not_hide_the_others(tiny_lobster, tmp_path):
    good = tiny_lobster(symbol="GOOD", folder="a")
    bad = tiny_lobster(symbol="BAD", folder="b")
    bad.set_line("message", 2, "34200.5,1,2,200,999900,0")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "broken.zip").write_bytes(b"this is not a zip")
    datasets, problems = discover_with_problems(tmp_path)
    assert [d.symbol for d in datasets] == ["GOOD"] and datasets[0].message_path == good.message.resolve()
    assert problems == [
        f"{bad.message.resolve()}, line 2: column 6 (direction) is 0; must be 1 (buy) or -1 (sell)",
        f"{(tmp_path / 'c' / 'broken.zip').resolve()}: not a readable zip file (File is not a zip file)",
    ]


def test_a_corrupt_zip_member_is_reported(tiny_lobster, tmp_path):
    tiny = tiny_lobster(folder="src")
    archive = tmp_path / "corrupt.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(tiny.message.name, tiny.message.read_text() * 50)
        zf.write(tiny.orderbook, tiny.orderbook.name)
    data = bytearray(archive.read_bytes())
    data[60:70] = bytes(10)  # inside the first member's compressed stream
    archive.write_bytes(bytes(data))
    err = _error(load_events, archive)
    assert err.path == f"{archive.resolve()}:{tiny.message.name}" and err.problem.startswith("corrupt zip data")
