"""Market-impact factors of the MarS paper, App. K eqs. (5)-(13), and their correlations (Fig. 25).

The paper's PDF text lost its Greek letters; the formulas below are the
reconstruction implemented here ("last" is the last minute before the agent
starts to trade, t0 the first minute of the pre-trade window, A the agent's
traded volume between trade start and trade end, a and b the visible ask and
bid volumes of the book in the last pre-trade minute)::

    (5)  resiliency    = -1 \\cdot \\log |m|
    (8)  m             = \\sum_{t=t_0}^{last-1} \\omega_t \\, mid_t / mid_{last} - 1
    (6)  LOB\\_pressure = (\\alpha \\, trans_{ask} + (1-\\alpha) \\, trans_{bid}) \\cdot imb_{last}
    (9)  trans_{ask}   = A / (A + a)
    (10) trans_{bid}   = A / (A + b)
    (11) imb_{last}    = |a - b| / (a + b)
    (7)  LOB\\_depth    = \\log(\\beta \\, a + (1-\\beta) \\, b)
    (12) agent\\_rollout = A / total traded volume of the rollout (with the agent)
    (13) agent\\_replay  = A / total traded volume of the replay (without the agent)

with hyper-parameters alpha in (0, 1), beta in (0, 1), every omega_t in (0, 1)
and sum_t omega_t = 1. The paper lists them as "alpha, beta, {omega_t}"; which
of alpha/beta belongs to (6) and which to (7) is not legible in the text, so
alpha is taken for (6) and beta for (7), in order of appearance.

All functions are vectorised: array arguments broadcast like NumPy ufuncs.
Volumes are in shares, prices in any consistent unit (the factors are
unit-free except LOB depth, the log of a share count).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mars_core.errors import MarsInputError

FACTOR_COLUMNS = ["sqrt_q_over_v", "sigma", "resiliency", "lob_depth", "lob_pressure"]
"""The square-root-law factors and the three new factors, in the order of Fig. 25."""

ArrayLike = float | np.ndarray | Sequence[float]
FACTOR_LABELS = {
    "sqrt_q_over_v": "sqrt(Q/V)",
    "sigma": "volatility",
    "resiliency": "resiliency",
    "lob_depth": "LOB_depth",
    "lob_pressure": "LOB_pressure",
    "mid_price": "mid_price",
    "agent_replay": "agent_replay",
    "agent_rollout": "agent_rollout",
    "q_over_v": "Q/V",
}
MOMENT_FLOOR = 1e-6  # |m| below this (a flat pre-trade window) would make eq. (5) infinite


def check_unit_interval(name: str, value: float) -> float:
    """`value` if it lies in the open interval (0, 1), else a ValueError naming `name`."""
    if not 0.0 < float(value) < 1.0:
        raise MarsInputError(f"{name} must lie in the open interval (0, 1), was {value}")
    return float(value)


def check_omega(omega: ArrayLike) -> np.ndarray:
    """The weights {omega_t} of eq. (8) as an array, validated: each in (0, 1), summing to 1."""
    w = np.atleast_1d(np.asarray(omega, dtype=float))
    if w.ndim != 1 or w.size < 2:
        raise MarsInputError(
            f"omega must be a 1-D sequence of at least 2 weights (each in (0, 1)), got shape {w.shape}"
        )
    if not np.all((w > 0) & (w < 1)):
        raise MarsInputError(f"omega: every weight must lie in the open interval (0, 1), got {w.tolist()}")
    if not np.isclose(w.sum(), 1.0, rtol=0, atol=1e-9):
        raise MarsInputError(f"omega: weights must sum to 1, sum was {w.sum():.12g}")
    return w


def uniform_omega(n: int) -> np.ndarray:
    """Equal weights 1/n over the n pre-trade minutes before the last one (n >= 2)."""
    if n < 2:
        raise MarsInputError(f"omega: need at least 2 pre-trade minutes before the last one, got {n}")
    return np.full(n, 1.0 / n)


def pre_trading_moment(pre_mid: np.ndarray, omega: ArrayLike | None = None) -> np.ndarray:
    """Eq. (8): weighted mean of the pre-trade mids relative to the last pre-trade minute, minus 1.

    Args:
        pre_mid: (..., M) mid price at each pre-trade minute, oldest first; the
            last column is the last minute before the agent starts.
        omega: (M-1,) weights for minutes t0..last-1 (each in (0, 1), sum 1);
            default uniform.

    Returns:
        (...,) m = sum_t omega_t mid_t / mid_last - 1.
    """
    mids = np.asarray(pre_mid, dtype=float)
    w = uniform_omega(mids.shape[-1] - 1) if omega is None else check_omega(omega)
    if w.size != mids.shape[-1] - 1:
        raise MarsInputError(
            f"omega has {w.size} weights but pre_mid has {mids.shape[-1] - 1} minutes before the last one"
        )
    return mids[..., :-1] @ w / mids[..., -1] - 1.0


def resiliency(pre_mid: np.ndarray, omega: ArrayLike | None = None, floor: float = MOMENT_FLOOR) -> np.ndarray:
    """Eq. (5): resiliency = -log|m| with m the pre-trading moment of eq. (8).

    A small |m| (the price came back to where it was) gives a large resiliency.
    |m| is floored at `floor` so that a perfectly flat window gives a finite
    value (-log(1e-6) = 13.8 by default).
    """
    return -np.log(np.maximum(np.abs(pre_trading_moment(pre_mid, omega)), floor))


def agent_trans(agent_volume: ArrayLike, book_volume: ArrayLike) -> np.ndarray:
    """Eqs. (9)/(10): A / (A + book volume), the agent's volume relative to one side of the book."""
    a = np.asarray(agent_volume, dtype=float)
    return a / (a + np.asarray(book_volume, dtype=float))


