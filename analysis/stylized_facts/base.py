"""The stylized facts' names and tests, the trajectories they are measured on and the block bootstrap of their
statistics (see the package docstring)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mars_core.data.schema import NS_PER_MINUTE

FACTS = (
    "absence_of_autocorrelations",
    "heavy_tails",
    "gain_loss_asymmetry",
    "aggregational_gaussianity",
    "intermittency",
    "volatility_clustering",
    "conditional_heavy_tails",
    "slow_decay_of_absolute_autocorrelation",
    "leverage_effect",
    "volume_volatility_correlation",
    "asymmetry_in_timescales",
)


FACT_NAMES = dict(
    zip(
        FACTS,
        (
            "Absence of autocorrelations",
            "Heavy tails",
            "Gain/loss asymmetry",
            "Aggregational Gaussianity",
            "Intermittency",
            "Volatility clustering",
            "Conditional heavy tails",
            "Slow decay of autocorrelation in absolute returns",
            "Leverage effect",
            "Volume/volatility correlation",
            "Asymmetry in timescales",
        ),
    )
)


FACT_TESTS = {
    "absence_of_autocorrelations": "ACF of 1-min last-price returns inside a Bonferroni 95% band at every lag 2..10 "
    "(lag 1 exempt: bid-ask bounce)",
    "heavy_tails": "excess kurtosis of 1-min returns: 95% CI above 0",
    "gain_loss_asymmetry": "skewness averaged over 1..20-min returns: 95% CI below 0",
    "aggregational_gaussianity": "heavy tails at 1 min, and kurtosis(1 min) - kurtosis(20 min): 95% CI above 0",
    "intermittency": "Fano factor of counts of |r| > 99% quantile per 15-min window above its Monte Carlo "
    "null (extremes placed uniformly at random): p < 0.05",
    "volatility_clustering": "ACF of |r| averaged over lags 1..10: 95% CI above 0",
    "conditional_heavy_tails": "excess kurtosis of 1-min returns / time-of-day volatility: 95% CI above 0",
    "slow_decay_of_absolute_autocorrelation": "ACF of |r| at lag 10: 95% CI above 0",
    "leverage_effect": "corr(r_t, |r_t+k|) averaged over k = 1..10: 95% CI below 0",
    "volume_volatility_correlation": "corr(volume_t, |r_t|): 95% CI above 0",
    "asymmetry_in_timescales": "rho(k) - rho(-k), rho(k) = corr(coarse vol_t+k, fine vol_t), averaged over "
    "k = 1..10: 95% CI below 0",
}


@dataclass(frozen=True, slots=True)
class Trajectories:
    """Pooled trajectories on regular minute grids, concatenated; all arrays (T,)."""

    log_last: np.ndarray  # float log last trade price, forward-filled; NaN before the first trade
    log_mean: np.ndarray  # float log mean trade price (`mean_trade_price`), forward-filled
    volume: np.ndarray  # float shares traded in the minute, 0 where no bar
    minute_of_day: np.ndarray  # int64 minutes since midnight
    traj: np.ndarray  # int64 trajectory index
    pos: np.ndarray  # int64 position within the trajectory (0 = first minute)
    unit: np.ndarray  # int64 bootstrap unit: a block of `block_minutes` within one trajectory
    n_units: int
    has_vwap: bool  # every trajectory had a `vwap` column (else the mean price fell back to last_close)


BarsInput = pd.DataFrame | Sequence[pd.DataFrame] | Trajectories


def mean_trade_price(bars: pd.DataFrame) -> pd.Series:
    """The minute's mean trade price: `vwap` if the column exists, else `last_close` (NaN without trades)."""
    return bars["vwap"] if "vwap" in bars.columns else bars["last_close"]


