"""Cont's 11 stylized facts (paper App. I) as pure functions over minute bars.

Input: one trajectory's minute bars (a DataFrame shaped like
`mars_core.data.minute_bars` output) or a list of them. Only `minute` (int ns
since midnight), `last_close` and `volume` are required; `vwap` (the minute's
mean trade price, sum(price*qty)/sum(qty)) is used when present. Bars are put
on a regular one-minute grid per trajectory: prices are forward-filled (the
last trade price stands until the next trade), volume is 0 in empty minutes.
Trajectories are pooled, and no return or lagged pair ever spans two of them.

Returns are log returns of the last trade price, as the paper uses from
App. I.3 on; `absence_of_autocorrelations` also reports the mean trade price.
k-minute returns overlap (r_t^(k) = log p_t - log p_{t-k} for every t).

Statistics are pooled over all trajectories (the paper averages per
instrument; pooling is what a set of simulated trajectories of one stock
calls for). Confidence intervals are 95% percentile intervals of a block
bootstrap: each trajectory is cut into blocks of `block_minutes`, blocks are
resampled with replacement (`n_boot` times, seeded), and every statistic is
recomputed from per-block sums, so lags and dependence within a block are
kept. Each fact's `present` is decided by the explicit test in `FACT_TESTS`.

Every fact function takes the bars or a `prepare`d `Trajectories` (which
fixes the blocks; `block_minutes` is then ignored) and keywords `n_boot` and
`seed`, and returns a JSON-serialisable dict with `present` (bool), `n`
(observations behind the test), `test` (its description) and the curve values
with `ci_low`/`ci_high` and per-point counts (`n_by_lag`/`n_by_period`);
non-finite values become None.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

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


# --- block bootstrap over per-unit sums ---------------------------------------------------------


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


# --- the facts ------------------------------------------------------------------------------


def _acf_curve(tr: Trajectories, x: np.ndarray, lags: Sequence[int], weights: np.ndarray) -> dict:
    sums, counts = _lagged_corr_sums(tr, x, x, lags)
    est, boot = _estimate(sums, weights, _corr_from_sums)
    low, high = _interval(boot)
    return {"acf": est, "ci_low": low, "ci_high": high, "se": _se(boot), "n_by_lag": counts}


def _public_curve(curve: dict, keys: Sequence[str]) -> dict:
    return {k: (curve[k].tolist() if k.startswith("n_") else _clean(curve[k])) for k in keys}


def absence_of_autocorrelations(
    bars: BarsInput,
    *,
    max_lag: int = 10,
    skip_lags: int = 1,
    alpha: float = 0.05,
    n_boot: int = 200,
    seed: int = 0,
    block_minutes: int = 30,
) -> dict:
    """Fact 1: linear autocorrelation of 1-min returns, last and mean trade price (App. I.3, Fig. 17).

    Test: the ACF of last-price returns is insignificant at every lag in
    skip_lags+1..max_lag, each |acf| / se below the Bonferroni normal quantile
    z(1 - alpha / (2 m)) for m lags. Lags <= skip_lags are exempt: Cont's fact
    allows microstructure effects (bid-ask bounce) at the shortest scale.

    Returns:
        {"lags", "mean_price" ("vwap" or the "last_close" fallback),
         "last": {"acf", "ci_low", "ci_high", "n_by_lag"}, "mean": {...},
         "present", "present_mean" (same test on mean trade price), "n", "test"}.
    """
    tr = _as_trajectories(bars, block_minutes)
    lags = list(range(1, max_lag + 1))
    weights = _boot_weights(tr.n_units, n_boot, seed)
    tested = np.array(lags) > skip_lags
    z = float(stats.norm.ppf(1 - alpha / (2 * max(1, tested.sum()))))
    out: dict = {"lags": lags, "mean_price": "vwap" if tr.has_vwap else "last_close"}
    for name, lp in (("last", tr.log_last), ("mean", tr.log_mean)):
        curve = _acf_curve(tr, _returns(tr, 1, lp), lags, weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.abs(curve["acf"][tested]) / curve["se"][tested]
        out[name] = _public_curve(curve, ("acf", "ci_low", "ci_high", "n_by_lag"))
        out["present" if name == "last" else "present_mean"] = bool(np.all(np.isfinite(ratio)) and np.all(ratio < z))
    out["n"] = int(out["last"]["n_by_lag"][0])
    out["test"] = FACT_TESTS["absence_of_autocorrelations"]
    return out


def _moment_curves(
    tr: Trajectories, periods: Sequence[int], weights: np.ndarray, bucket_minutes: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Skewness and kurtosis of k-min returns, optionally divided by their time-of-day volatility.

    Returns estimates (P, 2), bootstrap replicates (R, P, 2) and counts (P,).
    """
    series = []
    for k in periods:
        r = _returns(tr, k)
        if bucket_minutes is not None:
            # App. I.3: volatility by time of day, the RMS of the pooled k-min returns ending in each bucket.
            bucket = tr.minute_of_day // bucket_minutes
            keep = np.isfinite(r)
            n_buckets = int(bucket.max()) + 1
            count = np.bincount(bucket[keep], minlength=n_buckets)
            var = np.bincount(bucket[keep], weights=r[keep] ** 2, minlength=n_buckets) / np.maximum(count, 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = r / np.sqrt(var[bucket])
            r[~np.isfinite(r)] = np.nan  # a bucket of zero returns has no volatility to divide by
        series.append(r)
    sums, counts = _moment_sums(tr, series)
    est, boot = _estimate(sums, weights, _skew_kurt_from_sums)
    return est, boot, counts


def _kurtosis_fact(tr: Trajectories, max_period: int, n_boot: int, seed: int, bucket_minutes: int | None) -> dict:
    periods = list(range(1, max_period + 1))
    est, boot, counts = _moment_curves(tr, periods, _boot_weights(tr.n_units, n_boot, seed), bucket_minutes)
    low, high = _interval(boot[:, :, 1])
    return {
        "periods": periods,
        "kurtosis": est[:, 1],
        "ci_low": low,
        "ci_high": high,
        "n_by_period": counts,
        "boot": boot[:, :, 1],
    }


def heavy_tails(
    bars: BarsInput, *, max_period: int = 20, n_boot: int = 200, seed: int = 0, block_minutes: int = 30
) -> dict:
    """Fact 2: excess kurtosis g2 = m4 / m2^2 - 3 of k-min returns, k = 1..max_period (App. I.3, Fig. 18a).

    Test: the 95% bootstrap CI of the 1-min excess kurtosis lies above 0.

    Returns:
        {"periods", "kurtosis", "ci_low", "ci_high", "n_by_period", "present", "n", "test"}.
    """
    curve = _kurtosis_fact(_as_trajectories(bars, block_minutes), max_period, n_boot, seed, None)
    out = _public_curve(curve, ("kurtosis", "ci_low", "ci_high", "n_by_period"))
    return {
        "periods": curve["periods"],
        **out,
        "present": _significant(curve["ci_low"][0], curve["ci_high"][0], +1),
        "n": int(curve["n_by_period"][0]),
        "test": FACT_TESTS["heavy_tails"],
    }


def aggregational_gaussianity(
    bars: BarsInput,
    *,
    max_period: int = 20,
    min_obs: int = 30,
    n_boot: int = 200,
    seed: int = 0,
    block_minutes: int = 30,
) -> dict:
    """Fact 4: kurtosis of k-min returns falls toward 0 as k grows (App. I.3, Fig. 18a).

    Test: the 1-min returns are heavy-tailed (`heavy_tails` test; Gaussian
    returns have nothing to converge from) and the 95% bootstrap CI of
    kurtosis(1) - kurtosis(K) lies above 0, K the longest period with at least
    `min_obs` returns (paired bootstrap replicates).

    Returns:
        {"periods", "kurtosis", "ci_low", "ci_high", "n_by_period", "longest_period",
         "kurtosis_drop", "drop_ci_low", "drop_ci_high", "present", "n", "test"}.
    """
    curve = _kurtosis_fact(_as_trajectories(bars, block_minutes), max_period, n_boot, seed, None)
    usable = np.flatnonzero(curve["n_by_period"] >= min_obs)
    out = {"periods": curve["periods"], **_public_curve(curve, ("kurtosis", "ci_low", "ci_high", "n_by_period"))}
    if len(usable) < 2:
        return {
            **out,
            "longest_period": None,
            "kurtosis_drop": None,
            "drop_ci_low": None,
            "drop_ci_high": None,
            "present": False,
            "n": int(curve["n_by_period"][0]),
            "test": FACT_TESTS["aggregational_gaussianity"],
        }
    last = usable[-1]
    drop = curve["kurtosis"][0] - curve["kurtosis"][last]
    low, high = _interval(curve["boot"][:, 0] - curve["boot"][:, last])
    return {
        **out,
        "longest_period": curve["periods"][last],
        "kurtosis_drop": _clean(drop),
        "drop_ci_low": _clean(low),
        "drop_ci_high": _clean(high),
        "present": _significant(curve["ci_low"][0], curve["ci_high"][0], +1) and _significant(low, high, +1),
        "n": int(curve["n_by_period"][0]),
        "test": FACT_TESTS["aggregational_gaussianity"],
    }


def gain_loss_asymmetry(
    bars: BarsInput, *, max_period: int = 20, n_boot: int = 200, seed: int = 0, block_minutes: int = 30
) -> dict:
    """Fact 3: skewness g1 = m3 / m2^1.5 of k-min returns, k = 1..max_period (App. I.3, Fig. 19a).

    Test: large drawdowns without equally large rises mean negative skew; the
    95% CI of the skewness averaged over all periods lies below 0.

    Returns:
        {"periods", "skewness", "ci_low", "ci_high", "n_by_period", "mean_skewness",
         "mean_ci_low", "mean_ci_high", "present", "n", "test"}.
    """
    tr = _as_trajectories(bars, block_minutes)
    periods = list(range(1, max_period + 1))
    est, boot, counts = _moment_curves(tr, periods, _boot_weights(tr.n_units, n_boot, seed))
    low, high = _interval(boot[:, :, 0])
    with warnings.catch_warnings():  # periods longer than every trajectory are NaN throughout
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(est[:, 0])
        mean_low, mean_high = _interval(np.nanmean(boot[:, :, 0], axis=1))
    return {
        "periods": periods,
        "skewness": _clean(est[:, 0]),
        "ci_low": _clean(low),
        "ci_high": _clean(high),
        "n_by_period": counts.tolist(),
        "mean_skewness": _clean(mean),
        "mean_ci_low": _clean(mean_low),
        "mean_ci_high": _clean(mean_high),
        "present": _significant(mean_low, mean_high, -1),
        "n": int(counts[0]),
        "test": FACT_TESTS["gain_loss_asymmetry"],
    }


def intermittency(
    bars: BarsInput,
    *,
    quantile: float = 0.99,
    window_minutes: int = 15,
    alpha: float = 0.05,
    n_boot: int = 200,
    seed: int = 0,
    block_minutes: int = 30,
) -> dict:
    """Fact 5: burstiness of extreme returns (App. I.3, Fig. 20a, after Ratliff-Crain et al. 2023).

    Extreme returns are 1-min returns with |r| above the pooled `quantile` of
    |r|; they are counted in consecutive full windows of `window_minutes`
    returns inside each trajectory. Fano factor F = var(counts) / mean(counts)
    (ddof 1) is about 1 for Poisson counts. Test: Monte Carlo conditional
    dispersion test; `n_boot` times the observed number of extremes is placed
    into the W windows uniformly at random, p = (1 + #{F_null >= F}) / (1 + n_boot);
    present if p < alpha (exact for few extremes, where chi2 approximations
    fail). The CI resamples windows; it is None when over 5% of resamples hold
    no extreme return (too few extremes for an interval).

    Returns:
        {"fano_factor", "ci_low", "ci_high", "p_value", "threshold", "n_windows",
         "n_extreme", "present", "n", "test"}.
    """
    tr = _as_trajectories(bars, block_minutes)
    r = _returns(tr, 1)
    keep = np.isfinite(r)
    threshold = float(np.quantile(np.abs(r[keep]), quantile)) if keep.any() else np.nan
    # window id per return: trajectory-local index of the return, in blocks of window_minutes
    window = tr.traj * (tr.pos.max() + 1) + (tr.pos - 1) // window_minutes
    _, wid = np.unique(window[keep], return_inverse=True)
    sizes = np.bincount(wid)
    counts = np.bincount(wid, weights=(np.abs(r[keep]) > threshold).astype(float))[sizes == window_minutes]
    n_windows = len(counts)
    result = {
        "threshold": _clean(threshold),
        "n_windows": n_windows,
        "n_extreme": int(counts.sum()),
        "n": int(n_windows * window_minutes),
        "test": FACT_TESTS["intermittency"],
    }
    if n_windows < 2:
        return {"fano_factor": None, "ci_low": None, "ci_high": None, "p_value": None, **result, "present": False}

    def fano(s: np.ndarray) -> np.ndarray:  # s (..., 3) = [W, sum c, sum c^2]
        w, s1, s2 = np.moveaxis(s, -1, 0)
        with np.errstate(all="ignore"):
            return (s2 - s1**2 / w) / (w - 1) / (s1 / w)

    sums = np.stack([np.ones(n_windows), counts, counts**2], axis=-1)
    est, boot = _estimate(sums, _boot_weights(n_windows, n_boot, seed), fano)
    low, high = _interval(boot)
    if np.mean(~np.isfinite(boot)) > 0.05:  # too few extremes: many resamples have none, F undefined
        low = high = np.nan
    rng = np.random.default_rng(seed)
    total = int(counts.sum())
    null = np.empty((n_boot, 3))
    for i in range(n_boot):  # one bincount per draw keeps memory at O(W)
        c = np.bincount(rng.integers(n_windows, size=total), minlength=n_windows).astype(float)
        null[i] = n_windows, total, c @ c
    p = (1 + np.sum(fano(null) >= est - 1e-12)) / (1 + n_boot) if np.isfinite(est) else np.nan
    return {
        "fano_factor": _clean(est),
        "ci_low": _clean(low),
        "ci_high": _clean(high),
        "p_value": _clean(p),
        **result,
        "present": bool(np.isfinite(p) and p < alpha),
    }


def _abs_acf(tr: Trajectories, max_lag: int, n_boot: int, seed: int) -> tuple[dict, np.ndarray]:
    lags = list(range(1, max_lag + 1))
    absolute = np.abs(_returns(tr, 1))
    sums, counts = _lagged_corr_sums(tr, absolute, absolute, lags)
    est, boot = _estimate(sums, _boot_weights(tr.n_units, n_boot, seed), _corr_from_sums)
    low, high = _interval(boot)
    return {"lags": lags, "acf": est, "ci_low": low, "ci_high": high, "n_by_lag": counts}, boot


def volatility_clustering(
    bars: BarsInput, *, max_lag: int = 10, n_boot: int = 200, seed: int = 0, block_minutes: int = 30
) -> dict:
    """Fact 6: autocorrelation of absolute 1-min returns (volatility proxy, App. I.3, Fig. 19b).

    Test: the 95% CI of the ACF of |r| averaged over lags 1..max_lag lies above 0.

    Returns:
        {"lags", "acf", "ci_low", "ci_high", "n_by_lag", "mean_acf", "mean_ci_low",
         "mean_ci_high", "present", "n", "test"}.
    """
    curve, boot = _abs_acf(_as_trajectories(bars, block_minutes), max_lag, n_boot, seed)
    mean = np.mean(curve["acf"])
    low, high = _interval(boot.mean(axis=1))
    return {
        "lags": curve["lags"],
        **_public_curve(curve, ("acf", "ci_low", "ci_high", "n_by_lag")),
        "mean_acf": _clean(mean),
        "mean_ci_low": _clean(low),
        "mean_ci_high": _clean(high),
        "present": _significant(low, high, +1),
        "n": int(curve["n_by_lag"][0]),
        "test": FACT_TESTS["volatility_clustering"],
    }


def slow_decay_of_absolute_autocorrelation(
    bars: BarsInput, *, max_lag: int = 10, n_boot: int = 200, seed: int = 0, block_minutes: int = 30
) -> dict:
    """Fact 8: the ACF of |r| decays slowly, roughly as lag^-beta, beta in [0.2, 0.4] (App. I.2).

    Test: the ACF of |r| is still significantly positive at lag max_lag (95% CI
    above 0); a fast (e.g. exponential with short memory) decay is gone by then.
    Also reports least-squares fits over lags with positive ACF: the power-law
    exponent beta (log acf = c - beta log lag) and R^2 of the power-law and
    exponential (log acf = c - lag / tau) fits.

    Returns:
        {"lags", "acf", "ci_low", "ci_high", "n_by_lag", "power_law_exponent",
         "power_law_r2", "exponential_r2", "present", "n", "test"}.
    """
    curve, _ = _abs_acf(_as_trajectories(bars, block_minutes), max_lag, n_boot, seed)
    lags, acf = np.array(curve["lags"], dtype=float), curve["acf"]
    positive = np.isfinite(acf) & (acf > 0)
    beta = r2_power = r2_exp = np.nan
    if positive.sum() >= 3:
        fit_power = stats.linregress(np.log(lags[positive]), np.log(acf[positive]))
        fit_exp = stats.linregress(lags[positive], np.log(acf[positive]))
        beta, r2_power, r2_exp = -fit_power.slope, fit_power.rvalue**2, fit_exp.rvalue**2
    return {
        "lags": curve["lags"],
        **_public_curve(curve, ("acf", "ci_low", "ci_high", "n_by_lag")),
        "power_law_exponent": _clean(beta),
        "power_law_r2": _clean(r2_power),
        "exponential_r2": _clean(r2_exp),
        "present": _significant(curve["ci_low"][-1], curve["ci_high"][-1], +1),
        "n": int(curve["n_by_lag"][-1]),
        "test": FACT_TESTS["slow_decay_of_absolute_autocorrelation"],
    }


def conditional_heavy_tails(
    bars: BarsInput,
    *,
    max_period: int = 20,
    bucket_minutes: int = 30,
    n_boot: int = 200,
    seed: int = 0,
    block_minutes: int = 30,
) -> dict:
    """Fact 7: kurtosis of returns normalised by time-of-day volatility (App. I.3, Fig. 18b).

    Each k-min return is divided by the RMS of all pooled k-min returns ending
    in the same `bucket_minutes` bucket of the day (the paper normalises by
    minute-specific volatility over many days; buckets keep the estimate
    usable with few days). The volatility profile is held fixed in the bootstrap.
    Test: the 95% CI of the normalised 1-min excess kurtosis lies above 0.
    `less_heavy_than_unconditional` compares with the raw 1-min kurtosis.

    Returns:
        {"periods", "kurtosis", "ci_low", "ci_high", "n_by_period", "unconditional_kurtosis",
         "less_heavy_than_unconditional", "present", "n", "test"}.
    """
    tr = _as_trajectories(bars, block_minutes)
    curve = _kurtosis_fact(tr, max_period, n_boot, seed, bucket_minutes)
    raw = _kurtosis_fact(tr, 1, n_boot, seed, None)["kurtosis"][0]
    return {
        "periods": curve["periods"],
        **_public_curve(curve, ("kurtosis", "ci_low", "ci_high", "n_by_period")),
        "unconditional_kurtosis": _clean(raw),
        "less_heavy_than_unconditional": bool(curve["kurtosis"][0] < raw),
        "present": _significant(curve["ci_low"][0], curve["ci_high"][0], +1),
        "n": int(curve["n_by_period"][0]),
        "test": FACT_TESTS["conditional_heavy_tails"],
    }


def _cross_curve(tr: Trajectories, x: np.ndarray, y: np.ndarray, lags: Sequence[int], n_boot: int, seed: int):
    sums, counts = _lagged_corr_sums(tr, x, y, lags)
    est, boot = _estimate(sums, _boot_weights(tr.n_units, n_boot, seed), _corr_from_sums)
    low, high = _interval(boot)
    return {"lags": list(lags), "corr": est, "ci_low": low, "ci_high": high, "n_by_lag": counts}, boot


def leverage_effect(
    bars: BarsInput, *, max_lag: int = 10, n_boot: int = 200, seed: int = 0, block_minutes: int = 30
) -> dict:
    """Fact 9: correlation of returns with later volatility, corr(r_t, |r_t+k|) (App. I.3, Fig. 20b).

    Test: the 95% CI of the correlation averaged over k = 1..max_lag lies below 0.

    Returns:
        {"lags", "corr", "ci_low", "ci_high", "n_by_lag", "mean_corr", "mean_ci_low",
         "mean_ci_high", "present", "n", "test"}.
    """
    tr = _as_trajectories(bars, block_minutes)
    r = _returns(tr, 1)
    curve, boot = _cross_curve(tr, r, np.abs(r), range(1, max_lag + 1), n_boot, seed)
    mean = np.mean(curve["corr"])
    low, high = _interval(boot.mean(axis=1))
    return {
        "lags": curve["lags"],
        **_public_curve(curve, ("corr", "ci_low", "ci_high", "n_by_lag")),
        "mean_corr": _clean(mean),
        "mean_ci_low": _clean(low),
        "mean_ci_high": _clean(high),
        "present": _significant(low, high, -1),
        "n": int(curve["n_by_lag"][0]),
        "test": FACT_TESTS["leverage_effect"],
    }


def volume_volatility_correlation(
    bars: BarsInput, *, max_lag: int = 10, n_boot: int = 200, seed: int = 0, block_minutes: int = 30
) -> dict:
    """Fact 10: corr(volume_t, |r_t+k|), k = 0..max_lag, volume of the minute of r_t (App. I.3, Fig. 21a).

    Test: the 95% CI of the contemporaneous (k = 0) correlation lies above 0.

    Returns:
        {"lags", "corr", "ci_low", "ci_high", "n_by_lag", "present", "n", "test"}.
    """
    tr = _as_trajectories(bars, block_minutes)
    volume = np.where(tr.pos >= 1, tr.volume, np.nan)  # the first minute has no return to pair with
    curve, _ = _cross_curve(tr, volume, np.abs(_returns(tr, 1)), range(max_lag + 1), n_boot, seed)
    return {
        "lags": curve["lags"],
        **_public_curve(curve, ("corr", "ci_low", "ci_high", "n_by_lag")),
        "present": _significant(curve["ci_low"][0], curve["ci_high"][0], +1),
        "n": int(curve["n_by_lag"][0]),
        "test": FACT_TESTS["volume_volatility_correlation"],
    }


def asymmetry_in_timescales(
    bars: BarsInput, *, tau: int = 5, max_lag: int = 10, n_boot: int = 200, seed: int = 0, block_minutes: int = 30
) -> dict:
    """Fact 11: coarse volatility predicts fine volatility better than the reverse (App. I.3, Fig. 21b).

    After Takahashi et al. (2019) and Mueller et al. (1997): over the tau
    minutes ending at t, coarse volatility v_c(t) = |sum r| and fine volatility
    v_f(t) = sum |r|; rho(k) = corr(v_c(t+k), v_f(t)) for k = -max_lag..max_lag
    and the asymmetry D(k) = rho(k) - rho(-k). D < 0 means past coarse
    volatility correlates more with future fine volatility than the reverse.
    Test: the 95% CI of D averaged over k = 1..max_lag lies below 0.

    Returns:
        {"lags", "corr", "ci_low", "ci_high", "n_by_lag", "asymmetry_lags", "asymmetry",
         "asymmetry_ci_low", "asymmetry_ci_high", "mean_asymmetry", "mean_ci_low",
         "mean_ci_high", "present", "n", "test"}.
    """
    tr = _as_trajectories(bars, block_minutes)
    r = _returns(tr, 1)
    coarse = np.abs(_returns(tr, tau))
    csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(np.abs(r)))])  # csum[t + 1] = sum of |r_s|, s <= t
    fine = np.full(len(r), np.nan)
    fine[tau:] = csum[tau + 1 :] - csum[1:-tau]
    fine[~np.isfinite(coarse)] = np.nan  # also drops windows reaching into the previous trajectory
    lags = list(range(-max_lag, max_lag + 1))
    curve, boot = _cross_curve(tr, fine, coarse, lags, n_boot, seed)
    pos, neg = max_lag + np.arange(1, max_lag + 1), max_lag - np.arange(1, max_lag + 1)
    diff, diff_boot = curve["corr"][pos] - curve["corr"][neg], boot[:, pos] - boot[:, neg]
    low, high = _interval(diff_boot)
    mean = np.mean(diff)
    mean_low, mean_high = _interval(diff_boot.mean(axis=1))
    return {
        "lags": lags,
        **_public_curve(curve, ("corr", "ci_low", "ci_high", "n_by_lag")),
        "asymmetry_lags": list(range(1, max_lag + 1)),
        "asymmetry": _clean(diff),
        "asymmetry_ci_low": _clean(low),
        "asymmetry_ci_high": _clean(high),
        "mean_asymmetry": _clean(mean),
        "mean_ci_low": _clean(mean_low),
        "mean_ci_high": _clean(mean_high),
        "present": _significant(mean_low, mean_high, -1),
        "n": int(curve["n_by_lag"][max_lag]),
        "test": FACT_TESTS["asymmetry_in_timescales"],
    }


