"""Control signals: relative target paths, and the replayed price curve of a real day."""

from __future__ import annotations

import numpy as np
import pytest

from mars_core.control.signals import ControlSignal, mid2_at, replay_curve
from mars_core.data import LobsterDay
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.engine import parse_clock
from mars_core.errors import MarsInputError


def test_a_signal_is_relative_to_its_start_and_interpolates_between_minutes() -> None:
    s = ControlSignal("t", np.array([0.01, 0.02, 0.0]))
    assert s.minutes == 2 and s.logret[0] == 0 and s.logret[1] == pytest.approx(0.01)
    assert s.target_logret(NS_PER_MINUTE // 2) == pytest.approx(0.005)
    assert s.target_logret(10 * NS_PER_MINUTE) == pytest.approx(-0.01)  # flat after the last point
    assert ControlSignal.from_dict(s.to_dict()).logret.tolist() == s.logret.tolist()
    with pytest.raises(MarsInputError, match="at least 2 finite minute points"):
        ControlSignal("bad", np.array([0.0, np.nan]))


def test_a_replay_curve_is_the_real_mid_path(goog_day: LobsterDay) -> None:
    start = parse_clock("14:40")
    curve = replay_curve(goog_day, start, 5)
    mids = mid2_at(goog_day, start + np.arange(6) * NS_PER_MINUTE).astype(float)
    assert np.allclose(curve.logret, np.log(mids / mids[0])) and curve.minutes == 5
    assert "GOOG 2012-06-21 14:40-14:45" in curve.source
    with pytest.raises(MarsInputError, match="runs past the end of the data"):
        replay_curve(goog_day, parse_clock("15:58"), 10)
