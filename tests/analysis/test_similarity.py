"""Overlap coefficient, pooled per-minute similarity and 3-class accuracy with its baselines, on known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import similarity as sim
from analysis.realism_reference import TABLE7, table6_frame, table7_frame
from mars_core.data.schema import NS_PER_MINUTE

T0 = (9 * 60 + 30) * NS_PER_MINUTE


# --- overlap coefficient ---------------------------------------------------------------------


def test_overlap_of_identical_samples_is_one_and_of_disjoint_samples_zero() -> None:
    a = np.random.default_rng(0).normal(size=5000)
    assert sim.overlap_coefficient(a, a.copy()) == pytest.approx(1.0)
    assert sim.overlap_coefficient(a, a + 100) == 0.0


def test_overlap_of_unit_normals_one_apart_is_two_phi_minus_half() -> None:
    # OVL of N(0,1) and N(1,1) = 2 Phi(-1/2) = 0.617; with 20,000 draws each the histogram estimate is within 0.02.
    rng = np.random.default_rng(1)
    ovl = sim.overlap_coefficient(rng.normal(0, 1, 20_000), rng.normal(1, 1, 20_000))
    assert ovl == pytest.approx(2 * stats.norm.cdf(-0.5), abs=0.02)


def test_overlap_ignores_nans_and_handles_constant_and_empty_samples() -> None:
    assert sim.overlap_coefficient([1.0, np.nan, 2.0, np.inf], [1.0, 2.0]) == pytest.approx(1.0)
    assert sim.overlap_coefficient([3.0] * 5, [3.0] * 2) == 1.0
    assert sim.overlap_coefficient([3.0] * 5, [4.0] * 2) == 0.0
    assert math.isnan(sim.overlap_coefficient([], [1.0])) and math.isnan(sim.overlap_coefficient([np.nan], [1.0]))


def test_overlap_takes_explicit_bins_on_the_reference() -> None:
    a, b = [0, 0, 1, 1], [0, 1, 1, 1]  # two bins: p = (1/2, 1/2), q = (1/4, 3/4) -> 1/4 + 1/2
    assert sim.overlap_coefficient(a, b, bins=2) == sim.overlap_coefficient(b, a, bins=2) == pytest.approx(0.75)


def test_a_samples_outliers_do_not_coarsen_the_reference_ruler() -> None:
    rng = np.random.default_rng(2)
    reference = rng.normal(0, 1, 20_000)
    shifted = rng.normal(0.5, 1, 20_000)
    with_tail = np.r_[shifted, np.full(200, 60.0)]  # 1% far away: beyond the reference's bins, in the open bin
    plain = sim.overlap_coefficient(reference, shifted, bins=60)
    assert plain == pytest.approx(2 * stats.norm.cdf(-0.25), abs=0.02)
    assert sim.overlap_coefficient(reference, with_tail, bins=60) == pytest.approx(plain / 1.01, abs=0.005)
    assert sim.overlap_coefficient(reference, reference + 100, bins=60) == 0.0  # all of it beyond the ruler


# --- 3-class accuracy ------------------------------------------------------------------------


def test_tertile_classes_are_balanced_on_the_real_values() -> None:
    values = np.arange(30.0)
    classes = sim.classify(values, sim.tertile_edges(values))
    assert np.bincount(classes).tolist() == [10, 10, 10]
    assert sim.classify([np.nan], sim.tertile_edges(values)).tolist() == [-1]


# --- pooled per-minute scores ------------------------------------------------------------------


def _tables(values: np.ndarray, rollouts: int = 0) -> list[pd.DataFrame]:
    """(S, M) per-minute values of one row -> per start window, a table with every METRICS column."""
    out = []
    for s, row in enumerate(np.atleast_2d(values)):
        frame = pd.DataFrame({"start": s, "minute": np.arange(len(row))})
        if rollouts:
            frame.insert(1, "rollout", 0)
        for m in sim.METRICS:
            frame[m] = row
        out.append(frame)
    return out


def test_pooled_similarity_of_the_same_windows_is_one_and_of_disjoint_ones_zero() -> None:
    rng = np.random.default_rng(0)
    real = sim.pool(_tables(rng.normal(size=(10, 30))))
    assert all(v == 1.0 for v in sim.pooled_similarity(real, real).values())
    far = sim.pool(_tables(rng.normal(size=(10, 30)) + 100))
    assert all(v == 0.0 for v in sim.pooled_similarity(real, far).values())
    assert sim.mean_over_rows({"a": 0.5, "b": float("nan"), "c": 1.0}) == 0.75


def test_pooled_similarity_takes_the_resampled_windows_with_their_repeats() -> None:
    real = sim.pool(_tables(np.array([[0.0] * 4, [1.0] * 4])))
    other = sim.pool(_tables(np.array([[0.0] * 4, [1.0] * 4])))
    # windows (0, 0) of the real against (1, 1) of the other: the constant 0 against the constant 1
    assert sim.pooled_similarity(real, other, np.array([0, 0]), np.array([1, 1]))["spread"] == 0.0
    assert sim.pooled_similarity(real, other, np.array([0, 1]), np.array([1, 0]))["spread"] == 1.0


def test_accuracy_is_one_for_the_real_minutes_and_chance_for_independent_ones() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(40, 30))
    real = pd.concat(_tables(values), ignore_index=True)
    same = sim.three_class_accuracy(real, real.assign(rollout=0), "spread")
    assert same["accuracy"] == 1.0 and same["n"] == 1200
    noise = pd.concat(_tables(rng.normal(size=(40, 30)), rollouts=1), ignore_index=True)
    got = sim.three_class_accuracy(real, noise, "spread")
    assert abs(got["accuracy"] - 1 / 3) < 0.05 and abs(got["chance_exact"] - 1 / 3) < 0.01
    assert got["chance"] == 1 / 3 and abs(got["persistence"] - 1 / 3) < 0.05  # independent minutes


def test_persistence_baseline_of_a_trend_and_exact_chance_of_unbalanced_classes() -> None:
    trend = np.tile(np.arange(30.0), (3, 1))  # every window climbs: tertiles are the minutes 0-9, 10-19, 20-29
    real = pd.concat(_tables(trend), ignore_index=True)
    got = sim.three_class_accuracy(real, real.assign(rollout=0), "spread")
    assert got["persistence"] == pytest.approx(27 / 29)  # the class changes twice in 29 steps
    low = real.assign(rollout=0, spread=-1.0)  # every simulated minute in the low class
    got = sim.three_class_accuracy(real, low, "spread")
    assert got["accuracy"] == pytest.approx(1 / 3) and got["chance_exact"] == pytest.approx(1 / 3)


def test_reference_tables_use_our_keys_and_the_papers_values() -> None:
    assert list(TABLE7) == list(sim.METRICS)
    assert table7_frame().loc["volatility"].tolist() == [0.872, 0.516]
    assert table7_frame().loc["return_5min"].tolist() == [0.908, 0.531]
    assert table6_frame()["historical"].sum() == 9
    assert not table6_frame().loc["leverage_effect", "simulated"]
