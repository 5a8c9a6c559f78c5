"""Market impact from paired rollouts: per-trajectory metrics and impact curves (paper Sec. 3.2, 4.3, App. K).

A *paired trajectory* is one simulated future run twice on common random
numbers: once with a TWAP agent (treated) and once without (baseline). The
difference of the two mid-price paths is the impact of the agent's trading.

Units: time in float seconds since the agent's start (t = 0; convert the
engine's int ns with `(ts_ns - start_ns) / 1e9`), prices as floats in any one
unit (dollars, or LOBSTER's price units: every price metric here is relative),
volumes in shares.

Definitions (side = +1 buy, -1 sell, so a positive impact is adverse):
    impact(t)    = side * (mid_treated(t) - mid_baseline(t)) / arrival_mid
    impact_end   = impact at the end of execution (linear interpolation on the grid)
    fulfillment  = filled qty / Q
    slippage_bps = side * (VWAP - arrival_mid) / arrival_mid * 1e4
    sigma        = std (ddof=1) of the 1-minute log returns of the pre-trade mids
                   over the last `window` minutes (fewer when fewer are given)
    q_over_v     = Q / V, V the market volume of the baseline's execution window
plus the App. K factors of `analysis.factors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import factors
from mars_core.errors import MarsInputError

METRIC_COLUMNS = [
    "traj_id",
    "config",
    "side",
    "q_over_v",
    "sqrt_q_over_v",
    "impact_end",
    "fulfillment",
    "slippage_bps",
    "sigma",
    "mid_price",
    "resiliency",
    "lob_pressure",
    "lob_depth",
    "agent_rollout",
    "agent_replay",
    "filled_qty",
    "vwap",
]
"""Columns of `metrics_frame`, one row per paired trajectory."""

CURVE_COLUMNS = ["traj_id", "config", "t_s", "impact"]
"""Columns of `curve_frame` (long format, one row per trajectory and grid time)."""

BAND_COLUMNS = ["config", "t_s", "minute", "phase", "mean", "lo", "hi", "n"]
"""Columns of `impact_curves`: mean impact and its band per group and grid time (the group column is named `by`)."""


@dataclass(frozen=True, eq=False)
class PairedTrajectory:
    """One treated rollout and its baseline on a common grid, with what the factors need.

    Attributes:
        traj_id: identifier, unique within a study.
        config: agent configuration label, e.g. "L1-P0.9" (aggressive price ask1, PVR 0.9).
        side: +1 for a buy programme, -1 for a sell.
        t_s: (T,) increasing grid times, float seconds since the agent's start.
        mid_treated: (T,) mid price of the rollout with the agent.
        mid_baseline: (T,) mid price of the paired rollout without the agent.
        arrival_mid: mid price at the agent's start (> 0).
        target_qty: Q, the shares the agent was asked to trade (> 0).
        market_volume: V, shares traded in the baseline during the execution window (> 0).
        pre_mid: (M,) mid at the end of each pre-trade minute, oldest first; the
            last entry is the last minute before the start (M >= 3).
        pre_ask_volume: visible ask volume of the book in the last pre-trade minute.
        pre_bid_volume: visible bid volume of the book in the last pre-trade minute.
        fill_t_s: (K,) agent fill times, seconds since the start.
        fill_price: (K,) agent fill prices (same unit as the mids).
        fill_qty: (K,) agent fill sizes, shares.
        execution_s: length of the execution window, seconds (paper: 5 minutes).
        market_volume_treated: shares traded in the treated rollout during the
            execution window, agent included (eq. 12); None means V + filled qty.
        replay_volume: shares traded in the real (replayed) day during the execution
            window (eq. 13); None means V.
    """

    traj_id: str
    config: str
    side: int
    t_s: np.ndarray
    mid_treated: np.ndarray
    mid_baseline: np.ndarray
    arrival_mid: float
    target_qty: float
    market_volume: float
    pre_mid: np.ndarray
    pre_ask_volume: float
    pre_bid_volume: float
    fill_t_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    fill_price: np.ndarray = field(default_factory=lambda: np.empty(0))
    fill_qty: np.ndarray = field(default_factory=lambda: np.empty(0))
    execution_s: float = 300.0
    market_volume_treated: float | None = None
    replay_volume: float | None = None

    def __post_init__(self) -> None:
        where = f"trajectory {self.traj_id!r}"
        if self.side not in (1, -1):
            raise MarsInputError(f"{where}: side must be +1 (buy) or -1 (sell), was {self.side}")
        t = np.asarray(self.t_s, dtype=float)
        if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
            raise MarsInputError(f"{where}: t_s must be a 1-D strictly increasing grid of at least 2 times")
        for name in ("mid_treated", "mid_baseline"):
            if np.shape(getattr(self, name)) != t.shape:
                raise MarsInputError(f"{where}: {name} has shape {np.shape(getattr(self, name))}, t_s has {t.shape}")
        for name in ("arrival_mid", "target_qty", "market_volume", "execution_s", "pre_ask_volume", "pre_bid_volume"):
            if not float(getattr(self, name)) > 0:
                raise MarsInputError(f"{where}: {name} must be positive, was {getattr(self, name)}")
        if np.size(self.pre_mid) < 3 or np.any(np.asarray(self.pre_mid) <= 0):
            raise MarsInputError(
                f"{where}: pre_mid needs at least 3 positive per-minute mids, got {np.size(self.pre_mid)}"
            )
        if not np.size(self.fill_t_s) == np.size(self.fill_price) == np.size(self.fill_qty):
            raise MarsInputError(f"{where}: fill_t_s, fill_price and fill_qty must have the same length")

    @property
    def impact(self) -> np.ndarray:
        """(T,) relative impact side * (treated - baseline) / arrival_mid."""
        diff = np.asarray(self.mid_treated, dtype=float) - np.asarray(self.mid_baseline, dtype=float)
        return self.side * diff / self.arrival_mid

    @property
    def filled_qty(self) -> float:
        return float(np.sum(self.fill_qty))


def pre_trade_sigma(pre_mid: np.ndarray, window: int = 30) -> float:
    """Std (ddof=1) of the 1-minute log returns of the last `window` + 1 pre-trade mids."""
    if window < 2:
        raise MarsInputError(f"window must be at least 2 minutes, was {window}")
    mids = np.asarray(pre_mid, dtype=float)[-(window + 1) :]
    return float(np.std(np.diff(np.log(mids)), ddof=1))


def vwap(prices: np.ndarray, qty: np.ndarray) -> float:
    """Volume-weighted average fill price; NaN without fills."""
    total = float(np.sum(qty))
    return float(np.dot(prices, qty) / total) if total > 0 else float("nan")


def trajectory_metrics(
    traj: PairedTrajectory,
    window: int = 30,
    alpha: float = 0.5,
    beta: float = 0.5,
    omega: Sequence[float] | None = None,
) -> dict:
    """Metrics and App. K factors of one paired trajectory (see the module docstring).

    Args:
        traj: the paired trajectory.
        window: pre-trade window in minutes for sigma and, with the default
            uniform omega, for the pre-trading moment of eq. (8).
        alpha: weight of the ask side in LOB pressure, eq. (6), in (0, 1).
        beta: weight of the ask side in LOB depth, eq. (7), in (0, 1).
        omega: weights of eq. (8) over the minutes before the last pre-trade
            minute, oldest first; None = uniform over min(window, M - 1) minutes.

    Returns:
        A JSON-serialisable dict with the keys of `METRIC_COLUMNS`.
    """
    n_moment = min(window, np.size(traj.pre_mid) - 1) if omega is None else len(omega)
    if n_moment > np.size(traj.pre_mid) - 1:
        raise MarsInputError(
            f"omega has {n_moment} weights but trajectory {traj.traj_id!r} has only "
            f"{np.size(traj.pre_mid) - 1} pre-trade minutes before the last one"
        )
    pre_mid = np.asarray(traj.pre_mid, dtype=float)[-(n_moment + 1) :]
    filled = traj.filled_qty
    rollout_volume = (
        traj.market_volume_treated if traj.market_volume_treated is not None else traj.market_volume + filled
    )
    avg_price = vwap(np.asarray(traj.fill_price, dtype=float), np.asarray(traj.fill_qty, dtype=float))
    q_over_v = traj.target_qty / traj.market_volume
    ask, bid = traj.pre_ask_volume, traj.pre_bid_volume
    return {
        "traj_id": str(traj.traj_id),
        "config": str(traj.config),
        "side": int(traj.side),
        "q_over_v": float(q_over_v),
        "sqrt_q_over_v": float(np.sqrt(q_over_v)),
        "impact_end": float(np.interp(traj.execution_s, traj.t_s, traj.impact)),
        "fulfillment": filled / traj.target_qty,
        "slippage_bps": float(traj.side * (avg_price - traj.arrival_mid) / traj.arrival_mid * 1e4),
        "sigma": pre_trade_sigma(traj.pre_mid, window),
        "mid_price": float(traj.arrival_mid),
        "resiliency": float(factors.resiliency(pre_mid, omega)),
        "lob_pressure": float(factors.lob_pressure(filled, ask, bid, alpha)),
        "lob_depth": float(factors.lob_depth(ask, bid, beta)),
        "agent_rollout": float(factors.agent_rollout(filled, rollout_volume)),
        "agent_replay": float(factors.agent_replay(filled, traj.replay_volume or traj.market_volume)),
        "filled_qty": filled,
        "vwap": avg_price,
    }


def metrics_frame(items: Iterable[PairedTrajectory | Mapping], **factor_args) -> pd.DataFrame:
    """One row per trajectory with the columns of `METRIC_COLUMNS`.

    Args:
        items: paired trajectories, or dicts already made by `trajectory_metrics`.
        **factor_args: passed to `trajectory_metrics` (window, alpha, beta, omega).
    """
    rows = [trajectory_metrics(x, **factor_args) if isinstance(x, PairedTrajectory) else dict(x) for x in items]
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def curve_frame(trajs: Iterable[PairedTrajectory]) -> pd.DataFrame:
    """Impact curves in long format (`CURVE_COLUMNS`), one row per trajectory and grid time."""
    parts = [
        pd.DataFrame(
            {
                "traj_id": str(t.traj_id),
                "config": str(t.config),
                "t_s": np.asarray(t.t_s, dtype=float),
                "impact": t.impact,
            }
        )
        for t in trajs
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CURVE_COLUMNS)


def long_term_curves(
    trajs: Sequence[PairedTrajectory], step_s: float = 60.0, horizon_s: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Impact after the end of execution on a common grid, the input of the decay ODE (eq. 2).

    Args:
        trajs: paired trajectories (their grids may differ).
        step_s: spacing of the common grid, seconds.
        horizon_s: observation length after execution; default the shortest one available.

    Returns:
        t_min: (T,) minutes since the end of execution, starting at 0.
        curves: (N, T) impact, linearly interpolated; curves[:, 0] is impact_end.
    """
    if not trajs:
        raise MarsInputError("long_term_curves: no trajectories")
    available = min(float(t.t_s[-1]) - t.execution_s for t in trajs)
    horizon = available if horizon_s is None else float(horizon_s)
    if horizon > available + 1e-9 or horizon < step_s:
        raise MarsInputError(
            f"horizon_s={horizon} must be between step_s={step_s} and the shortest observation, {available} s"
        )
    rel = np.arange(0.0, horizon + 1e-9, step_s)
    curves = np.stack([np.interp(t.execution_s + rel, t.t_s, t.impact) for t in trajs])
    return rel / 60.0, curves


