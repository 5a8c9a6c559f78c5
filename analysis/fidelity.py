"""Closed-loop fidelity: does a simulated market stay in the real market's state over a study's horizon?

Inputs are per-minute tables (`analysis.minute_metrics.minute_table`) stacked with a `start` column (the start
window's index) and, for simulations, a `rollout` column; the real side is the replay of the same start windows.
Every figure is a ratio of means over start windows and rollouts, simulated over real, so 1 is perfect:

* `bucket_ratios`: per `BUCKET_MINUTES`-minute bucket since the start, for every column of `FLOW` (the median
  order size is the mean of the per-minute medians, the shares the mean of the per-minute shares);
* `volatility_ratio`: the root mean square of 1-minute mid log returns;
* `variance_ratio`: VR = E[r_T^2] / (T E[r_1^2]) with r_T the whole window's mid log return and r_1 the 1-minute
  ones (uncentred moments: the drift of a 30-minute window is far below its noise), sim VR over real VR: below 1
  the simulated mid mean-reverts around where it started, above 1 it trends;
* `trend_slopes`: least-squares slopes, per hour of start time, of each start window's mean aggressive ratio,
  order size, submission rate and spread (the afternoon trends toward the close), for the real and the simulated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.minute_metrics import FLOW

BUCKET_MINUTES = 5
BAND = (0.8, 1.25)  # the target band of every ratio (best-level size and depth: 0.7-1.4)
WIDE_BAND = (0.7, 1.4)
TRENDS = {
    "aggressive_order_ratio": "Aggressive ratio",
    "mean_order_volume": "Mean order size",
    "submissions": "Submissions per minute",
    "spread": "Spread",
}


def _ratio(sim: float, real: float) -> float:
    return float(sim / real) if np.isfinite(sim) and np.isfinite(real) and real != 0 else float("nan")


def bucket_means(table: pd.DataFrame, minutes: int, column: str) -> np.ndarray:
    """(B,) mean of a column over the minutes of each bucket, all start windows and rollouts (NaN skipped)."""
    bucket = table["minute"].to_numpy() // BUCKET_MINUTES
    values = table[column].to_numpy(float)
    n = -(-minutes // BUCKET_MINUTES)
    ok = np.isfinite(values)
    total = np.bincount(bucket[ok], weights=values[ok], minlength=n)[:n]
    count = np.bincount(bucket[ok], minlength=n)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def bucket_ratios(real: pd.DataFrame, sim: pd.DataFrame, minutes: int) -> dict[str, list[float]]:
    """For every column of `FLOW`, sim/real ratio of the bucket means, one per bucket since the start."""
    out = {}
    for column in FLOW:
        r, s = bucket_means(real, minutes, column), bucket_means(sim, minutes, column)
        out[column] = [_ratio(a, b) for a, b in zip(s, r, strict=True)]
    return out


def _rms(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.sqrt(np.mean(values**2))) if len(values) else float("nan")


def volatility_ratio(real: pd.DataFrame, sim: pd.DataFrame) -> float:
    """Sim over real root mean square of the 1-minute mid log returns."""
    return _ratio(_rms(sim["return_1min"].to_numpy(float)), _rms(real["return_1min"].to_numpy(float)))


def window_returns(table: pd.DataFrame) -> np.ndarray:
    """Each start window's (and rollout's) whole mid log return: the sum of its 1-minute returns."""
    keys = ["start", "rollout"] if "rollout" in table else ["start"]
    return table.groupby(keys)["return_1min"].sum(min_count=1).to_numpy(float)


def variance_ratio(table: pd.DataFrame, minutes: int) -> float:
    """E[r_T^2] / (T E[r_1^2]) of one side (T = `minutes`)."""
    long, short = _rms(window_returns(table)), _rms(table["return_1min"].to_numpy(float))
    return _ratio(long**2, minutes * short**2)


def trend_slopes(table: pd.DataFrame, start_hours: np.ndarray) -> dict[str, float]:
    """Per `TRENDS` column, the least-squares slope (per hour) of each start window's mean against its start time.

    Args:
        table: per-minute rows with a `start` column indexing `start_hours`.
        start_hours: (S,) each start window's start, in hours since midnight.
    """
    means = table.groupby("start")[list(TRENDS)].mean()
    hours = np.asarray(start_hours, dtype=float)[means.index.to_numpy()]
    out = {}
    for column in TRENDS:
        y = means[column].to_numpy(float)
        ok = np.isfinite(y)
        out[column] = float(np.polyfit(hours[ok], y[ok], 1)[0]) if ok.sum() >= 2 and np.ptp(hours[ok]) > 0 else np.nan
    return out


def fidelity(real: pd.DataFrame, sim: pd.DataFrame, minutes: int, start_hours: np.ndarray) -> dict:
    """Every fidelity figure of one background against the real windows (NaN where undefined)."""
    vr_real, vr_sim = variance_ratio(real, minutes), variance_ratio(sim, minutes)
    return {
        **bucket_ratios(real, sim, minutes),
        "volatility": volatility_ratio(real, sim),
        "variance_ratio": _ratio(vr_sim, vr_real),
        "variance_ratio_real": vr_real,
        "variance_ratio_sim": vr_sim,
        "trends": {"real": trend_slopes(real, start_hours), "sim": trend_slopes(sim, start_hours)},
    }
