"""Quantitative realism metrics of paper App. J (Table 7) on its unit, one value per minute.

`analysis.minute_metrics` reduces every minute of every start window to the Table-7 rows (`METRICS`). Pooled over
the start windows (and rollouts), the real and the simulated per-minute values of a row are compared two ways:

* distribution similarity: the overlap coefficient OVL = sum_i min(p_i, q_i) of the two histograms on the real
  values' bins (`overlap_coefficient`), scored per row by `pooled_similarity` on any resample of the start windows
  (`Pool`), so a block bootstrap can resample real and simulated windows jointly;
* 3-class accuracy (`three_class_accuracy`): the real per-minute values' tertiles split every value into low /
  medium / high; a simulated minute is right when it falls in the class of the real minute it stands for (same start
  window, same minute). Chance is 1/3, or exactly sum_k p_real(k) p_sim(k) from the class frequencies; the
  persistence baseline predicts a real minute's class by the previous real minute's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

RETURN_HORIZONS = (1, 2, 3, 4, 5)
METRICS = (
    "volatility",
    "spread",
    "mean_order_volume",
    "aggressive_order_ratio",
    "buy_order_ratio",
    *(f"return_{k}min" for k in RETURN_HORIZONS),
)
METRIC_NAMES = {
    "volatility": "Volatility",
    "spread": "Spread",
    "mean_order_volume": "Mean Order Volume",
    "aggressive_order_ratio": "Aggressive Order Ratio",
    "buy_order_ratio": "Buy Order Ratio",
    **{f"return_{k}min": f"{k}-Min Return" for k in RETURN_HORIZONS},
}
TERTILES_ON_ONE_AFTERNOON = (
    "On one afternoon the tertiles of a row largely split the minutes by time of day (early, middle and late "
    "afternoon), because aggressive ratio, order size, order rate and spread trend toward the close: an accuracy "
    "near chance says the simulation does not follow that trend, and the persistence baseline (the previous real "
    "minute's class) shows how much the time of day alone predicts."
)

Pool = dict[str, list[np.ndarray]]  # row -> per start window, its per-minute values (all rollouts)


def _finite(values: object) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


def overlap_coefficient(reference: object, sample: object, bins: int | str = "auto") -> float:
    """Overlap of a sample's distribution with a reference one, OVL = sum_i min(p_i, q_i)
    (App. J, "Distribution Similarity").

    p and q are the histogram probabilities on the reference's bins
    (`numpy.histogram_bin_edges` of the reference with `bins`) plus one open bin on each
    side for sample values beyond them. The ruler is the reference's alone: bins drawn
    over both samples would widen with the sample's outliers, so a sample with a far
    tail would be scored on coarser bins, which hide differences (a noise baseline with
    1% of its prices 150 ticks away scored 0.93 instead of 0.81), and two samples
    compared with the same reference would be measured on different rulers. OVL is 1
    for identical samples and 0 for samples in disjoint bins; for two finite samples
    of one distribution it falls a little below 1 (sampling noise).

    Args:
        reference: the reference sample (the real or replayed values); NaN and infinite values are dropped.
        sample: the sample scored against it, likewise.
        bins: any `numpy.histogram_bin_edges` bins argument.

    Returns:
        OVL in [0, 1]; NaN when either sample has no finite value. Constant
        samples work: equal constants give 1, different ones 0.
    """
    a, b = _finite(reference), _finite(sample)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    edges = np.histogram_bin_edges(a, bins=bins)
    edges[-1] = np.nextafter(edges[-1], np.inf)  # the reference's largest value stays in the last bin, not the open one
    edges = np.r_[-np.inf, edges, np.inf]
    count_a, count_b = np.histogram(a, edges)[0], np.histogram(b, edges)[0]
    # min(p, q) with p = count_a / n_a, q = count_b / n_b, in integers: identical samples give exactly 1
    overlap = np.minimum(count_a * len(b), count_b * len(a)).sum()
    return float(overlap / (len(a) * len(b)))


def pool(tables: Sequence[pd.DataFrame], rows: Sequence[str] = METRICS) -> Pool:
    """The per-minute values of each start window, by row.

    Args:
        tables: one per start window, its per-minute rows (`minute_metrics.minute_table`, rollouts concatenated).
        rows: the columns to pool.
    """
    return {row: [_finite(t[row].to_numpy(float)) for t in tables] for row in rows}


def _take(pooled: list[np.ndarray], idx: np.ndarray | None) -> np.ndarray:
    chosen = pooled if idx is None else [pooled[i] for i in idx]
    return np.concatenate(chosen) if chosen else np.zeros(0)


def pooled_similarity(
    real: Pool, sim: Pool, real_idx: np.ndarray | None = None, sim_idx: np.ndarray | None = None
) -> dict[str, float]:
    """OVL of the pooled real and simulated per-minute values, per row of `real`.

    Args:
        real, sim: `pool` outputs.
        real_idx, sim_idx: the start windows taken (with repeats, a bootstrap resample); None takes each once.
    """
    return {row: overlap_coefficient(_take(real[row], real_idx), _take(sim[row], sim_idx)) for row in real}


def mean_over_rows(scores: Mapping[str, float]) -> float:
    """The similarity of a background: the mean over the rows that have a value."""
    values = [v for v in scores.values() if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def tertile_edges(real_values: object) -> np.ndarray:
    """(2,) the 1/3 and 2/3 quantiles of the finite real values (the class boundaries)."""
    values = _finite(real_values)
    if len(values) == 0:
        raise ValueError("no finite real values to fit tertiles on")
    return np.quantile(values, [1 / 3, 2 / 3])


def classify(values: object, edges: np.ndarray) -> np.ndarray:
    """Class 0 (x <= edges[0]), 1 (x <= edges[1]) or 2 (above) per value; -1 for NaN."""
    x = np.asarray(values, dtype=float)
    return np.where(np.isfinite(x), np.searchsorted(edges, x, side="left"), -1)


def three_class_accuracy(real: pd.DataFrame, sim: pd.DataFrame, row: str) -> dict[str, float | int]:
    """3-class accuracy of one row with its chance levels and the persistence baseline.

    Args:
        real: per-minute rows with columns `start`, `minute` and `row` (one per start window and minute).
        sim: the same with a `rollout` column; every rollout's minute is scored against the real minute.
        row: the row.

    Returns:
        {"accuracy", "chance" (1/3), "chance_exact" (sum_k p_real(k) p_sim(k) over the scored pairs),
        "persistence" (share of real minutes in the previous real minute's class), "n" (scored pairs)};
        NaN where undefined.
    """
    nan = float("nan")
    values = real[row].to_numpy(float)
    if not np.isfinite(values).any():
        return {"accuracy": nan, "chance": 1 / 3, "chance_exact": nan, "persistence": nan, "n": 0}
    edges = tertile_edges(values)
    r = real[["start", "minute"]].assign(real=classify(values, edges))
    pairs = (
        sim[["start", "minute"]].assign(sim=classify(sim[row].to_numpy(float), edges)).merge(r, on=["start", "minute"])
    )
    pairs = pairs[(pairs["real"] >= 0) & (pairs["sim"] >= 0)]
    p_real = np.bincount(pairs["real"], minlength=3) / max(len(pairs), 1)
    p_sim = np.bincount(pairs["sim"], minlength=3) / max(len(pairs), 1)
    prev = r.assign(minute=r["minute"] + 1).rename(columns={"real": "prev"}).merge(r, on=["start", "minute"])
    prev = prev[(prev["prev"] >= 0) & (prev["real"] >= 0)]
    return {
        "accuracy": float(np.mean(pairs["real"] == pairs["sim"])) if len(pairs) else nan,
        "chance": 1 / 3,
        "chance_exact": float(p_real @ p_sim) if len(pairs) else nan,
        "persistence": float(np.mean(prev["prev"] == prev["real"])) if len(prev) else nan,
        "n": len(pairs),
    }


def path_correlation(sim: np.ndarray, target: np.ndarray) -> float:
    """Pearson correlation of two paths (H,); 0 when either does not move."""
    sim, target = np.asarray(sim, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if sim.std() == 0 or target.std() == 0:
        return 0.0
    return float(np.corrcoef(sim, target)[0, 1])