def prepare(bars: pd.DataFrame | Sequence[pd.DataFrame], block_minutes: int = 30) -> Trajectories:
    """Put one or more trajectories' minute bars on regular minute grids and concatenate them.

    Args:
        bars: a minute-bar DataFrame or a list of them (one per trajectory).
        block_minutes: length of the bootstrap blocks each trajectory is cut into.

    Raises:
        ValueError: no trajectories, a missing column, or repeated minutes.
    """
    frames = [bars] if isinstance(bars, pd.DataFrame) else list(bars)
    if not frames:
        raise ValueError("no trajectories given")
    if block_minutes < 1:
        raise ValueError(f"block_minutes must be >= 1, was {block_minutes}")
    parts: list[dict[str, np.ndarray]] = []
    units = 0
    for i, frame in enumerate(frames):
        missing = {"minute", "last_close", "volume"} - set(frame.columns)
        if missing:
            raise ValueError(f"trajectory {i}: missing bar column(s) {sorted(missing)}")
        if frame.empty:
            continue
        minute = frame["minute"].to_numpy(np.int64) // NS_PER_MINUTE
        if len(np.unique(minute)) != len(minute):
            raise ValueError(f"trajectory {i}: repeated minutes in the bars")
        offset = minute - minute.min()
        grid = minute.min() + np.arange(offset.max() + 1)
        pos = np.arange(len(grid))
        parts.append(
            {
                "log_last": np.log(_ffill(_on_grid(frame["last_close"].to_numpy(float), offset, len(grid)))),
                "log_mean": np.log(_ffill(_on_grid(mean_trade_price(frame).to_numpy(float), offset, len(grid)))),
                "volume": np.nan_to_num(_on_grid(frame["volume"].to_numpy(float), offset, len(grid))),
                "minute_of_day": grid,
                "traj": np.full(len(grid), i, dtype=np.int64),
                "pos": pos,
                "unit": units + pos // block_minutes,
            }
        )
        units += (len(grid) - 1) // block_minutes + 1
    if not parts:
        raise ValueError("all trajectories are empty")
    joined = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    has_vwap = all("vwap" in frame.columns for frame in frames)
    return Trajectories(**joined, n_units=units, has_vwap=has_vwap)


def _on_grid(values: np.ndarray, offset: np.ndarray, length: int) -> np.ndarray:
    """(length,) values placed at their minute offsets, NaN elsewhere."""
    out = np.full(length, np.nan)
    out[offset] = values
    return out


def _ffill(x: np.ndarray) -> np.ndarray:
    """Forward-fill NaN with the last finite value (leading NaN stay)."""
    index = np.where(np.isfinite(x), np.arange(len(x)), -1)
    last = np.maximum.accumulate(index)
    return np.where(last >= 0, x[np.maximum(last, 0)], np.nan)


def _as_trajectories(bars: BarsInput, block_minutes: int) -> Trajectories:
    return bars if isinstance(bars, Trajectories) else prepare(bars, block_minutes)


def _returns(tr: Trajectories, k: int = 1, log_price: np.ndarray | None = None) -> np.ndarray:
    """k-minute log returns ending at each index, NaN where the start lies outside the trajectory."""
    lp = tr.log_last if log_price is None else log_price
    out = np.full(len(lp), np.nan)
    out[k:] = lp[k:] - lp[:-k]
    out[tr.pos < k] = np.nan
    return out


def _boot_weights(n_units: int, n_boot: int, seed: int) -> np.ndarray:
    """(R, U) multinomial resampling counts of the units."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot).astype(float)


def _unit_sums(unit: np.ndarray, columns: Sequence[np.ndarray], n_units: int) -> np.ndarray:
    """(U, C) per-unit sums of each column."""
    return np.stack([np.bincount(unit, weights=c, minlength=n_units) for c in columns], axis=-1)


def _estimate(
    sums: np.ndarray, weights: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Point estimate from all units and bootstrap replicates from the weighted unit sums.

    sums: (U, ..., C); returns (estimate (...), replicates (R, ...)).
    """
    total = statistic(sums.sum(axis=0))
    boot = statistic(np.tensordot(weights, sums, axes=1))
    return total, boot


def _se(boot: np.ndarray) -> np.ndarray:
    """Bootstrap standard error over the replicate axis 0 (NaN with fewer than 2 replicates)."""
    if len(boot) < 2:
        return np.full(boot.shape[1:], np.nan)
    with warnings.catch_warnings():  # all-NaN replicates (an undefined statistic) give NaN quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(boot, axis=0, ddof=1)