FACT_FUNCTIONS: dict[str, Callable[..., dict]] = {
    "absence_of_autocorrelations": absence_of_autocorrelations,
    "heavy_tails": heavy_tails,
    "gain_loss_asymmetry": gain_loss_asymmetry,
    "aggregational_gaussianity": aggregational_gaussianity,
    "intermittency": intermittency,
    "volatility_clustering": volatility_clustering,
    "conditional_heavy_tails": conditional_heavy_tails,
    "slow_decay_of_absolute_autocorrelation": slow_decay_of_absolute_autocorrelation,
    "leverage_effect": leverage_effect,
    "volume_volatility_correlation": volume_volatility_correlation,
    "asymmetry_in_timescales": asymmetry_in_timescales,
}


def evaluate_facts(bars: BarsInput, *, n_boot: int = 200, seed: int = 0, block_minutes: int = 30) -> dict[str, dict]:
    """All 11 facts (`FACTS` order) on one pool of trajectories, each with its default parameters."""
    tr = _as_trajectories(bars, block_minutes)
    return {name: FACT_FUNCTIONS[name](tr, n_boot=n_boot, seed=seed) for name in FACTS}


def facts_table(results_by_background: dict[str, dict[str, dict]]) -> pd.DataFrame:
    """Presence of each fact per background, like the paper's Table 6.

    Args:
        results_by_background: background name -> `evaluate_facts` output.

    Returns:
        Index `FACTS`; columns "name" (the paper's fact name), one bool column
        per background (None where a background lacks the fact), and "test".
    """
    table = pd.DataFrame(index=pd.Index(FACTS, name="fact"))
    table["name"] = [FACT_NAMES[f] for f in FACTS]
    for background, results in results_by_background.items():
        table[background] = pd.Series(
            [bool(results[f]["present"]) if f in results else None for f in FACTS], index=table.index, dtype=object
        )
    table["test"] = [FACT_TESTS[f] for f in FACTS]
    return table
