"""Cont's 11 stylized facts (paper App. I) as pure functions over minute bars.

Input: one trajectory's minute bars (a DataFrame shaped like
`mars_core.data.minute_bars` output) or a list of them. Only `minute` (int ns
since midnight), `last_close` and `volume` are required; `vwap` (the minute's
mean trade price, sum(price*qty)/sum(qty)) is used when present. Bars are put
on a regular one-minute grid per trajectory: prices are forward-filled (the
last trade price stands until the next trade), volume is 0 in empty minutes.
Trajectories are pooled, and no return or lagged pair ever spans two of them.

Returns are log returns of the last trade price, as the paper uses from
App. I.3 on; `absence_of_autocorrelations` also reports the mean trade price.
k-minute returns overlap (r_t^(k) = log p_t - log p_{t-k} for every t).

Statistics are pooled over all trajectories (the paper averages per
instrument; pooling is what a set of simulated trajectories of one stock
calls for). Confidence intervals are 95% percentile intervals of a block
bootstrap: each trajectory is cut into blocks of `block_minutes`, blocks are
resampled with replacement (`n_boot` times, seeded), and every statistic is
recomputed from per-block sums, so lags and dependence within a block are
kept. Each fact's `present` is decided by the explicit test in `FACT_TESTS`.

Every fact function takes the bars or a `prepare`d `Trajectories` (which
fixes the blocks; `block_minutes` is then ignored) and keywords `n_boot` and
`seed`, and returns a JSON-serialisable dict with `present` (bool), `n`
(observations behind the test), `test` (its description) and the curve values
with `ci_low`/`ci_high` and per-point counts (`n_by_lag`/`n_by_period`);
non-finite values become None.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from analysis.stylized_facts.base import (
    FACT_NAMES,
    FACT_TESTS,
    FACTS,
    BarsInput,
    Trajectories,
    _as_trajectories,
    mean_trade_price,
    prepare,
)
from analysis.stylized_facts.returns import (
    absence_of_autocorrelations,
    aggregational_gaussianity,
    conditional_heavy_tails,
    gain_loss_asymmetry,
    heavy_tails,
    intermittency,
)
from analysis.stylized_facts.volatility import (
    asymmetry_in_timescales,
    leverage_effect,
    slow_decay_of_absolute_autocorrelation,
    volatility_clustering,
    volume_volatility_correlation,
)

FACT_FUNCTIONS: dict[str, Callable[..., dict]] = {
    "absence_of_autocorrelations": absence_of_autocorrelations,
    "heavy_tails": heavy_tails,
    "gain_loss_asymmetry": gain_loss_asymmetry,
    "aggregational_gaussianity": aggregational_gaussianity,
    "intermittency": intermittency,
    "volatility_clustering": volatility_clustering,
    "conditional_heavy_tails": conditional_heavy_tails,
    "slow_decay_of_absolute_autocorrelation": slow_decay_of_absolute_autocorrelation,
    "leverage_effect": leverage_effect,
    "volume_volatility_correlation": volume_volatility_correlation,
    "asymmetry_in_timescales": asymmetry_in_timescales,
}


def evaluate_facts(bars: BarsInput, *, n_boot: int = 200, seed: int = 0, block_minutes: int = 30) -> dict[str, dict]:
    """All 11 facts (`FACTS` order) on one pool of trajectories, each with its default parameters."""
    tr = _as_trajectories(bars, block_minutes)
    return {name: FACT_FUNCTIONS[name](tr, n_boot=n_boot, seed=seed) for name in FACTS}


def facts_table(results_by_background: dict[str, dict[str, dict]]) -> pd.DataFrame:
    """Presence of each fact per background, like the paper's Table 6.

    Args:
        results_by_background: background name -> `evaluate_facts` output.

    Returns:
        Index `FACTS`; columns "name" (the paper's fact name), one bool column
        per background (None where a background lacks the fact), and "test".
    """
    table = pd.DataFrame(index=pd.Index(FACTS, name="fact"))
    table["name"] = [FACT_NAMES[f] for f in FACTS]
    for background, results in results_by_background.items():
        table[background] = pd.Series(
            [bool(results[f]["present"]) if f in results else None for f in FACTS], index=table.index, dtype=object
        )
    table["test"] = [FACT_TESTS[f] for f in FACTS]
    return table


__all__ = [
    "FACTS",
    "FACT_NAMES",
    "FACT_TESTS",
    "Trajectories",
    "absence_of_autocorrelations",
    "aggregational_gaussianity",
    "asymmetry_in_timescales",
    "conditional_heavy_tails",
    "evaluate_facts",
    "facts_table",
    "gain_loss_asymmetry",
    "heavy_tails",
    "intermittency",
    "leverage_effect",
    "mean_trade_price",
    "prepare",
    "slow_decay_of_absolute_autocorrelation",
    "volatility_clustering",
    "volume_volatility_correlation",
]
