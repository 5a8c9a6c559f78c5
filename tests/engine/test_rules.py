"""Market rules as a validated config: clear errors, clock parsing, sessions and the price band."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mars_core.engine import MarketRules, Session, SessionKind, format_clock, parse_clock
from mars_core.errors import ConfigError, MarsInputError

NS = 1_000_000_000


def session(kind: str, start: object, end: object) -> dict:
    return {"kind": kind, "start": start, "end": end}


BAD_RULES = [
    ("tick 0", {"tick_size": 0}, "rules.json: tick_size: Input should be greater than 0"),
    ("tick text", {"tick_size": "abc"}, "rules.json: tick_size: Input should be a valid integer"),
    ("negative lot", {"lot_size": -1}, "rules.json: lot_size: Input should be greater than 0"),
    ("band above 1", {"price_band": 1.5}, "rules.json: price_band: Input should be less than or equal to 1"),
    ("band 0", {"price_band": 0}, "rules.json: price_band: Input should be greater than 0"),
    (
        "overlap",
        {"sessions": [session("continuous", "09:30", "12:00"), session("halt", "11:00", "13:00")]},
        "sessions overlap or are out of order: continuous ends 12:00:00, halt starts 11:00:00",
    ),
    (
        "out of order",
        {"sessions": [session("continuous", "12:30", "16:00"), session("halt", "12:00", "12:30")]},
        "sessions overlap or are out of order: continuous ends 16:00:00, halt starts 12:00:00",
    ),
    (
        "start after end",
        {"sessions": [session("continuous", "16:00", "09:30")]},
        "rules.json: sessions.0: continuous session starts at 16:00:00, not before its end 09:30:00",
    ),
    (
        "empty session",
        {"sessions": [session("halt", "10:00", "10:00")]},
        "sessions.0: halt session starts at 10:00:00, not before",
    ),
    (
        "unknown kind",
        {"sessions": [session("lunch", "12:00", "13:00")]},
        "rules.json: sessions.0.kind: Input should be 'opening_auction', 'continuous', 'closing_auction', 'halt' or 'closed'",
    ),
    (
        "closed listed",
        {"sessions": [session("closed", "09:30", "16:00")]},
        "sessions.0: 'closed' is what lies between sessions",
    ),
    (
        "bad time",
        {"sessions": [session("continuous", "9h30", "16:00")]},
        "sessions.0.start: time '9h30' is not HH:MM or HH:MM:SS",
    ),
    (
        "hour 25",
        {"sessions": [session("continuous", "09:30", "25:00")]},
        "sessions.0.end: time '25:00' is after the end of the day",
    ),
    (
        "ns outside the day",
        {"sessions": [session("continuous", -5, "16:00")]},
        "sessions.0.start: time -5 ns is outside the day",
    ),
    ("extra key", {"tick": 100}, "rules.json: tick: Extra inputs are not permitted"),
    (
        "extra session key",
        {"sessions": [{**session("continuous", "09:30", "16:00"), "x": 1}]},
        "sessions.0.x: Extra inputs are not permitted",
    ),
    ("sessions not a list", {"sessions": 5}, "rules.json: sessions: Input should be a valid tuple"),
]


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in BAD_RULES], ids=[c[0] for c in BAD_RULES])
def test_bad_rules_raise_a_config_error_naming_the_field(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        MarketRules.from_dict(data, where="rules.json")
    assert message in str(err.value)
    assert isinstance(err.value, MarsInputError) and err.value.__cause__ is None  # shown as is, no traceback chain


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError, match=r"^rules.json: tick_size: .*; lot_size: .*; price_band: "):
        MarketRules.from_dict({"tick_size": 0, "lot_size": 0, "price_band": 2}, where="rules.json")


def test_rules_that_are_not_a_mapping_are_refused() -> None:
    with pytest.raises(ConfigError, match="rules.json: expected a mapping of settings, got list"):
        MarketRules.from_dict([("tick_size", 100)], where="rules.json")


def test_valid_rules_parse_clock_strings_and_keep_defaults() -> None:
    rules = MarketRules.from_dict(
        {
            "price_band": 0.05,
            "sessions": [session("opening_auction", "09:25", "09:30"), session("continuous", "09:30:00", "16:00:00.5")],
        }
    )
    assert (rules.tick_size, rules.lot_size, rules.price_band) == (100, 1, 0.05)
    assert [(s.kind, s.start, s.end) for s in rules.sessions] == [
        (SessionKind.OPENING_AUCTION, 34_200 * NS - 300 * NS, 34_200 * NS),
        (SessionKind.CONTINUOUS, 34_200 * NS, 57_600 * NS + NS // 2),
    ]
    assert MarketRules().sessions == (Session(kind=SessionKind.CONTINUOUS, start="09:30", end="16:00"),)


def test_back_to_back_sessions_and_session_lookup_at_the_edges() -> None:
    rules = MarketRules.nasdaq(auctions=True)
    assert [s.kind for s in rules.sessions] == [
        SessionKind.OPENING_AUCTION,
        SessionKind.CONTINUOUS,
        SessionKind.CLOSING_AUCTION,
    ]
    assert rules.session_at(parse_clock("09:24:59.999999")) is None
    assert rules.session_at(parse_clock("09:25")).kind == SessionKind.OPENING_AUCTION  # start inclusive
    assert rules.session_at(parse_clock("09:30")).kind == SessionKind.CONTINUOUS  # end exclusive
    assert rules.session_at(parse_clock("16:04:59")).kind == SessionKind.CLOSING_AUCTION
    assert rules.session_at(parse_clock("16:05")) is None
    assert [s.kind for s in MarketRules.nasdaq().sessions] == [SessionKind.CONTINUOUS]
    assert SessionKind.CLOSING_AUCTION.is_auction and not SessionKind.HALT.is_auction


def test_parse_clock_forms_and_errors() -> None:
    assert parse_clock("09:30") == parse_clock("09:30:00") == parse_clock(" 09:30:00.000 ") == 34_200 * NS
    assert parse_clock("00:00:00.000001") == 1_000
    assert parse_clock(5) == 5
    assert parse_clock("09:30:00.123456789") == 34_200 * NS + 123_456_789
    assert parse_clock("24:00") == 86_400 * NS  # the end of the day, for a session that lasts until midnight
    for bad in ("noon", "09:30:00.1234567891", "", "9h30"):
        with pytest.raises(ValueError, match="is not HH:MM or HH:MM:SS"):
            parse_clock(bad)
    with pytest.raises(ValueError, match="above 59"):
        parse_clock("9:60")
    for late in ("24:00:01", "25:00"):
        with pytest.raises(ValueError, match="after the end of the day"):
            parse_clock(late)
    with pytest.raises(ValueError, match="outside the day"):
        parse_clock(86_400 * NS + 1)


def test_format_clock_drops_zero_fractions() -> None:
    assert format_clock(34_200 * NS) == "09:30:00"
    assert format_clock(34_200 * NS + 500_000_000) == "09:30:00.5"
    assert format_clock(57_599 * NS + 1) == "15:59:59.000000001"


@settings(max_examples=300, deadline=None)
@given(us=st.integers(0, 86_400 * 1_000_000 - 1))
def test_format_then_parse_round_trips_to_the_microsecond(us: int) -> None:
    assert parse_clock(format_clock(us * 1_000)) == us * 1_000


def test_format_then_parse_round_trips_nanoseconds() -> None:
    assert parse_clock(format_clock(34_200 * NS + 1)) == 34_200 * NS + 1


@settings(max_examples=300, deadline=None)
@given(reference=st.integers(100, 10**8), bps=st.integers(1, 10_000), tick=st.sampled_from([1, 100, 500]))
def test_band_is_the_tick_grid_inside_reference_times_one_plus_minus_band(reference: int, bps: int, tick: int) -> None:
    """Exact integer arithmetic on a band given in basis points."""
    rules = MarketRules(tick_size=tick, price_band=bps / 10_000)
    low, high = rules.band(reference)
    exact_low = -(-reference * (10_000 - bps) // (10_000 * tick)) * tick  # ceil to the grid
    exact_high = reference * (10_000 + bps) // (10_000 * tick) * tick  # floor to the grid
    assert (low, high) == (max(exact_low, tick), exact_high)


def test_band_examples_at_the_edges() -> None:
    rules = MarketRules(tick_size=100, price_band=0.15)
    # 2,998,354 x 0.85 = 2,548,600.9: the first allowed tick is 2,548,700 (it used to be 2,548,600)
    assert rules.band(2_998_354) == (2_548_700, 3_448_100)
    assert rules.band(1_000_000) == (850_000, 1_150_000)
    assert MarketRules(tick_size=100, price_band=1).band(1_000_000) == (100, 2_000_000)  # never below one tick
    assert MarketRules(tick_size=100).band(1_000_000) == (1, 2**63 - 1)  # no band configured
