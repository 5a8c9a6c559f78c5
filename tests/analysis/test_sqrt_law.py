"""Square-root-law fits: known exponents recovered with covering intervals, dropped points, per-config fits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import sqrt_law
from analysis.charts import impact as impact_charts
from mars_core.errors import MarsInputError

Q_GRID = np.geomspace(1e-4, 2e-3, 8)


def synthetic(delta: float, Y: float, n: int = 2000, noise: float = 0.3, seed: int = 1) -> tuple[np.ndarray, ...]:
    """Impacts Y sigma (Q/V)^delta times mean-one log-normal noise, on a grid of target volumes."""
    rng = np.random.default_rng(seed)
    q = rng.choice(Q_GRID, n)
    sigma = rng.uniform(5e-4, 2e-3, n)
    impact = Y * sigma * q**delta * np.exp(rng.normal(-(noise**2) / 2, noise, n))
    return impact, sigma, q


@pytest.mark.parametrize("delta", [0.5, 0.7])
@pytest.mark.parametrize("method", ["points", "binned"])
def test_known_exponent_and_scale_are_recovered_with_covering_intervals(delta: float, method: str) -> None:
    impact, sigma, q = synthetic(delta, 0.8)
    fit = (sqrt_law.fit_points if method == "points" else sqrt_law.fit_binned)(impact, sigma, q, n_boot=500)
    assert fit.delta_ci[0] <= delta <= fit.delta_ci[1]
    assert fit.delta == pytest.approx(delta, abs=0.03)
    # log-normal noise with mean one has median exp(-s^2/2): the log-log point fit estimates that median
    y_true = 0.8 * (np.exp(-0.045) if method == "points" else 1.0)
    assert fit.Y_ci[0] <= y_true <= fit.Y_ci[1]
    assert fit.n == (2000 if method == "points" else len(Q_GRID)) and fit.n_dropped == 0


def test_non_positive_impacts_are_dropped_and_counted() -> None:
    rng = np.random.default_rng(2)
    impact, sigma, q = synthetic(0.5, 0.8, noise=0.0)
    noisy = impact + rng.normal(0, 0.6, impact.size) * impact
    fit = sqrt_law.fit_points(noisy, sigma, q, n_boot=200)
    assert fit.n_dropped == int(np.sum(noisy <= 0)) > 0 and fit.n + fit.n_dropped == impact.size
    binned = sqrt_law.fit_binned(noisy, sigma, q, n_boot=200)
    assert binned.n_dropped == 0 and binned.delta_ci[0] <= 0.5 <= binned.delta_ci[1]


def test_binned_fit_drops_groups_whose_mean_impact_is_not_positive() -> None:
    q = np.repeat([1e-4, 4e-4, 9e-4], 2)
    impact = np.array([-1.0, 0.5, 2.0, 2.0, 3.0, 3.0]) * 1e-3
    fit = sqrt_law.fit_binned(impact, np.full(6, 1e-3), q, n_boot=50)
    assert fit.n == 2 and fit.n_dropped == 1
    assert fit.delta == pytest.approx(np.log(1.5) / np.log(9 / 4))


def test_continuous_q_over_v_is_grouped_into_quantile_bins() -> None:
    q = np.random.default_rng(0).uniform(1e-4, 1e-3, 100)
    groups = sqrt_law.q_over_v_groups(q, bins=4)
    assert sorted(np.bincount(groups).tolist()) == [25, 25, 25, 25]
    assert np.all(np.diff(q[np.argsort(q)]) >= 0) and np.all(np.diff(groups[np.argsort(q)]) >= 0)


def test_fits_are_deterministic_for_a_seed_and_predict_the_law() -> None:
    impact, sigma, q = synthetic(0.5, 0.8, n=300)
    a, b = sqrt_law.fit_points(impact, sigma, q, seed=5), sqrt_law.fit_points(impact, sigma, q, seed=5)
    assert a == b
    assert a.predict(2e-3, 4e-4) == pytest.approx(a.Y * 2e-3 * 4e-4**a.delta)
    json.dumps(a.to_dict())


def test_too_few_usable_points_is_a_clear_error() -> None:
    with pytest.raises(MarsInputError, match="at least 2 distinct Q/V"):
        sqrt_law.fit_points([-1.0, 1.0, 2.0], [1.0, 1.0, 1.0], [1e-3, 1e-3, 1e-3])


def _study_frame() -> pd.DataFrame:
    parts = []
    for i, (config, Y) in enumerate([("L1-P0.1", 0.6), ("L5-P0.9", 1.2)]):
        impact, sigma, q = synthetic(0.5, Y, n=400, seed=10 + i)
        parts.append(pd.DataFrame({"config": config, "impact_end": impact, "sigma": sigma, "q_over_v": q}))
    return pd.concat(parts, ignore_index=True)


def test_fit_by_config_fits_each_config_and_the_pool() -> None:
    fits = sqrt_law.fit_by_config(_study_frame(), n_boot=200)
    assert list(fits) == ["L1-P0.1", "L5-P0.9", sqrt_law.POOLED]
    assert pytest.approx(2.0, rel=0.1) == fits["L5-P0.9"].Y / fits["L1-P0.1"].Y
    table = sqrt_law.fits_frame(fits)
    assert table["config"].tolist() == list(fits) and {"delta", "delta_ci", "Y", "r2", "n_dropped"} <= set(
        table.columns
    )
    with pytest.raises(MarsInputError, match="method"):
        sqrt_law.fit_by_config(_study_frame(), method="median")


def test_sqrt_law_figure_has_band_reference_points_and_fits() -> None:
    frame = _study_frame()
    fig = impact_charts.sqrt_law_figure(frame, sqrt_law.fit_by_config(frame, n_boot=50))
    names = [tr.name for tr in fig.data]
    assert names[:2] == ["δ in [0.4, 0.7] (empirical)", "δ = 0.5"]
    assert "L1-P0.1" in names and any(n.startswith("L5-P0.9: δ = ") for n in names)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
