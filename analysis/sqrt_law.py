"""Square-root-law fit: impact = Y * sigma * (Q/V)^delta (paper Sec. 3.2, Fig. 6b).

The law is fitted by OLS in log-log space,
    log(impact / sigma) = log Y + delta * log(Q/V),
which needs positive impacts. Simulated impacts of single trajectories can be
zero or negative (noise, or no price move at all), so two estimators are given:

* `fit_points`: one point per trajectory; rows with impact <= 0 (or a
  non-positive / non-finite sigma or Q/V) are dropped and counted in
  `n_dropped`. Dropping the low tail biases Y upward when noise is large.
* `fit_binned`: the way Fig. 6b aggregates. Trajectories are grouped by Q/V
  (one group per distinct value when there are at most `bins` of them, e.g. a
  study grid of target volumes; otherwise `bins` quantile bins of Q/V), then
  per group mean(impact) / mean(sigma) is regressed on the geometric mean of
  Q/V. Groups with a non-positive mean are dropped and counted in `n_dropped`
  (as groups). Under the law, mean(impact) / mean(sigma) = Y (Q/V)^delta.
  Rows with a non-finite value or Q/V <= 0 are ignored.

Confidence intervals are percentile-bootstrap 95% intervals over trajectories
(resampled with replacement, `n_boot` draws, seeded); the binned fit keeps the
bins of the full sample.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from mars_core.errors import MarsInputError

POOLED = "pooled"
EMPIRICAL_DELTA_RANGE = (0.4, 0.7)  # exponents reported by empirical studies (Fig. 6b band)


@dataclass(frozen=True)
class SqrtLawFit:
    """A fitted square-root law impact = Y * sigma * (Q/V)^delta."""

    delta: float
    delta_ci: tuple[float, float]
    Y: float
    Y_ci: tuple[float, float]
    r2: float  # of the log-log regression
    n: int  # points (trajectories or groups) in the regression
    n_dropped: int  # trajectories (fit_points) or groups (fit_binned) left out as non-positive
    method: str  # "points" or "binned"

    def predict(self, sigma: np.ndarray | float, q_over_v: np.ndarray | float) -> np.ndarray:
        """Predicted impact Y * sigma * (Q/V)^delta."""
        return self.Y * np.asarray(sigma, dtype=float) * np.asarray(q_over_v, dtype=float) ** self.delta

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of y on x along the last axis (batched)."""
    xm, ym = x.mean(axis=-1, keepdims=True), y.mean(axis=-1, keepdims=True)
    sxx = np.sum((x - xm) ** 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.sum((x - xm) * (y - ym), axis=-1) / sxx
    return slope, ym[..., 0] - slope * xm[..., 0]


def _r2(x: np.ndarray, y: np.ndarray, slope: float, intercept: float) -> float:
    resid = y - (intercept + slope * x)
    total = np.sum((y - y.mean()) ** 2)
    return float(1 - np.sum(resid**2) / total) if total > 0 else float("nan")


def _percentile_ci(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(finite, [0.025, 0.975])
    return (float(lo), float(hi))


def _inputs(impact, sigma, q_over_v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = [np.asarray(a, dtype=float).ravel() for a in (impact, sigma, q_over_v)]
    if not arrays[0].size == arrays[1].size == arrays[2].size:
        raise MarsInputError(f"impact, sigma and q_over_v must have the same length, got {[a.size for a in arrays]}")
    return arrays[0], arrays[1], arrays[2]


def _require_spread(x: np.ndarray, n_dropped: int, method: str) -> None:
    if x.size < 2 or np.ptp(x) == 0:
        raise MarsInputError(
            f"square-root-law fit ({method}) needs at least 2 distinct Q/V values with positive impact, "
            f"got {x.size} point(s) ({n_dropped} dropped)"
        )


def _fit(
    x: np.ndarray, y: np.ndarray, boot_slope: np.ndarray, boot_icpt: np.ndarray, n_dropped: int, method: str
) -> SqrtLawFit:
    slope, icpt = _ols(x, y)
    return SqrtLawFit(
        delta=float(slope),
        delta_ci=_percentile_ci(boot_slope),
        Y=float(np.exp(icpt)),
        Y_ci=_percentile_ci(np.exp(boot_icpt)),
        r2=_r2(x, y, slope, icpt),
        n=int(x.size),
        n_dropped=n_dropped,
        method=method,
    )


def fit_points(impact, sigma, q_over_v, n_boot: int = 1000, seed: int = 0) -> SqrtLawFit:
    """Log-log OLS over trajectories with a positive impact (see the module docstring).

    Args:
        impact: (N,) relative impact at the end of execution.
        sigma: (N,) pre-trade volatility.
        q_over_v: (N,) target volume over market volume.
        n_boot: bootstrap draws for the confidence intervals.
        seed: bootstrap seed.
    """
    impact, sigma, q = _inputs(impact, sigma, q_over_v)
    ok = (impact > 0) & (sigma > 0) & (q > 0) & np.isfinite(impact) & np.isfinite(sigma) & np.isfinite(q)
    x, y, n_dropped = np.log(q[ok]), np.log(impact[ok] / sigma[ok]), int((~ok).sum())
    _require_spread(x, n_dropped, "points")
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    boot_slope, boot_icpt = _ols(x[idx], y[idx])
    return _fit(x, y, boot_slope, boot_icpt, n_dropped, "points")


def q_over_v_groups(q_over_v: np.ndarray, bins: int = 10) -> np.ndarray:
    """Group index per trajectory: distinct Q/V values if at most `bins`, else quantile bins of Q/V."""
    values, inverse = np.unique(q_over_v, return_inverse=True)
    if values.size <= bins:
        return inverse
    edges = np.unique(np.quantile(q_over_v, np.linspace(0, 1, bins + 1)))
    return np.clip(np.searchsorted(edges, q_over_v, side="right") - 1, 0, edges.size - 2)


def _group_means(groups: np.ndarray, n_groups: int, weights: np.ndarray, *columns: np.ndarray) -> list[np.ndarray]:
    """Per-group weighted sums of each column divided by the group weight, batched over rows of `weights`."""
    batch = weights.shape[0]
    flat = (np.arange(batch)[:, None] * n_groups + groups[None, :]).ravel()
    count = np.bincount(flat, weights.ravel(), batch * n_groups).reshape(batch, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return [
            np.bincount(flat, (weights * c).ravel(), batch * n_groups).reshape(batch, n_groups) / count for c in columns
        ]


def _binned_xy(means: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    impact_m, sigma_m, logq_m = means
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.log(impact_m / sigma_m)
    return logq_m, y, (impact_m > 0) & (sigma_m > 0)


def fit_binned(
    impact, sigma, q_over_v, n_boot: int = 1000, seed: int = 0, bins: int = 10, groups: np.ndarray | None = None
) -> SqrtLawFit:
    """Log-log OLS over Q/V groups of mean(impact) / mean(sigma) (see the module docstring).

    Args:
        impact, sigma, q_over_v: (N,) per-trajectory values as in `fit_points`.
        n_boot: bootstrap draws (trajectories resampled, groups kept).
        seed: bootstrap seed.
        bins: maximum number of Q/V groups.
        groups: (N,) a group label per trajectory, e.g. the study's target Q/V; None groups by
            `q_over_v_groups` of the realised Q/V.
    """
    impact, sigma, q = _inputs(impact, sigma, q_over_v)
    ok = np.isfinite(impact) & np.isfinite(sigma) & np.isfinite(q) & (q > 0)
    impact, sigma, q = impact[ok], sigma[ok], q[ok]
    if q.size == 0:
        raise MarsInputError("square-root-law fit (binned) got no finite rows")
    groups = q_over_v_groups(q, bins) if groups is None else np.unique(np.asarray(groups)[ok], return_inverse=True)[1]
    n_groups = int(groups.max()) + 1
    x, y, good = _binned_xy(_group_means(groups, n_groups, np.ones((1, q.size)), impact, sigma, np.log(q)))
    x, y, good = x[0], y[0], good[0]
    _require_spread(x[good], int(n_groups - good.sum()), "binned")
    counts = np.random.default_rng(seed).multinomial(q.size, np.full(q.size, 1.0 / q.size), size=n_boot)
    bx, by, bgood = _binned_xy(_group_means(groups, n_groups, counts.astype(float), impact, sigma, np.log(q)))
    boot_slope, boot_icpt = _masked_ols(bx, by, bgood)
    return _fit(x[good], y[good], boot_slope, boot_icpt, int(n_groups - good.sum()), "binned")


def _masked_ols(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched OLS of y on x per row, using only the entries where `mask` holds."""
    w = mask.astype(float)
    nw = w.sum(axis=1)
    x0, y0 = np.where(mask, x, 0.0), np.where(mask, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm, ym = x0.sum(axis=1) / nw, y0.sum(axis=1) / nw
        dx = np.where(mask, x0 - xm[:, None], 0.0)
        slope = np.sum(dx * (y0 - ym[:, None]), axis=1) / np.sum(dx**2, axis=1)
    slope[nw < 2] = np.nan
    return slope, ym - slope * xm


def fit_by_config(
    frame: pd.DataFrame,
    method: str = "binned",
    impact_col: str = "impact_end",
    by: str = "config",
    n_boot: int = 1000,
    seed: int = 0,
    group_col: str = "q_over_v_target",
    **kwargs,
) -> dict[str, SqrtLawFit]:
    """One fit per configuration plus a `"pooled"` fit over all rows.

    Args:
        frame: a `metrics_frame` (columns `by`, `impact_col`, sigma, q_over_v).
        method: "binned" (`fit_binned`) or "points" (`fit_points`).
        impact_col: the impact column to fit.
        by: grouping column.
        n_boot: bootstrap draws.
        seed: bootstrap seed.
        group_col: for "binned", the column whose values form the groups when the frame has it
            (a study's target Q/V grid, as the paper's Fig. 6b); otherwise realised Q/V bins.
        **kwargs: passed to the fit (e.g. bins).
    """
    fitter = {"binned": fit_binned, "points": fit_points}.get(method)
    if fitter is None:
        raise MarsInputError(f"method must be 'binned' or 'points', was {method!r}")
    missing = {by, impact_col, "sigma", "q_over_v"} - set(frame.columns)
    if missing:
        raise MarsInputError(f"fit_by_config: frame has no column(s) {sorted(missing)}")

    def fit(part: pd.DataFrame) -> SqrtLawFit:
        extra = dict(kwargs)
        if method == "binned" and group_col in part.columns:
            extra["groups"] = part[group_col].to_numpy()
        return fitter(part[impact_col], part["sigma"], part["q_over_v"], n_boot=n_boot, seed=seed, **extra)

    fits = {str(key): fit(part) for key, part in frame.groupby(by, sort=True)}
    fits[POOLED] = fit(frame)
    return fits


def fits_frame(fits: dict[str, SqrtLawFit]) -> pd.DataFrame:
    """The fits of `fit_by_config` as a table, one row per configuration."""
    return pd.DataFrame([{"config": key, **fit.to_dict()} for key, fit in fits.items()])