def lob_imbalance(ask_volume: ArrayLike, bid_volume: ArrayLike) -> np.ndarray:
    """Eq. (11): |a - b| / (a + b) of the last pre-trade minute's book."""
    a, b = np.asarray(ask_volume, dtype=float), np.asarray(bid_volume, dtype=float)
    return np.abs(a - b) / (a + b)


def lob_pressure(
    agent_volume: ArrayLike, ask_volume: ArrayLike, bid_volume: ArrayLike, alpha: float = 0.5
) -> np.ndarray:
    """Eq. (6): (alpha trans_ask + (1 - alpha) trans_bid) * imbalance, alpha in (0, 1)."""
    alpha = check_unit_interval("alpha", alpha)
    trans = alpha * agent_trans(agent_volume, ask_volume) + (1 - alpha) * agent_trans(agent_volume, bid_volume)
    return trans * lob_imbalance(ask_volume, bid_volume)


def lob_depth(ask_volume: ArrayLike, bid_volume: ArrayLike, beta: float = 0.5) -> np.ndarray:
    """Eq. (7): log(beta a + (1 - beta) b), beta in (0, 1)."""
    beta = check_unit_interval("beta", beta)
    return np.log(beta * np.asarray(ask_volume, dtype=float) + (1 - beta) * np.asarray(bid_volume, dtype=float))


def agent_rollout(agent_volume: ArrayLike, rollout_volume: ArrayLike) -> np.ndarray:
    """Eq. (12): the agent's traded volume over the total traded volume of the rollout (with the agent)."""
    return np.asarray(agent_volume, dtype=float) / np.asarray(rollout_volume, dtype=float)


def agent_replay(agent_volume: ArrayLike, replay_volume: ArrayLike) -> np.ndarray:
    """Eq. (13): the agent's traded volume over the total traded volume of the replay (without the agent)."""
    return np.asarray(agent_volume, dtype=float) / np.asarray(replay_volume, dtype=float)


def correlation_matrix(frame: pd.DataFrame, cols: Sequence[str] = tuple(FACTOR_COLUMNS)) -> pd.DataFrame:
    """Pearson correlations between factor columns (Fig. 25), over rows where all are finite."""
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise MarsInputError(f"correlation_matrix: frame has no column(s) {missing}")
    values = frame[list(cols)].astype(float).replace([np.inf, -np.inf], np.nan).dropna()
    return values.corr()
