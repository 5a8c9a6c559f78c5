"""The facts of the returns themselves: no autocorrelation, heavy and conditional heavy tails, gain/loss
asymmetry, aggregational Gaussianity and intermittency."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

from analysis.stylized_facts.base import (
    FACT_TESTS,
    BarsInput,
    Trajectories,
    _acf_curve,
    _as_trajectories,
    _boot_weights,
    _clean,
    _estimate,
    _interval,
    _moment_sums,
    _public_curve,
    _returns,
    _significant,
    _skew_kurt_from_sums,
)


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