def _interval(boot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile interval of the finite bootstrap replicates (NaN with fewer than 2).

    Percentile rather than normal intervals: kurtosis and Fano factors have
    strongly skewed sampling distributions under heavy tails.
    """
    finite = np.isfinite(boot)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    enough = finite.sum(axis=0) >= 2
    return np.where(enough, low, np.nan), np.where(enough, high, np.nan)


def _corr_from_sums(s: np.ndarray) -> np.ndarray:
    """Pearson correlation from sums (..., 6) = [n, Sx, Sy, Sxx, Syy, Sxy]."""
    n, sx, sy, sxx, syy, sxy = np.moveaxis(s, -1, 0)
    with np.errstate(all="ignore"):
        cov = sxy / n - sx * sy / n**2
        return cov / np.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2))


def _skew_kurt_from_sums(s: np.ndarray) -> np.ndarray:
    """Skewness g1 and excess kurtosis g2 from power sums (..., 5) = [n, S1..S4]; returns (..., 2)."""
    n, s1, s2, s3, s4 = np.moveaxis(s, -1, 0)
    with np.errstate(all="ignore"):
        m, e2, e3, e4 = s1 / n, s2 / n, s3 / n, s4 / n
        m2 = e2 - m**2
        m3 = e3 - 3 * m * e2 + 2 * m**3
        m4 = e4 - 4 * m * e3 + 6 * m**2 * e2 - 3 * m**4
        return np.stack([m3 / m2**1.5, m4 / m2**2 - 3.0], axis=-1)


def _centred(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    return x - x[finite].mean() if finite.any() else x


def _lagged_corr_sums(
    tr: Trajectories, x: np.ndarray, y: np.ndarray, lags: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit sums for corr(x_t, y_t+k) over pairs inside one trajectory, for each k in lags.

    Returns sums (U, L, 6) and pair counts (L,); a pair belongs to the unit of its earlier time.
    """
    x, y = _centred(x), _centred(y)  # centring keeps the raw-moment formula free of cancellation
    t = np.arange(len(x))
    sums, counts = [], []
    for k in lags:
        a = t[max(0, -k) : len(x) - max(0, k)]
        b = a + k
        keep = (tr.traj[a] == tr.traj[b]) & np.isfinite(x[a]) & np.isfinite(y[b])
        xa, yb = x[a][keep], y[b][keep]
        unit = tr.unit[np.minimum(a, b)[keep]]
        sums.append(_unit_sums(unit, (np.ones_like(xa), xa, yb, xa * xa, yb * yb, xa * yb), tr.n_units))
        counts.append(int(keep.sum()))
    return np.stack(sums, axis=1), np.array(counts)


def _moment_sums(tr: Trajectories, series: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit power sums (U, P, 5) of each standardised series, and counts (P,)."""
    sums, counts = [], []
    for x in series:
        keep = np.isfinite(x)
        v = _centred(x[keep])
        if len(v) > 1 and v.std() > 0:  # scale-free statistics; unit scale keeps v^4 sums well conditioned
            v = v / v.std()
        sums.append(_unit_sums(tr.unit[keep], (np.ones_like(v), v, v**2, v**3, v**4), tr.n_units))
        counts.append(int(keep.sum()))
    return np.stack(sums, axis=1), np.array(counts)


def _clean(values: np.ndarray | float) -> list | float | None:
    """JSON-safe floats: arrays to lists, non-finite to None."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        return float(arr) if np.isfinite(arr) else None
    return [float(v) if np.isfinite(v) else None for v in arr]


def _significant(low: float, high: float, sign: int) -> bool:
    """Is the interval strictly on the `sign` side of zero (False when undefined)."""
    return bool(np.isfinite(low) and np.isfinite(high) and (low > 0 if sign > 0 else high < 0))


def _acf_curve(tr: Trajectories, x: np.ndarray, lags: Sequence[int], weights: np.ndarray) -> dict:
    sums, counts = _lagged_corr_sums(tr, x, x, lags)
    est, boot = _estimate(sums, weights, _corr_from_sums)
    low, high = _interval(boot)
    return {"acf": est, "ci_low": low, "ci_high": high, "se": _se(boot), "n_by_lag": counts}


def _public_curve(curve: dict, keys: Sequence[str]) -> dict:
    return {k: (curve[k].tolist() if k.startswith("n_") else _clean(curve[k])) for k in keys}
