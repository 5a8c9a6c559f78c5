"""Detection by simulation (paper Sec. 4.2, App. G, Fig. 8): how far a window of the real market falls from what
was expected of it, and how well such a score separates manipulated windows from clean ones.

A window (`minute_metrics.Window`, plus the times of its cancellations) gives one distribution per row of
`METRICS`: on the one-second grid of `minute_metrics.second_grid`, the spread (Fig. 8's), the visible depth
(both sides, the file's levels), its imbalance (bid - ask) / (bid + ask) and the absolute change of the mid over
the second; the sizes of the submitted orders; and the cancel ratio cancels / (cancels + submissions) in each
`CANCEL_BUCKET_S`-second bucket. `window_values` measures them;
`similarity` scores a window's distributions against a reference's with the overlap coefficient of
`analysis.similarity` on the reference's bins, one value per row; the anomaly score is 1 - their mean.

MarS's reference is the pooled rollouts simulated from the real state just before the window; the baseline's
(paper Table 1, "Diff(market now, market past)") is the real window just before it.

`roc_auc` (Mann-Whitney, ties counted half) and `recall_at` (the share of manipulated windows above the clean
scores' (1 - false-alarm) quantile) score a detector; `detection_bootstrap` gives them basic intervals of a block
bootstrap that resamples the clean windows and the manipulated ones separately.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

from analysis.bootstrap import LEVEL, basic_interval, block_indices
from analysis.minute_metrics import Window, second_grid
from analysis.similarity import overlap_coefficient
from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, NS_PER_SECOND

METRICS = ("spread", "depth", "imbalance", "mid_change", "order_size", "cancel_ratio")
METRIC_NAMES = {
    "spread": "Spread",
    "depth": "Visible depth",
    "imbalance": "Depth imbalance",
    "mid_change": "Mid change in a second",
    "order_size": "Order size",
    "cancel_ratio": "Cancel ratio",
}
CANCEL_BUCKET_S = 5
FALSE_ALARM = 0.05

Values = dict[str, np.ndarray]


def window_values(window: Window, cancel_ts: np.ndarray) -> Values:
    """The window's distributions by row of `METRICS` (see the module docstring); `cancel_ts` are the times of its
    cancellations and deletions."""
    full = second_grid(window).astype(np.float64)  # (S + 1, 4L): the book at the start and the end of each second
    ask, bid = full[:, 0], full[:, 2]
    two_sided = (ask != DUMMY_ASK_PRICE) & (bid != DUMMY_BID_PRICE) & (full[:, 1] > 0) & (full[:, 3] > 0)
    mid = np.where(two_sided, (ask + bid) / 2, np.nan)
    asks, bids = full[1:, 1::4].sum(axis=1), full[1:, 3::4].sum(axis=1)
    ask, bid, two_sided = ask[1:], bid[1:], two_sided[1:]
    seconds = window.minutes * 60
    edges = window.start_ns + np.arange(0, seconds + 1, CANCEL_BUCKET_S, dtype=np.int64) * NS_PER_SECOND
    submits = np.histogram(window.orders["ts"].to_numpy(np.int64), edges)[0]
    cancels = np.histogram(np.asarray(cancel_ts, dtype=np.int64), edges)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = cancels / (cancels + submits)
    sizes = window.orders["qty"].to_numpy(np.float64)
    inside = (window.orders["ts"].to_numpy(np.int64) >= window.start_ns) & (
        window.orders["ts"].to_numpy(np.int64) < window.end_ns
    )
    return {
        "spread": np.where(two_sided, ask - bid, np.nan),
        "depth": asks + bids,
        "imbalance": np.where(asks + bids > 0, (bids - asks) / np.maximum(asks + bids, 1), np.nan),
        "mid_change": np.abs(np.diff(mid)),
        "order_size": sizes[inside],
        "cancel_ratio": ratio,
    }


def pooled(values: Sequence[Values]) -> Values:
    """The distributions of several windows (a window's rollouts) pooled by row."""
    return {row: np.concatenate([v[row] for v in values]) if values else np.zeros(0) for row in METRICS}


def similarity(reference: Values, sample: Values) -> dict[str, float]:
    """Overlap of each row of `sample` with the same row of `reference` (on the reference's bins); NaN where
    either has no value."""
    return {row: overlap_coefficient(reference[row], sample[row]) for row in METRICS}


def anomaly(scores: Mapping[str, float]) -> float:
    """1 - the mean similarity over the rows that have one (NaN when none has)."""
    values = [v for v in scores.values() if np.isfinite(v)]
    return 1.0 - float(np.mean(values)) if values else float("nan")


def roc_auc(clean: object, flagged: object) -> float:
    """P(a flagged window scores above a clean one), ties counted half; NaN without both kinds."""
    c, f = np.asarray(clean, dtype=float), np.asarray(flagged, dtype=float)
    c, f = c[np.isfinite(c)], f[np.isfinite(f)]
    if len(c) == 0 or len(f) == 0:
        return float("nan")
    ranks = rankdata(np.r_[f, c])
    return float((ranks[: len(f)].sum() - len(f) * (len(f) + 1) / 2) / (len(f) * len(c)))


def recall_at(clean: object, flagged: object, false_alarm: float = FALSE_ALARM) -> float:
    """Share of flagged windows scoring above the (1 - false_alarm) quantile of the clean scores."""
    c, f = np.asarray(clean, dtype=float), np.asarray(flagged, dtype=float)
    c, f = c[np.isfinite(c)], f[np.isfinite(f)]
    if len(c) == 0 or len(f) == 0:
        return float("nan")
    return float(np.mean(f > np.quantile(c, 1 - false_alarm)))


def detection_bootstrap(
    clean: object, flagged: object, n_boot: int, seed: int, block: int, level: float = LEVEL
) -> dict[str, float | list[float]]:
    """AUC and recall at `FALSE_ALARM` with their basic intervals; the clean windows (in time order) and the
    flagged ones are resampled separately in circular blocks of `block` consecutive windows."""
    c, f = np.asarray(clean, dtype=float), np.asarray(flagged, dtype=float)
    rng = np.random.default_rng(seed)
    ci, fi = block_indices(len(c), n_boot, rng, block), block_indices(len(f), n_boot, rng, block)
    out: dict[str, float | list[float]] = {}
    for name, stat in (("auc", roc_auc), ("recall", recall_at)):
        estimate = stat(c, f)
        replicates = np.array([stat(c[a], f[b]) for a, b in zip(ci, fi)])
        out[name] = estimate
        out[f"{name}_ci"] = list(basic_interval(estimate, replicates, level))
    return out
