"""Quantitative realism metrics of paper App. J (Table 7): distribution similarity and 3-class accuracy.

For each start point of a study, `window_metrics` reduces the bars (and
optionally the orders) of the window after it to a few numbers. Over all
start points, the replayed (historical) values and the simulated values of a
metric are compared two ways:

* distribution similarity: the overlap coefficient OVL = sum_i min(p_i, q_i)
  of the two histograms on the replayed values' bins (`overlap_coefficient`);
* 3-class accuracy: the replay values' tertiles split every value into low /
  medium / high; accuracy is the share of start points whose simulated class
  equals the replayed class (`three_class_accuracy`). With several rollouts
  per start point the simulated class is their majority vote
  (`three_class_accuracy_from_rollouts`); the paper aggregates 128 rollouts for
  the 1-5 minute returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mars_core.data.schema import NS_PER_MINUTE

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
ORDER_COLUMNS = ("side", "qty", "aggressive", "event")
SUBMIT = 1


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


def tertile_edges(replay_values: object) -> np.ndarray:
    """(2,) the 1/3 and 2/3 quantiles of the finite replay values (the class boundaries)."""
    values = _finite(replay_values)
    if len(values) == 0:
        raise ValueError("no finite replay values to fit tertiles on")
    return np.quantile(values, [1 / 3, 2 / 3])


def classify(values: object, edges: np.ndarray) -> np.ndarray:
    """Class 0 (x <= edges[0]), 1 (x <= edges[1]) or 2 (above) per value; -1 for NaN."""
    x = np.asarray(values, dtype=float)
    return np.where(np.isfinite(x), np.searchsorted(edges, x, side="left"), -1)


def three_class_accuracy(replay_values: object, sim_values: object) -> float:
    """Share of start points where replay and simulated values fall in the same replay tertile (App. J).

    Args:
        replay_values: (S,) one value per start point from the replay.
        sim_values: (S,) the paired simulated values.

    Returns:
        Accuracy over the start points where both values are finite (NaN if none).
    """
    replay, sim = np.asarray(replay_values, dtype=float), np.asarray(sim_values, dtype=float)
    if replay.shape != sim.shape or replay.ndim != 1:
        raise ValueError(f"replay and simulated values must be paired 1-D arrays, shapes {replay.shape} {sim.shape}")
    both = np.isfinite(replay) & np.isfinite(sim)
    if not both.any():
        return float("nan")
    edges = tertile_edges(replay)
    return float(np.mean(classify(replay[both], edges) == classify(sim[both], edges)))


def three_class_accuracy_from_rollouts(
    replay_values: object, rollout_values: object, method: str = "majority"
) -> float:
    """3-class accuracy when each start point has several simulated rollouts (Table 7's returns).

    The predicted class of a start point is, with `method="majority"`, the
    class most rollouts fall in (the most probable class under the rollout
    distribution; ties go to the class of the median rollout, then the lower
    class), or with `method="median"` the class of the rollouts' median.

    Args:
        replay_values: (S,) replay value per start point.
        rollout_values: (S, N) rollout values; NaN marks missing rollouts.
        method: "majority" or "median".

    Returns:
        Accuracy over start points with a finite replay value and at least one finite rollout.
    """
    replay, rollouts = np.asarray(replay_values, dtype=float), np.asarray(rollout_values, dtype=float)
    if rollouts.ndim != 2 or replay.shape != rollouts.shape[:1]:
        raise ValueError(f"expected replay (S,) and rollouts (S, N), got shapes {replay.shape} {rollouts.shape}")
    if method not in ("majority", "median"):
        raise ValueError(f"method must be 'majority' or 'median', was {method!r}")
    keep = np.isfinite(replay) & np.isfinite(rollouts).any(axis=1)
    if not keep.any():
        return float("nan")
    edges = tertile_edges(replay)
    replay, rollouts = replay[keep], rollouts[keep]
    median_class = classify(np.nanmedian(rollouts, axis=1), edges)  # (S,)
    if method == "median":
        predicted = median_class
    else:
        classes = classify(rollouts, edges)  # (S, N), -1 for missing
        votes = (classes[:, :, None] == np.arange(3)).sum(axis=1).astype(float)  # (S, 3)
        votes[np.arange(len(votes)), median_class] += 0.5  # tie-break; argmax then prefers the lower class
        predicted = votes.argmax(axis=1)
    return float(np.mean(predicted == classify(replay, edges)))


def window_metrics(bars: pd.DataFrame, orders: pd.DataFrame | None = None, *, price: str = "mid") -> dict[str, float]:
    """The Table 7 metrics of one window (the minutes after one start point).

    Args:
        bars: the window's minute bars (`mars_core.data.minute_bars` columns;
            uses `minute`, `spread` and `{price}_open`/`{price}_close`).
        orders: the window's orders, or None: columns `side` (1 buy, -1 sell),
            `qty` (shares), `aggressive` (bool, marketable on arrival) and
            `event` (1 submit, 2 partial cancel, 3 delete). Only submissions count.
        price: "mid" (default: defined in every two-sided minute, no bid-ask
            bounce) or "last" (last trade price).

    Returns:
        A dict over `METRICS` (NaN where undefined):
        volatility: std (ddof 1) of the 1-min log returns in the window;
        spread: mean of the minutes' mean spreads (price units);
        mean_order_volume: mean `qty` of submitted orders;
        aggressive_order_ratio: share of submissions that are aggressive;
        buy_order_ratio: buy submissions / all submissions (App. J, Fig. 22);
        return_{k}min: log(price at start + k min / price at start), the start
        price being the first bar's open and later prices minute closes
        (forward-filled); NaN when the window is shorter than k minutes.
    """
    if price not in ("mid", "last"):
        raise ValueError(f"price must be 'mid' or 'last', was {price!r}")
    if bars.empty:
        raise ValueError("window has no bars")
    bars = bars.sort_values("minute")
    minute = bars["minute"].to_numpy(np.int64) // NS_PER_MINUTE
    grid = np.arange(minute[0], minute[-1] + 1)
    closes = pd.Series(bars[f"{price}_close"].to_numpy(float), index=minute).reindex(grid).ffill().to_numpy()
    path = np.log(np.concatenate([[float(bars[f"{price}_open"].iloc[0])], closes]))  # (M + 1,) log prices
    returns = np.diff(path)
    returns = returns[np.isfinite(returns)]
    out = {
        "volatility": float(np.std(returns, ddof=1)) if len(returns) > 1 else float("nan"),
        "spread": float(np.nanmean(bars["spread"].to_numpy(float))) if bars["spread"].notna().any() else float("nan"),
        **{f"return_{k}min": float(path[k] - path[0]) if len(path) > k else float("nan") for k in RETURN_HORIZONS},
    }
    out.update(_order_metrics(orders))
    return {name: out[name] for name in METRICS}


def _order_metrics(orders: pd.DataFrame | None) -> dict[str, float]:
    nan = float("nan")
    if orders is None:
        return {"mean_order_volume": nan, "aggressive_order_ratio": nan, "buy_order_ratio": nan}
    missing = set(ORDER_COLUMNS) - set(orders.columns)
    if missing:
        raise ValueError(f"orders table lacks column(s) {sorted(missing)}; needs {list(ORDER_COLUMNS)}")
    subs = orders[orders["event"].to_numpy() == SUBMIT]
    if subs.empty:
        return {"mean_order_volume": nan, "aggressive_order_ratio": nan, "buy_order_ratio": nan}
    return {
        "mean_order_volume": float(subs["qty"].to_numpy(float).mean()),
        "aggressive_order_ratio": float(subs["aggressive"].to_numpy(bool).mean()),
        "buy_order_ratio": float((subs["side"].to_numpy() == 1).mean()),
    }


def _metric_values(metrics: Sequence[Mapping[str, float]], name: str) -> np.ndarray:
    return np.array([np.nan if m.get(name) is None else float(m[name]) for m in metrics])


def _json_float(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def table7(
    replay_metrics: Sequence[Mapping[str, float]],
    sim_metrics_by_background: Mapping[str, Sequence[Mapping[str, float]] | Sequence[Sequence[Mapping[str, float]]]],
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Distribution similarity and 3-class accuracy per metric and background, like the paper's Table 7.

    Args:
        replay_metrics: `window_metrics` of the replay, one dict per start point.
        sim_metrics_by_background: background name -> per start point (same
            order) either one `window_metrics` dict, or a list of them (rollouts).

    Returns:
        {metric: {background: {"similarity", "accuracy", "n", "n_rollouts"}}} over
        `METRICS`: similarity is the OVL of the replay values and all simulated
        values; accuracy uses `three_class_accuracy` (one dict per start point)
        or `three_class_accuracy_from_rollouts` (lists); n counts start points
        with a finite replay value and a finite simulated value; None where undefined.
    """
    n_starts = len(replay_metrics)
    result: dict[str, dict[str, dict[str, float | int | None]]] = {m: {} for m in METRICS}
    for background, sims in sim_metrics_by_background.items():
        if len(sims) != n_starts:
            raise ValueError(f"background {background!r}: {len(sims)} start points, replay has {n_starts}")
        rollouts = [[s] if isinstance(s, Mapping) else list(s) for s in sims]
        width = max((len(r) for r in rollouts), default=0)
        for metric in METRICS:
            replay = _metric_values(replay_metrics, metric)
            sim = np.full((n_starts, width), np.nan)  # (S, N), NaN-padded
            for i, runs in enumerate(rollouts):
                sim[i, : len(runs)] = _metric_values(runs, metric)
            n = int(np.sum(np.isfinite(replay) & np.isfinite(sim).any(axis=1)))
            single = all(isinstance(s, Mapping) for s in sims)
            accuracy = (
                float("nan")
                if n == 0
                else three_class_accuracy(replay, sim[:, 0])
                if single
                else three_class_accuracy_from_rollouts(replay, sim)
            )
            result[metric][background] = {
                "similarity": _json_float(overlap_coefficient(replay, sim)),
                "accuracy": _json_float(accuracy),
                "n": n,
                "n_rollouts": width,
            }
    return result


def path_correlation(sim: np.ndarray, target: np.ndarray) -> float:
    """Pearson correlation of two paths (H,); 0 when either does not move."""
    sim, target = np.asarray(sim, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if sim.std() == 0 or target.std() == 0:
        return 0.0
    return float(np.corrcoef(sim, target)[0, 1])