def _band_t(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and Student-t band per column of (N, T) `values` (NaN = missing)."""
    n = np.sum(np.isfinite(values), axis=0)
    mean = np.nanmean(values, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # a time seen once has no band (NaN)
        sem = np.sqrt(np.nansum((values - mean) ** 2, axis=0) / (n - 1) / n)
    half = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sem
    return mean, mean - half, mean + half, n


def _band_bootstrap(values: np.ndarray, level: float, n_boot: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Mean and percentile-bootstrap band per column, resampling whole curves."""
    n = np.sum(np.isfinite(values), axis=0)
    idx = rng.integers(0, values.shape[0], size=(n_boot, values.shape[0]))
    boot = np.nanmean(values[idx], axis=1)  # (B, T)
    lo, hi = np.nanquantile(boot, [0.5 - level / 2, 0.5 + level / 2], axis=0)
    return np.nanmean(values, axis=0), lo, hi, n


def impact_curves(
    data: pd.DataFrame | Iterable[PairedTrajectory],
    by: str = "config",
    execution_s: float = 300.0,
    method: str = "t",
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    normalize: bool = False,
) -> pd.DataFrame:
    """Mean impact curve with a confidence band per group and grid time (Fig. 23b).

    Args:
        data: a `curve_frame` (or trajectories to build it from), plus a `by` column.
        by: grouping column.
        execution_s: end of execution; times up to it are phase "short"
            (short-term impact), later ones "long".
        method: "t" (Student-t band of the mean) or "bootstrap" (percentile
            band, resampling whole trajectories, `n_boot` draws, seeded).
        level: confidence level of the band.
        n_boot: bootstrap draws.
        seed: bootstrap seed.
        normalize: divide each group's mean and band by the peak |mean| of that
            group, as Fig. 23b shows impact on a 0-1 scale.

    Returns:
        DataFrame with `BAND_COLUMNS` (the first named `by`), sorted by group and time.
    """
    frame = data if isinstance(data, pd.DataFrame) else curve_frame(data)
    if method not in ("t", "bootstrap"):
        raise MarsInputError(f"method must be 't' or 'bootstrap', was {method!r}")
    rng = np.random.default_rng(seed)
    parts = []
    for key, group in frame.groupby(by, sort=True):
        wide = group.pivot_table(index="traj_id", columns="t_s", values="impact", aggfunc="mean")
        values = wide.to_numpy(dtype=float)
        mean, lo, hi, n = _band_t(values, level) if method == "t" else _band_bootstrap(values, level, n_boot, rng)
        scale = np.nanmax(np.abs(mean)) if normalize and np.any(mean != 0) else 1.0
        t = wide.columns.to_numpy(dtype=float)
        parts.append(
            pd.DataFrame(
                {
                    by: key,
                    "t_s": t,
                    "minute": t / 60.0,
                    "phase": np.where(t <= execution_s, "short", "long"),
                    "mean": mean / scale,
                    "lo": lo / scale,
                    "hi": hi / scale,
                    "n": n,
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[by, *BAND_COLUMNS[1:]])


def split_trajectories(ids: np.ndarray, test_frac: float, seed: int) -> np.ndarray:
    """Boolean test mask that keeps all rows of a trajectory on the same side of the split."""
    if not 0 < test_frac < 1:
        raise MarsInputError(f"test_frac must lie in (0, 1), was {test_frac}")
    unique = np.unique(ids)
    if unique.size < 2:
        raise MarsInputError(f"a train/test split needs at least 2 trajectories, got {unique.size}")
    n_test = min(max(1, int(round(test_frac * unique.size))), unique.size - 1)
    rng = np.random.default_rng(seed)
    return np.isin(ids, rng.permutation(unique)[:n_test])
