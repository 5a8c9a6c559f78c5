"""The circular block bootstrap over start windows, on known answers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import bootstrap


def test_blocks_are_consecutive_start_windows_wrapping_around() -> None:
    idx = bootstrap.block_indices(40, 200, np.random.default_rng(0), block=15)
    assert idx.shape == (200, 40) and idx.min() >= 0 and idx.max() < 40
    for row in idx:
        for first in (0, 15, 30):  # each block starts where the previous one ended
            block = row[first : first + 15]
            assert np.array_equal(block, (block[0] + np.arange(len(block))) % 40)
    assert len({tuple(r) for r in idx}) > 150  # resamples differ


def test_a_short_sample_keeps_two_blocks_and_one_window_is_fixed() -> None:
    idx = bootstrap.block_indices(6, 100, np.random.default_rng(0), block=15)  # block capped at 6 // 2 = 3
    assert all(np.array_equal(r[:3], (r[0] + np.arange(3)) % 6) for r in idx)
    assert (bootstrap.block_indices(1, 5, np.random.default_rng(0)) == 0).all()
    with pytest.raises(ValueError, match="at least one start window"):
        bootstrap.block_indices(0, 5, np.random.default_rng(0))


def test_basic_interval_reflects_the_replicates_around_the_estimate() -> None:
    reps = np.arange(1001) / 1000  # quantiles 0.025 and 0.975
    lo, hi = bootstrap.basic_interval(0.6, reps)
    assert (lo, hi) == pytest.approx((2 * 0.6 - 0.975, 2 * 0.6 - 0.025))
    assert np.isnan(bootstrap.basic_interval(float("nan"), reps)).all()
    assert np.isnan(bootstrap.basic_interval(0.5, np.array([np.nan]))).all()


def test_interval_of_a_mean_covers_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    for trial in range(60):
        data = rng.normal(loc=3.0, size=120)
        _, (lo, hi), _ = bootstrap.block_bootstrap(lambda i, d=data: d[i].mean(), 120, n_boot=300, seed=trial, block=5)
        covered += lo <= 3.0 <= hi
    assert covered >= 52  # 95% nominal: 57 of 60 expected, >= 52 with high probability


def test_blocks_widen_the_interval_of_dependent_windows() -> None:
    rng = np.random.default_rng(3)
    walk = np.repeat(rng.normal(size=20), 10)  # runs of 10 identical neighbours, like overlapping windows
    width = {}
    for block in (1, 10):
        _, (lo, hi), _ = bootstrap.block_bootstrap(lambda i: walk[i].mean(), 200, n_boot=500, seed=0, block=block)
        width[block] = hi - lo
    assert width[10] > 2 * width[1]


def test_same_seed_same_interval() -> None:
    data = np.random.default_rng(0).normal(size=50)
    first = bootstrap.block_bootstrap(lambda i: data[i].mean(), 50, n_boot=100, seed=4)
    again = bootstrap.block_bootstrap(lambda i: data[i].mean(), 50, n_boot=100, seed=4)
    other = bootstrap.block_bootstrap(lambda i: data[i].mean(), 50, n_boot=100, seed=5)
    assert first[1] == again[1] and np.array_equal(first[2], again[2]) and first[1] != other[1]
