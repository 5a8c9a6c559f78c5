"""Circular block bootstrap over start windows, with basic (reverse-percentile) intervals.

Start windows that begin every couple of minutes and last 30 overlap, so neighbouring windows share most of their
minutes and are far from independent. A resample therefore takes circular blocks of `block` consecutive start
windows (Politis & Romano, 1992): block starts are drawn uniformly, each block wraps around the end, and blocks are
joined until there are as many windows as in the sample. The same index arrays can resample several samples
jointly (the real windows and every simulated background at the same starts), so a paired difference keeps its
pairing. The basic interval of an estimate t with replicates t* is [2t - q(1 - a/2), 2t - q(a/2)].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BLOCK = 15  # consecutive start windows per block: 30 minutes of starts every 2 minutes
RESAMPLES = 1000
LEVEL = 0.95


def effective_block(block: int, n: int) -> int:
    """The block length used on n start windows: at most n // 2, so that a short sample still has two blocks to draw
    and a resample is not a mere rotation of the sample."""
    return max(1, min(block, n // 2))


def block_indices(n: int, n_boot: int, rng: np.random.Generator, block: int = BLOCK) -> np.ndarray:
    """(n_boot, n) indices of start windows: circular blocks of `effective_block(block, n)` consecutive ones."""
    if n < 1:
        raise ValueError(f"a bootstrap needs at least one start window, got {n}")
    block = effective_block(block, n)
    n_blocks = -(-n // block)
    firsts = rng.integers(0, n, size=(n_boot, n_blocks, 1))
    idx = (firsts + np.arange(block)) % n  # (n_boot, n_blocks, block)
    return idx.reshape(n_boot, n_blocks * block)[:, :n]


def basic_interval(estimate: float, replicates: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The basic bootstrap interval [2t - q(1 - a/2), 2t - q(a/2)] from the finite replicates (NaN if none)."""
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if len(reps) == 0 or not np.isfinite(estimate):
        return float("nan"), float("nan")
    alpha = 1 - level
    low_q, high_q = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return float(2 * estimate - high_q), float(2 * estimate - low_q)


def block_bootstrap(
    statistic: Callable[[np.ndarray], float],
    n: int,
    n_boot: int = RESAMPLES,
    seed: int = 0,
    block: int = BLOCK,
    level: float = LEVEL,
) -> tuple[float, tuple[float, float], np.ndarray]:
    """A statistic of n start windows with its basic block-bootstrap interval.

    Args:
        statistic: maps an index array of start windows (with repeats) to a number; it is called once on
            `arange(n)` for the estimate, then once per resample.
        n: start windows.
        n_boot, seed, block, level: resamples, their seed, the block length and the interval's level.

    Returns:
        (estimate, (low, high), replicates (n_boot,)).
    """
    estimate = float(statistic(np.arange(n)))
    replicates = np.array([statistic(idx) for idx in block_indices(n, n_boot, np.random.default_rng(seed), block)])
    return estimate, basic_interval(estimate, replicates, level), replicates
