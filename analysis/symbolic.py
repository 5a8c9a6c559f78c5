"""Sparse symbolic regression of the end-of-execution impact on the factors (paper Sec. 4.3, App. K).

The paper searched formulas for the impact in terms of pre-trade factors.
Here the search is SINDy's sparse regression used as a static regression: a
pysindy feature library builds the candidate terms Theta(X) (a constant, the
factors, their squares and pairwise products, and sqrt|factor|), and pysindy's
STLSQ (sequentially thresholded least squares) selects a few of them:

    impact ~ Theta(X) xi,   xi sparse.

`pysindy.SINDy.fit(x, t, x_dot)` regresses a derivative with the same shape as
the state on Theta(state); a scalar target explained by several inputs is not
that contract, so the two pieces SINDy is made of (library, optimizer) are
used directly, without numerical differentiation.

Scaling: the factors live on very different scales (sigma ~ 1e-3, LOB depth
~ 10) and some barely vary around a large level, so every candidate column is
standardised (z-score over the training rows) and the target centred and
divided by its std before STLSQ; the intercept is fitted outside the sparse
selection. The threshold then reads "drop a term if a one-std change of it
moves the impact by less than `threshold` stds of the impact". Coefficients
are reported back in the original units. Sparse regression cannot tell apart
nearly collinear candidates (e.g. `p` and `p * depth` when depth hardly
varies); with noisy data it may pick either.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pysindy as ps

from analysis import sqrt_law
from analysis.impact import split_trajectories
from mars_core.errors import MarsInputError

SYMBOLIC_FACTORS = ["sqrt_q_over_v", "sigma", "resiliency", "lob_pressure", "lob_depth"]
"""Default inputs: the square-root-law factors and the three new factors of App. K."""
THRESHOLD_GRID = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
"""Candidate STLSQ thresholds (scaled units) for the cross-validated choice."""


@dataclass(frozen=True, eq=False)
class SymbolicFit:
    """A sparse formula for the impact, with train/held-out scores and the square-root-law baseline."""

    formula: str
    coefficients: dict[str, float]  # the intercept ("1") and the selected terms
    train_r2: float
    train_rmse: float
    test_r2: float
    test_rmse: float
    sqrt_law_test_r2: float  # the square-root law fitted on the same training rows
    sqrt_law_test_rmse: float
    n_train: int
    n_test: int
    threshold: float
    factors: list[str]
    library: ps.feature_library.base.BaseFeatureLibrary = field(repr=False)
    all_terms: list[str] = field(repr=False)
    all_coefficients: np.ndarray = field(repr=False)
    intercept: float = 0.0

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted impact for the rows of `frame` (needs the factor columns)."""
        return np.asarray(self.library.transform(_matrix(frame, self.factors))) @ self.all_coefficients + self.intercept

    def to_dict(self) -> dict:
        keys = (
            "formula",
            "coefficients",
            "train_r2",
            "train_rmse",
            "test_r2",
            "test_rmse",
            "sqrt_law_test_r2",
            "sqrt_law_test_rmse",
            "n_train",
            "n_test",
            "threshold",
            "factors",
        )
        return {k: getattr(self, k) for k in keys}


def feature_library(degree: int = 2, include_sqrt: bool = True) -> ps.feature_library.base.BaseFeatureLibrary:
    """Candidate terms: polynomial up to `degree` (with products, no constant), plus sqrt|x| of each factor."""
    poly = ps.PolynomialLibrary(degree=degree, include_bias=False)
    if not include_sqrt:
        return poly
    roots = ps.CustomLibrary(library_functions=[lambda x: np.sqrt(np.abs(x))], function_names=[lambda s: f"sqrt({s})"])
    return ps.ConcatLibrary([poly, roots])


