"""Trend labels of a moment and the scores of a 3-class forecast of them (paper Sec. 4.1, App. L).

The label of horizon k at time t is Ntakaris et al.'s (2018) smoothed return: l = mean of the mid after each order
in (t, t + k] / m0 - 1, with m0 the mid at t. Three classes, DOWN / FLAT / UP, split at two thresholds that make the
classes equally frequent over the training period (`tertile_thresholds`). The regression targets of the same
future are its realised volatility and mean spread (`realised_vol`, `mean_in`). A forecast is scored by accuracy and
macro-F1 (each with a block-bootstrap interval over start points) and a confusion matrix per horizon.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from analysis.bootstrap import BLOCK, RESAMPLES, block_bootstrap
from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE

DOWN, FLAT, UP = 0, 1, 2
CLASSES = ("down", "flat", "up")


def top_path(ts: np.ndarray, top: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ts, mid, spread) after each order from the best levels `top` (n, 4: ask, ask size, bid, bid size; integer
    prices) sampled after each order at times `ts`: the last sample of each time, NaN where the book is one-sided."""
    ts, top = np.asarray(ts, dtype=np.int64), np.asarray(top, dtype=np.int64)
    last = np.r_[ts[1:] != ts[:-1], True] if len(ts) else np.zeros(0, bool)
    ts, top = ts[last], top[last]
    ask, bid = top[:, 0].astype(float), top[:, 2].astype(float)
    two = (top[:, 0] != DUMMY_ASK_PRICE) & (top[:, 2] != DUMMY_BID_PRICE) & (top[:, 1] > 0) & (top[:, 3] > 0)
    two &= (top[:, 0] > 0) & (top[:, 2] > 0)
    return ts, np.where(two, (ask + bid) / 2, np.nan), np.where(two, ask - bid, np.nan)


def mean_mid_returns(ts: np.ndarray, mid: np.ndarray, starts: np.ndarray, horizons_ns: np.ndarray) -> np.ndarray:
    """(len(starts), len(horizons)) l = mean of `mid` at the samples in (t, t + k] / m0 - 1, m0 the last sample at
    or before t; NaN where there is no sample in the horizon or none before t.

    Args:
        ts: sample times (increasing), e.g. after each order.
        mid: the mid at each sample (NaN where the book was one-sided: such samples are skipped).
        starts: the moments t.
        horizons_ns: the horizons k.
    """
    ts = np.asarray(ts, dtype=np.int64)
    mid = np.asarray(mid, dtype=float)
    ok = np.isfinite(mid)
    ts, mid = ts[ok], mid[ok]
    starts = np.asarray(starts, dtype=np.int64)
    cum = np.r_[0.0, np.cumsum(mid)]
    first = np.searchsorted(ts, starts, side="right")  # the first sample after t
    m0 = np.where(first > 0, mid[np.maximum(first - 1, 0)], np.nan) if len(mid) else np.full(len(starts), np.nan)
    out = np.full((len(starts), len(horizons_ns)), np.nan)
    for j, k in enumerate(np.asarray(horizons_ns, dtype=np.int64)):
        last = np.searchsorted(ts, starts + k, side="right")
        n = last - first
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = np.where(n > 0, (cum[last] - cum[first]) / n / m0 - 1, np.nan)
    return out


def realised_vol(ts: np.ndarray, mid: np.ndarray, start: int, end: int, step_ns: int = 1_000_000_000) -> float:
    """Realised volatility over (start, end]: the square root of the sum of squared log returns of the mid sampled
    every `step_ns` (the last sample at or before each grid time; NaN samples skipped); NaN with no sample before start."""
    ts, mid = np.asarray(ts, dtype=np.int64), np.asarray(mid, dtype=float)
    ok = np.isfinite(mid)
    ts, mid = ts[ok], mid[ok]
    grid = np.arange(start, end + 1, step_ns, dtype=np.int64)
    idx = np.searchsorted(ts, grid, side="right") - 1
    if len(idx) < 2 or idx[0] < 0:
        return float("nan")
    return float(np.sqrt(np.sum(np.diff(np.log(mid[idx])) ** 2)))


def mean_in(ts: np.ndarray, values: np.ndarray, start: int, end: int) -> float:
    """Mean of the finite `values` at the samples in (start, end]; NaN when there is none."""
    ts, values = np.asarray(ts, dtype=np.int64), np.asarray(values, dtype=float)
    lo, hi = np.searchsorted(ts, [start, end], side="right")
    part = values[lo:hi]
    part = part[np.isfinite(part)]
    return float(part.mean()) if len(part) else float("nan")


def tertile_thresholds(labels: np.ndarray) -> np.ndarray:
    """(2, H) the 1/3 and 2/3 quantiles of each horizon's finite training labels (rows: moments, columns: horizons):
    below the first is DOWN, above the second UP, so the three classes are equally frequent in training."""
    labels = np.atleast_2d(np.asarray(labels, dtype=float))
    out = np.empty((2, labels.shape[1]))
    for j in range(labels.shape[1]):
        col = labels[:, j][np.isfinite(labels[:, j])]
        if len(col) == 0:
            raise ValueError(f"horizon {j}: no finite training label to set the thresholds on")
        out[:, j] = np.quantile(col, [1 / 3, 2 / 3])
    return out


