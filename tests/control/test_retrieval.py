"""Scenario retrieval: the filter's metrics on known paths, and known answers on the bundled GOOG and AMZN days."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mars_core.control.retrieval import (
    NoMatchError,
    Retrieved,
    describe_filter,
    retrieve,
    window_metrics,
)
from mars_core.control.scenarios import ScenarioSpec, parse_prompt
from mars_core.control.signals import mid2_at
from mars_core.data import LobsterDay
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.errors import MarsInputError

DAY_START = (9 * 60 + 35) * NS_PER_MINUTE
DAY_END = 16 * 60 * NS_PER_MINUTE


def real_logret(day: LobsterDay, w: Retrieved) -> float:
    """The window's return recomputed from the raw book, independently of the retrieval code path."""
    start, end = mid2_at(day, np.array([w.start_ts, w.end_ts]))
    return math.log(end / start)


def days(goog_day: LobsterDay, amzn_day: LobsterDay) -> dict[str, LobsterDay]:
    return {"GOOG": goog_day, "AMZN": amzn_day}


# ---- metrics on synthetic paths ------------------------------------------------------------------------
def test_window_metrics_of_a_straight_fall_and_a_v() -> None:
    line = -0.001 * np.arange(11.0)  # 10 minutes, -10 bps a minute
    _, m = window_metrics(line, 10, sigma1=0.001)
    assert m["z"][0] == pytest.approx(-10 / math.sqrt(10))
    assert m["r2"][0] == pytest.approx(1.0)
    assert m["burst_down"][0] == pytest.approx(0.4)  # 4 of the 10 equal steps
    assert m["rv"][0] == pytest.approx(1.0)  # every minute moves exactly sigma1

    v = np.r_[-0.001 * np.arange(6.0), -0.005 + 0.001 * np.arange(1.0, 6.0)]  # down 5 minutes, up 5 minutes
    paths, m = window_metrics(v, 10, sigma1=0.001)
    assert paths.shape == (1, 11) and paths[0, 0] == 0
    assert m["down_up.turn"][0] == 5 and m["down_up.leg1"][0] == pytest.approx(-0.005)
    assert m["down_up.z1"][0] == pytest.approx(-5 / math.sqrt(5)) and m["down_up.z2"][0] == pytest.approx(
        5 / math.sqrt(5)
    )
    assert m["down_up.retrace"][0] == pytest.approx(1.0)
    assert m["z"][0] == pytest.approx(0.0, abs=1e-12)


def test_window_metrics_count_every_start() -> None:
    paths, m = window_metrics(np.zeros(30), 10, sigma1=0.001)
    assert paths.shape == (20, 11) and len(m["z"]) == 20
    paths, m = window_metrics(np.zeros(5), 10, sigma1=0.001)
    assert paths.shape == (0, 11) and m == {}


# ---- known answers on the real days --------------------------------------------------------------------
def test_sharp_drop_retrieves_real_falls_ranked_and_rescaled(
    data_dir: Path, goog_day: LobsterDay, amzn_day: LobsterDay
) -> None:
    found = retrieve(parse_prompt("sharp drop of 2% over 10 minutes"), data_dir, k=10)
    # AMZN fell 0.76% from 12:20 to 12:30 on 2012-06-21: the steepest 10-minute fall of the two days
    assert found[0].label == "AMZN 2012-06-21 12:20-12:30"
    assert found[0].real_return_pct == pytest.approx(-0.7577, abs=1e-3)
    by_symbol = days(goog_day, amzn_day)
    for w in found:
        assert w.start_ts >= DAY_START and w.end_ts <= DAY_END and w.minutes == 10
        assert w.logret[-1] == pytest.approx(real_logret(by_symbol[w.symbol], w), abs=1e-12)
        assert w.real_return_pct < -0.3 and w.stats["z"] <= -2.0 and w.stats["burst_down"] >= 0.6
        assert math.expm1(w.signal.logret[-1]) == pytest.approx(-0.02)  # rescaled to the magnitude
        assert w.signal.logret == pytest.approx(w.logret * w.scale) and w.scale > 1
        assert w.signal.meta["spec"]["kind"] == "sharp_drop" and w.label in w.signal.source
    assert [w.score for w in found] == sorted((w.score for w in found), reverse=True)
    for a in found:  # windows of one day never overlap
        for b in found:
            if a is not b and (a.symbol, a.date) == (b.symbol, b.date):
                assert a.end_ts <= b.start_ts or b.end_ts <= a.start_ts