def _matrix(frame: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise MarsInputError(f"symbolic regression: frame has no column(s) {missing}")
    return frame[list(cols)].to_numpy(dtype=float)


def _scores(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """R^2 and RMSE of `pred` against `y`."""
    resid = y - pred
    total = np.sum((y - y.mean()) ** 2)
    return (float(1 - np.sum(resid**2) / total) if total > 0 else float("nan"), float(np.sqrt(np.mean(resid**2))))


def format_formula(terms: Sequence[str], coefs: Sequence[float], target: str = "impact", precision: int = 4) -> str:
    """A readable formula such as 'impact = 0.001 + 0.9 sqrt_q_over_v*sigma + 0.3 lob_pressure'."""
    parts = [f"{c:.{precision}g}" if t == "1" else f"{c:.{precision}g} {t}" for t, c in zip(terms, coefs)]
    body = " + ".join(parts).replace("+ -", "- ") if parts else "0"
    return f"{target} = {body}"


def fit_symbolic(
    frame: pd.DataFrame,
    target: str = "impact_end",
    factors: Sequence[str] = tuple(SYMBOLIC_FACTORS),
    threshold: float | None = None,
    degree: int = 2,
    include_sqrt: bool = True,
    ridge: float = 1e-3,
    test_frac: float = 0.25,
    seed: int = 0,
) -> SymbolicFit:
    """Sparse regression of `target` on a pysindy library of the factors, scored on held-out trajectories.

    Args:
        frame: a `metrics_frame` (rows with a non-finite value are left out).
        target: the column to explain.
        factors: input columns.
        threshold: STLSQ threshold in scaled units (see the module docstring);
            None chooses it from `THRESHOLD_GRID` by cross-validation on the
            training rows (`select_threshold`).
        degree: polynomial degree of the library.
        include_sqrt: add sqrt|x| of each factor to the library.
        ridge: STLSQ's L2 penalty per training row, in scaled units.
        test_frac: share of trajectories held out (by `traj_id` when present).
        seed: split seed.
    """
    cols = list(factors)
    _matrix(frame.iloc[:0], [*cols, target, "sigma", "q_over_v"])  # names any missing column
    data = frame.replace([np.inf, -np.inf], np.nan).dropna(subset=[*cols, target, "sigma", "q_over_v"])
    ids = data["traj_id"].to_numpy() if "traj_id" in data.columns else np.arange(len(data))
    test = split_trajectories(ids, test_frac, seed)
    train, held = data[~test], data[test]
    if len(train) < 3 or len(held) < 1:
        raise MarsInputError(
            f"symbolic regression needs at least 3 training and 1 test rows, got {len(train)}/{len(held)}"
        )

    library = feature_library(degree, include_sqrt)
    theta = np.asarray(library.fit_transform(_matrix(train, cols)))
    y = train[target].to_numpy(dtype=float)
    if threshold is None:
        threshold = select_threshold(theta, y, ridge=ridge, seed=seed)
    coefs, intercept = _sparse_fit(theta, y, threshold, ridge)
    terms = [name.replace(" ", "*") for name in library.get_feature_names(cols)]  # "a b" -> "a*b"
    chosen = np.flatnonzero(coefs)

    fit_law = sqrt_law.fit_points(train[target], train["sigma"], train["q_over_v"], n_boot=0)
    held_y = held[target].to_numpy(dtype=float)
    train_r2, train_rmse = _scores(y, theta @ coefs + intercept)
    test_r2, test_rmse = _scores(held_y, np.asarray(library.transform(_matrix(held, cols))) @ coefs + intercept)
    law_r2, law_rmse = _scores(held_y, fit_law.predict(held["sigma"], held["q_over_v"]))
    return SymbolicFit(
        formula=format_formula(["1", *(terms[i] for i in chosen)], [intercept, *coefs[chosen]]),
        coefficients={"1": intercept, **{terms[i]: float(coefs[i]) for i in chosen}},
        train_r2=train_r2,
        train_rmse=train_rmse,
        test_r2=test_r2,
        test_rmse=test_rmse,
        sqrt_law_test_r2=law_r2,
        sqrt_law_test_rmse=law_rmse,
        n_train=len(train),
        n_test=len(held),
        threshold=threshold,
        factors=cols,
        library=library,
        all_terms=terms,
        all_coefficients=coefs,
        intercept=intercept,
    )


def _sparse_fit(theta: np.ndarray, y: np.ndarray, threshold: float, ridge: float) -> tuple[np.ndarray, float]:
    """STLSQ on standardised columns and target; coefficients and intercept in original units."""
    mu, sd = theta.mean(axis=0), theta.std(axis=0)
    sd[sd == 0] = np.inf  # a constant column carries nothing beyond the intercept
    y_mean, y_sd = float(y.mean()), float(y.std()) or 1.0
    optimizer = ps.STLSQ(threshold=threshold, alpha=ridge * len(y), max_iter=50)
    with warnings.catch_warnings():  # an intercept-only model is a legitimate outcome, not a problem
        warnings.filterwarnings("ignore", message="Sparsity parameter is too big")
        optimizer.fit((theta - mu) / sd, (y - y_mean) / y_sd)
    coefs = np.asarray(optimizer.coef_).ravel() / sd * y_sd
    return coefs, float(y_mean - coefs @ mu)


def select_threshold(
    theta: np.ndarray,
    y: np.ndarray,
    grid: Sequence[float] = THRESHOLD_GRID,
    ridge: float = 1e-3,
    folds: int = 5,
    seed: int = 0,
) -> float:
    """The sparsest STLSQ threshold whose K-fold CV error is within one standard error of the best (one-SE rule)."""
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    errors = np.empty((len(grid), folds))
    for i, thr in enumerate(grid):
        for k in range(folds):
            fit_rows = fold != k
            coefs, intercept = _sparse_fit(theta[fit_rows], y[fit_rows], thr, ridge)
            errors[i, k] = np.mean((theta[~fit_rows] @ coefs + intercept - y[~fit_rows]) ** 2)
    mean, se = errors.mean(axis=1), errors.std(axis=1, ddof=1) / np.sqrt(folds)
    best = int(np.argmin(mean))
    return float(np.max(np.asarray(grid)[mean <= mean[best] + se[best]]))
