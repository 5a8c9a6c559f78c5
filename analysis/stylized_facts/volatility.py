"""The facts of volatility: clustering, slow decay of the autocorrelation of absolute returns, the leverage
effect, the volume/volatility correlation and the asymmetry in timescales."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from analysis.stylized_facts.base import (
    FACT_TESTS,
    BarsInput,
    Trajectories,
    _as_trajectories,
    _boot_weights,
    _clean,
    _corr_from_sums,
    _estimate,
    _interval,
    _lagged_corr_sums,
    _public_curve,
    _returns,
    _significant,
)


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
