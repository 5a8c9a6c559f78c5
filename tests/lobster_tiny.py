"""The tiny valid LOBSTER day (two levels) that the bad-data tests and the hostile corpus corrupt."""

from __future__ import annotations

SAMPLE_DATE = "2012-06-21"
DUMMY_LEVEL = "9999999999,0,-9999999999,0"

# A valid 2-level day: submits, a partial cancel, a visible and a hidden execution
# (order id 0), a halt (size 0, price -1), a delete; times with 1..9 decimals.
TINY_MESSAGES = [
    "34200.000000001,1,1,100,1000100,-1",
    "34200.5,1,2,200,999900,1",
    "34201.25,2,1,50,1000100,-1",
    "34260.123456789,4,2,100,999900,1",
    "34260.123456789,5,0,30,1000000,-1",
    "34300,7,0,0,-1,-1",
    "34320.2,1,3,300,1000200,-1",
    "34400.999999999,3,2,100,999900,1",
]
# The book after each message, 2 levels: ask p, ask size, bid p, bid size, then level 2.
TINY_BOOK = [
    "1000100,100,-9999999999,0," + DUMMY_LEVEL,
    "1000100,100,999900,200," + DUMMY_LEVEL,
    "1000100,50,999900,200," + DUMMY_LEVEL,
    "1000100,50,999900,100," + DUMMY_LEVEL,
    "1000100,50,999900,100," + DUMMY_LEVEL,
    "1000100,50,999900,100," + DUMMY_LEVEL,
    "1000100,50,999900,100,1000200,300,-9999999999,0",
    "1000100,50,-9999999999,0,1000200,300,-9999999999,0",
]


def tiny_book_rows(levels: int) -> list[str]:
    """TINY_BOOK cut or padded (with LOBSTER's dummy levels) to `levels` levels."""
    rows = []
    for row in TINY_BOOK:
        cells = row.split(",") + DUMMY_LEVEL.split(",") * max(0, levels - 2)
        rows.append(",".join(cells[: 4 * levels]))
    return rows
