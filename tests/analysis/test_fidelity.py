"""Closed-loop fidelity ratios, variance ratio and trend slopes on known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import fidelity
from analysis.minute_metrics import FLOW
from analysis.similarity import METRICS


def _side(n_starts: int, minutes: int, value: float, returns: np.ndarray | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"start": np.repeat(np.arange(n_starts), minutes), "minute": np.tile(np.arange(minutes), n_starts)}
    )
    for column in dict.fromkeys((*METRICS, *FLOW)):
        frame[column] = value
    if returns is not None:
        frame["return_1min"] = returns.ravel()
    return frame


def test_bucket_ratios_are_ratios_of_means_per_five_minutes() -> None:
    real, sim = _side(4, 30, 10.0), _side(4, 30, 20.0).assign(rollout=0)
    sim.loc[sim["minute"] >= 25, "spread"] = 5.0  # the last bucket halves
    ratios = fidelity.bucket_ratios(real, sim, 30)
    assert set(ratios) == set(FLOW) and all(len(v) == 6 for v in ratios.values())
    assert ratios["depth"] == [2.0] * 6 and ratios["spread"] == [2.0] * 5 + [0.5]


def test_variance_ratio_is_one_for_a_random_walk_and_zero_when_the_mid_comes_back() -> None:
    rng = np.random.default_rng(0)
    walk = _side(2000, 30, 0.0, rng.normal(size=(2000, 30)))
    assert fidelity.variance_ratio(walk, 30) == pytest.approx(1.0, abs=0.08)
    back = _side(50, 30, 0.0, np.tile([0.01, -0.01], (50, 15)))
    assert fidelity.variance_ratio(back, 30) == 0.0
    got = fidelity.fidelity(walk, back.assign(rollout=0), 30, np.zeros(2000))
    assert got["variance_ratio"] == 0.0 and got["volatility"] == pytest.approx(0.01, rel=0.05)


def test_trend_slopes_are_per_hour_of_start_time() -> None:
    hours = np.array([14.5, 15.0, 15.5])
    table = _side(3, 30, 0.0)
    table["spread"] = 100 + 20 * hours[table["start"]]
    slopes = fidelity.trend_slopes(table, hours)
    assert slopes["spread"] == pytest.approx(20.0) and slopes["submissions"] == pytest.approx(0.0)
