"""Scenario arms: which arms run, and the real mid around a start that their paths are drawn against."""

from __future__ import annotations

import math

import pytest

from mars_core.data import LobsterDay
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.experiments import scenario


def test_plan_arms_covers_control_comparison_and_the_agent() -> None:
    keys = lambda arms: [a.key for a in arms]  # noqa: E731
    assert keys(scenario.plan_arms(True, True, False)) == ["control", "no_control"]
    assert keys(scenario.plan_arms(True, False, True)) == ["control", "control_twap"]
    assert keys(scenario.plan_arms(True, True, True)) == ["control", "no_control", "control_twap", "no_control_twap"]
    assert keys(scenario.plan_arms(False, False, True)) == [
        "no_control",
        "no_control_twap",
    ]  # no control models: uncontrolled


def test_real_context_is_the_real_mid_around_the_start(goog_day: LobsterDay) -> None:
    start = (11 * 60 + 6) * NS_PER_MINUTE
    (minutes, before), after = scenario.real_context(goog_day, start, 10)
    assert minutes[0] == -15 and minutes[-1] == 0 and before[-1] == 0.0 and len(after) == 10
    # GOOG fell 0.46% from 11:06 to 11:16 (the second-best sharp drop of the sample days)
    assert math.expm1(after[-1]) * 100 == pytest.approx(-0.4602, abs=1e-3)
    (minutes, _), _ = scenario.real_context(goog_day, goog_day.info.ts_start + 5 * NS_PER_MINUTE, 2)
    assert minutes[0] == -5  # no minutes before the data
