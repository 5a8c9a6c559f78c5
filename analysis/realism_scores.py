"""Scores of a per-minute realism evaluation: similarity with its ceiling and intervals, accuracy, fidelity, facts.

`score` takes the per-minute tables of every side of an evaluation, one list entry per start window:
"real" (the held-out windows), "ceiling" (real windows of another period of the same days) and each simulated
background (its rollouts stacked, with a `rollout` column). It returns the JSON-ready result of `mars realism`
(see `mars_core.experiments.realism`), with NaN where a figure is undefined (`mars_core.store.rundir.finite`
turns them into null when they are written).
The replay is scored as a background too, as a check of the pipeline: similarity 1 and every fidelity ratio 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis import bootstrap, fidelity, similarity
from analysis.similarity import METRICS

REPLAY = "replay"
PAIRS = (("lmm", "noise"),)  # paired differences reported when both backgrounds ran
FACT_STATISTICS = {  # fact -> (what the number is, how to read it from `stylized_facts.evaluate_facts`)
    "absence_of_autocorrelations": ("lag-1 ACF of 1-min returns", ("last", "acf", 0)),
    "heavy_tails": ("excess kurtosis of 1-min returns", ("kurtosis", 0)),
    "gain_loss_asymmetry": ("mean skewness, 1-20 min returns", ("mean_skewness",)),
    "aggregational_gaussianity": ("kurtosis(1 min) - kurtosis(20 min)", ("kurtosis_drop",)),
    "intermittency": ("Fano factor of extreme returns", ("fano_factor",)),
    "volatility_clustering": ("mean |r| ACF, lags 1-10", ("mean_acf",)),
    "conditional_heavy_tails": ("excess kurtosis of normalised 1-min returns", ("kurtosis", 0)),
    "slow_decay_of_absolute_autocorrelation": ("|r| ACF at lag 10", ("acf", -1)),
    "leverage_effect": ("mean corr(r, later |r|), lags 1-10", ("mean_corr",)),
    "volume_volatility_correlation": ("corr(volume, |r|)", ("corr", 0)),
    "asymmetry_in_timescales": ("mean D(k), k = 1-10", ("mean_asymmetry",)),
}
_INTERVAL_KEYS = {  # where a statistic's interval lives, when not beside it as ci_low/ci_high
    "mean_skewness": ("mean_ci_low", "mean_ci_high"),
    "mean_acf": ("mean_ci_low", "mean_ci_high"),
    "mean_corr": ("mean_ci_low", "mean_ci_high"),
    "mean_asymmetry": ("mean_ci_low", "mean_ci_high"),
    "kurtosis_drop": ("drop_ci_low", "drop_ci_high"),
}


def _summary(estimate: float, ci: tuple[float, float], clip: bool = True) -> dict[str, Any]:
    lo, hi = (float(np.clip(v, 0.0, 1.0)) if clip and np.isfinite(v) else v for v in ci)
    return {"mean": estimate, "ci": [lo, hi]}


def score(
    sides: Mapping[str, Sequence[pd.DataFrame]],
    backgrounds: Sequence[str],
    minutes: int,
    start_hours: np.ndarray,
    n_boot: int = bootstrap.RESAMPLES,
    block: int = bootstrap.BLOCK,
    seed: int = 0,
) -> dict[str, Any]:
    """Similarity (rows, mean, 95% basic block-bootstrap interval clipped to [0, 1]), ceiling, paired differences,
    accuracy and fidelity of every background.

    Args:
        sides: "real", "ceiling" and each background -> per start window, its per-minute table (`start`, `minute`,
            the `METRICS` and `FLOW` columns; simulations also `rollout`). Backgrounds have the real's start windows.
        backgrounds: the simulated backgrounds to score ("replay" is always added first, as a check).
        minutes: length of a window.
        start_hours: (S,) start time of each real window, hours since midnight (the trends' x).
        n_boot, block, seed: the bootstrap's resamples, block length (start windows) and seed.
    """
    real_tables, ceiling_tables = list(sides["real"]), list(sides["ceiling"])
    n, m = len(real_tables), len(ceiling_tables)
    for bg in backgrounds:
        if len(sides[bg]) != n:
            raise ValueError(f"background {bg!r}: {len(sides[bg])} start windows, the real side has {n}")
    pools = {name: similarity.pool(sides[name]) for name in ("real", "ceiling", *backgrounds)}
    pools[REPLAY] = pools["real"]
    rng = np.random.default_rng(seed)
    real_idx = bootstrap.block_indices(n, n_boot, rng, block)
    ceiling_idx = bootstrap.block_indices(m, n_boot, rng, block)

    def mean_of(name: str, i: np.ndarray | None, j: np.ndarray | None) -> float:
        return similarity.mean_over_rows(similarity.pooled_similarity(pools["real"], pools[name], i, j))

    ceiling_rows = similarity.pooled_similarity(pools["real"], pools["ceiling"])
    ceiling_mean = similarity.mean_over_rows(ceiling_rows)
    ceiling_reps = np.array([mean_of("ceiling", i, j) for i, j in zip(real_idx, ceiling_idx, strict=True)])
    scored = (REPLAY, *backgrounds)
    rows = {bg: similarity.pooled_similarity(pools["real"], pools[bg]) for bg in scored}
    means = {bg: similarity.mean_over_rows(rows[bg]) for bg in scored}
    reps = {bg: np.array([mean_of(bg, i, i) for i in real_idx]) for bg in scored}

    real = pd.concat(real_tables, ignore_index=True)
    result: dict[str, Any] = {
        "ceiling": {
            **_summary(ceiling_mean, bootstrap.basic_interval(ceiling_mean, ceiling_reps)),
            "rows": ceiling_rows,
            "starts": m,
        },
        "backgrounds": {},
        "paired": {},
        "accuracy_note": similarity.TERTILES_ON_ONE_AFTERNOON,
    }
    for bg in scored:
        sim = real.assign(rollout=0) if bg == REPLAY else pd.concat(sides[bg], ignore_index=True)
        result["backgrounds"][bg] = {
            "similarity": {
                **_summary(means[bg], bootstrap.basic_interval(means[bg], reps[bg])),
                "rows": rows[bg],
                "share_of_ceiling": means[bg] / ceiling_mean if ceiling_mean else float("nan"),
            },
            "fidelity": fidelity.fidelity(real, sim, minutes, start_hours),
            "accuracy": {row: similarity.three_class_accuracy(real, sim, row) for row in METRICS},
        }
    for a, b in PAIRS:
        if a in backgrounds and b in backgrounds:
            diff = means[a] - means[b]
            ci = bootstrap.basic_interval(diff, reps[a] - reps[b])
            result["paired"][f"{a}-{b}"] = {
                **_summary(diff, ci, clip=False),
                "ci_excludes_zero": ci[0] > 0 or ci[1] < 0,
            }
    return result


def _dig(result: dict, path: tuple) -> Any:
    """result[path[0]][path[1]]...; None where a key or position is missing."""
    value: Any = result
    for key in path:
        if isinstance(key, str):
            value = value.get(key) if isinstance(value, dict) else None
        else:
            value = value[key] if isinstance(value, list) and -len(value) <= key < len(value) else None
    return value


def fact_summary(fact: str, result: dict) -> dict[str, Any]:
    """A fact's headline statistic with its 95% interval and the presence verdict of its stated test."""
    what, path = FACT_STATISTICS[fact]
    if isinstance(path[-1], int):  # a point of a curve: its interval is the curve's at the same position
        low = _dig(result, (*path[:-2], "ci_low", path[-1]))
        high = _dig(result, (*path[:-2], "ci_high", path[-1]))
    else:
        low_key, high_key = _INTERVAL_KEYS.get(path[-1], ("ci_low", "ci_high"))
        low, high = result.get(low_key), result.get(high_key)
    return {
        "statistic": what,
        "value": _dig(result, path),
        "ci": [low, high],
        "present": bool(result.get("present")),
        "n": result.get("n"),
    }