def test_sharp_rise_and_a_symbol_filter(data_dir: Path, amzn_day: LobsterDay) -> None:
    (rise,) = retrieve(parse_prompt("sharp rise over 10 minutes"), data_dir, k=5)
    # the only sharp 10-minute rise of either day: AMZN 10:44-10:54, +0.76%
    assert rise.label == "AMZN 2012-06-21 10:44-10:54"
    assert rise.real_return_pct == pytest.approx(0.7628, abs=1e-3)
    assert rise.logret[-1] == pytest.approx(real_logret(amzn_day, rise), abs=1e-12)
    assert rise.scale == 1.0 and np.array_equal(
        rise.signal.logret, rise.logret
    )  # no magnitude: the real path as it was

    goog = retrieve(parse_prompt("GOOG sharp drop of 1% over 5 minutes"), data_dir, k=5)
    assert {w.symbol for w in goog} == {"GOOG"} and all(w.real_return_pct < 0 for w in goog)
    with pytest.raises(MarsInputError, match=r"no catalogued day of MSFT; catalogued: AMZN, GOOG"):
        retrieve(ScenarioSpec(kind="sharp_drop", symbol="MSFT"), data_dir)


def test_trend_reversal_turns_inside_the_window_and_rescales_the_first_leg(data_dir: Path) -> None:
    found = retrieve(parse_prompt("drops 1% then recovers over 10 minutes"), data_dir, k=5)
    assert found and all(w.direction == "down_up" for w in found)
    for w in found:
        turn = int(w.stats["turn"])
        assert 3 <= turn <= 7 and w.logret[turn] == w.logret.min() < 0  # the window's low, in its middle half
        assert w.logret[-1] - w.logret[turn] >= 0.5 * -w.logret[turn]  # gives back at least half of the fall
        assert (
            w.signal.logret[turn] == w.signal.logret.min() == pytest.approx(math.log(0.99))
        )  # the first leg is now -1%
    both = retrieve(parse_prompt("trend reversal over 10 minutes"), data_dir, k=10)
    assert {w.direction for w in both} == {"down_up", "up_down"}


def test_volatility_spike_is_rescaled_to_its_realised_volatility(data_dir: Path) -> None:
    found = retrieve(parse_prompt("volatility spike of 0.5% over 10 minutes"), data_dir, k=3)
    for w in found:
        assert w.stats["rv"] >= 2.0
        assert np.sqrt((np.diff(w.signal.logret) ** 2).sum()) == pytest.approx(0.005)
    # the open is the most volatile: GOOG's first window after 09:35 leads
    assert found[0].label == "GOOG 2012-06-21 09:36-09:46"


def test_no_match_names_the_closest_window(data_dir: Path) -> None:
    with pytest.raises(NoMatchError) as err:
        retrieve(parse_prompt("GOOG rises sharply 1.5% in 10 min"), data_dir)
    text = str(err.value)
    assert "no 10-minute window of GOOG 2012-06-21 passes the sharp rise filter" in text
    assert "the closest, GOOG 2012-06-21 14:33-14:43, moved +0.189%" in text
    assert "move 1.25 σ (needs >= 2 σ, fails)" in text
    with pytest.raises(MarsInputError, match="at least 1 window"):
        retrieve(parse_prompt("sharp drop"), data_dir, k=0)


def test_describe_filter_states_the_rules_and_the_rescaling() -> None:
    text = describe_filter(parse_prompt("GOOG sharp drop of 2% over 12 minutes"))
    assert "every 12-minute window of GOOG's days, on whole minutes from 09:35 to 16:00" in text
    assert "the return over the 12 minutes is -2 σ or beyond" in text
    assert "the steepest 4 consecutive minutes carry at least 60% of the fall" in text
    assert text.endswith("rescaled so that it moves 2%.")
    reversal = describe_filter(parse_prompt("trend reversal over 20 minutes"))
    assert "- down, then up:" in reversal and "- up, then down:" in reversal
    assert "  - the window's low comes at minute 5 or later" in reversal and "  - and by minute 15" in reversal
    assert reversal.endswith("used as it was (no magnitude given).")