def classify(labels: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Classes (DOWN 0, FLAT 1, UP 2) of labels (..., H) at per-horizon thresholds (2, H); -1 where a label is NaN."""
    labels = np.asarray(labels, dtype=float)
    lo, hi = np.asarray(thresholds, dtype=float)
    out = np.where(labels < lo, DOWN, np.where(labels > hi, UP, FLAT))
    return np.where(np.isfinite(labels), out, -1).astype(np.int64)


def vote_shares(classes: np.ndarray) -> np.ndarray:
    """(..., 3) the share of the rollouts (axis -1 of `classes`, -1 ignored) in each class; NaN with no valid vote."""
    classes = np.asarray(classes)
    counts = np.stack([(classes == c).sum(axis=-1) for c in (DOWN, FLAT, UP)], axis=-1).astype(float)
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return counts / total


def majority(shares: np.ndarray) -> np.ndarray:
    """The class with the most votes (ties to the one nearer FLAT, then DOWN); -1 where there is no vote."""
    shares = np.asarray(shares, dtype=float)
    order = np.array([FLAT, DOWN, UP])  # tie-break: FLAT first
    best = order[np.argmax(np.nan_to_num(shares[..., order], nan=-1.0), axis=-1)]
    return np.where(np.isfinite(shares).all(axis=-1), best, -1)


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 over the three classes (a class never predicted nor true counts 0)."""
    return float(f1_score(truth, predicted, labels=[DOWN, FLAT, UP], average="macro", zero_division=0))


def confusion(truth: np.ndarray, predicted: np.ndarray) -> list[list[int]]:
    """3 x 3 counts: rows the true class, columns the predicted one (DOWN, FLAT, UP)."""
    return confusion_matrix(truth, predicted, labels=[DOWN, FLAT, UP]).tolist()


def score_horizon(
    truth: np.ndarray, predicted: np.ndarray, n_boot: int = RESAMPLES, seed: int = 0, block: int = BLOCK
) -> dict:
    """Accuracy and macro-F1 of one horizon's forecasts at consecutive start points, each with its 95% basic
    block-bootstrap interval over start points, and the confusion matrix. Start points without a true label are
    left out; a forecast of -1 (none) counts as wrong."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    keep = truth >= 0
    truth, predicted = truth[keep], predicted[keep]
    n = len(truth)
    if n == 0:
        return {"n": 0, "accuracy": None, "accuracy_ci": None, "macro_f1": None, "macro_f1_ci": None}
    acc, acc_ci, _ = block_bootstrap(lambda i: np.mean(truth[i] == predicted[i]), n, n_boot, seed, block)
    f1, f1_ci, _ = block_bootstrap(lambda i: macro_f1(truth[i], predicted[i]), n, n_boot, seed, block)
    return {
        "n": n,
        "accuracy": acc,
        "accuracy_ci": list(acc_ci),
        "macro_f1": f1,
        "macro_f1_ci": list(f1_ci),
        "confusion": confusion(truth, predicted),
    }


def mean_accuracy(
    truth: np.ndarray, predicted: np.ndarray, n_boot: int = RESAMPLES, seed: int = 0, block: int = BLOCK
) -> dict:
    """Accuracy averaged over the horizons (columns of (starts, H) classes; a start's unknown truths left out of
    its horizon) with its block-bootstrap interval over start points."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    known, hit = truth >= 0, truth == predicted

    def statistic(i: np.ndarray) -> float:
        return float(np.mean(hit[i].sum(0) / np.maximum(known[i].sum(0), 1)))

    est, ci, _ = block_bootstrap(statistic, len(truth), n_boot, seed, block)
    return {"accuracy": est, "ci": list(ci)}


def paired_difference(
    truth: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int = RESAMPLES, seed: int = 0, block: int = BLOCK
) -> dict:
    """Accuracy of forecast `a` minus that of `b` on the same start points (truth, a, b: (starts, H)), per horizon and
    averaged over them, each with its block-bootstrap interval (both resampled together: the pairing is kept)."""
    truth = np.asarray(truth)
    known = truth >= 0
    gain = (np.asarray(a) == truth).astype(float) - (np.asarray(b) == truth)

    def per_horizon(i: np.ndarray) -> np.ndarray:
        return gain[i].sum(0) / np.maximum(known[i].sum(0), 1)

    horizons = [
        block_bootstrap(lambda i, j=j: per_horizon(i)[j], len(truth), n_boot, seed, block)
        for j in range(truth.shape[1])
    ]
    mean = block_bootstrap(lambda i: per_horizon(i).mean(), len(truth), n_boot, seed, block)
    return {
        "difference": [h[0] for h in horizons],
        "ci": [list(h[1]) for h in horizons],
        "mean": mean[0],
        "mean_ci": list(mean[1]),
    }


def regression_error(truth: np.ndarray, predicted: np.ndarray, n_boot: int = RESAMPLES, seed: int = 0) -> dict:
    """Mean absolute error of a forecast of a number (NaN pairs left out) with its block-bootstrap interval."""
    truth, predicted = np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float)
    keep = np.isfinite(truth) & np.isfinite(predicted)
    err = np.abs(truth[keep] - predicted[keep])
    if len(err) == 0:
        return {"n": 0, "mae": None, "mae_ci": None}
    mae, ci, _ = block_bootstrap(lambda i: err[i].mean(), len(err), n_boot, seed)
    return {"n": int(len(err)), "mae": mae, "mae_ci": list(ci)}
